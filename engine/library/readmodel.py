"""Named read queries over the library database: the SQL the facade's listings and lookups run.

Each function takes an open ``sqlite3.Connection`` (``Store.raw()``, or the one under an
ORM session) and returns plain Python values, so callers above the library never write
SQL themselves. The writers of each table (scanner, indexing, feature cache, code cache)
keep their own statements beside the code that owns those rows.
"""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Optional, Sequence

import numpy as np

from ..codes.bits import EMBED_DTYPE

from .pathtext import to_db


def photos_below(db: sqlite3.Connection, folder: Optional[str] = None) -> list[tuple[int, str]]:
    """(id, path) of the readable photos in the library, or below one folder at any depth, in the order indexed."""
    if not folder:
        return db.execute("SELECT id, path FROM images WHERE status = 'ok' ORDER BY id").fetchall()
    prefix = to_db(folder.rstrip(os.sep) + os.sep)  # names that are not UTF-8 are stored escaped
    return db.execute("SELECT id, path FROM images WHERE status = 'ok' AND substr(path, 1, ?) = ? ORDER BY id", (len(prefix), prefix)).fetchall()


def photo_directories(db: sqlite3.Connection) -> list[tuple[str, str, int]]:
    """(library folder, directory ending in a separator, readable photos directly in it), grouped in SQLite."""
    # rtrim(path, name) leaves "…/dir/": the directory of each photo
    return db.execute(
        "SELECT f.path, rtrim(i.path, replace(i.path, ?, '')), count(*) FROM images i JOIN folders f ON f.id = i.folder_id WHERE i.status = 'ok' GROUP BY f.path, 2",
        (os.sep,),
    ).fetchall()


def photo_text(db: sqlite3.Connection, content_hash: Optional[str]) -> list[dict]:
    """The lines of text last read in a photo's pixels (boxes as fractions of its size); [] if none or not read."""
    if not content_hash:
        return []
    row = db.execute("SELECT lines FROM photo_text WHERE content_hash = ? AND has_text ORDER BY read_at DESC LIMIT 1", (content_hash,)).fetchone()
    return json.loads(row[0]) if row else []


def embedding_size(db: sqlite3.Connection, backbone_key: str) -> int:
    """Dimensions of the stored embeddings of a backbone (0 before any photo is encoded)."""
    row = db.execute("SELECT length(vector) FROM embeddings WHERE backbone_key = ? LIMIT 1", (backbone_key,)).fetchone()
    return int(row[0]) // 2 if row else 0  # float16: two bytes a dimension (engine.codes.bits.EMBED_DTYPE)


def photo_embeddings(db: sqlite3.Connection, backbone_key: str, ids: Sequence[int]) -> np.ndarray:
    """The stored embeddings (float32, len(ids) × D) of these readable photos, in the order given; KeyError if one has none."""
    vectors = dict(
        db.execute(
            "SELECT i.id, e.vector FROM images i JOIN embeddings e ON e.content_hash = i.content_hash AND e.backbone_key = ? WHERE i.status = 'ok'",
            (backbone_key,),
        ).fetchall()
    )
    return np.stack([np.frombuffer(vectors[int(i)], dtype=EMBED_DTYPE) for i in ids]).astype(np.float32)


def codes_version(db: sqlite3.Connection) -> tuple[int, Optional[int]]:
    """The codes' write counter (kept by triggers, schema step 4) and the active model's id.

    Any change of what a search ranks (codes written or deleted, photos gone, another model
    made active) changes this pair, so a searcher built before it can be rebuilt.
    """
    generation = db.execute("SELECT generation FROM code_cache_state WHERE id = 1").fetchone()
    active = db.execute("SELECT id FROM models WHERE active").fetchone()
    return (int(generation[0]) if generation else 0, int(active[0]) if active else None)
