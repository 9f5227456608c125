"""The active model's codes, loaded fast: a validated on-disk copy instead of a million BLOBs.

Decoding a million code BLOBs through SQLite costs seconds; three ``.npy`` arrays
(photo ids, folder ids, packed codes) load in milliseconds.  The copy is derived data and
is only ever used when it provably matches the database:

* **A write counter kept by the database itself.**  Triggers on ``codes`` (insert,
  update, delete) and on ``images`` (a change of status, folder or id, a delete) bump
  ``code_cache_state.generation`` in the same transaction as the write, whoever makes it
  (this process, another one, an older BitLens).  Schema step 4 creates them
  (engine/library/migrations.py); opening a library re-creates any found missing and bumps
  the counter, so a copy made before can never match again, and while one is missing no
  copy is trusted.
* **A key**: the database's random token (a copy never serves another library), the
  model id and code length, the counter, and the row count and largest photo id of the
  model's codes.  A mismatch in any of them rebuilds the copy from the database.

The generation and the rows are read in one read transaction, so a copy is never
labelled with a counter newer or older than its contents.  Files are written to a
temporary name and renamed into place: a crash leaves the old copy or the new one.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from ..library.migrations import code_counter_intact

# Bump when the file layout changes: older files are then simply rebuilt.
FORMAT = 2
MAGIC = "bitlens-code-cache"


@dataclass
class LoadedCodes:
    """The rows a searcher ranks: photo ids ascending, their folders, their packed codes."""

    ids: np.ndarray  # (N,) int64, ascending
    folder_ids: np.ndarray  # (N,) int32 (half the RAM of int64; folder ids are small)
    codes: np.ndarray  # (N, W) uint64
    from_cache: bool


def cache_file(cache_dir: Path, token: str, model_id: int) -> Path:
    return Path(cache_dir) / f"codes-{token[:12]}-m{model_id}.npy"


def _key(db: sqlite3.Connection, model_id: int, bits: int) -> dict:
    generation, token = db.execute("SELECT generation, token FROM code_cache_state WHERE id = 1").fetchone()
    count, max_id = db.execute("SELECT count(*), coalesce(max(image_id), 0) FROM codes WHERE model_id = ?", (model_id,)).fetchone()
    return {
        "magic": MAGIC,
        "format": FORMAT,
        "token": token,
        "model_id": model_id,
        "bits": bits,
        "generation": generation,
        "code_rows": count,
        "max_image_id": max_id,
    }


def _read_cache(path: Path, key: dict, words: int) -> Optional[LoadedCodes]:
    """The cached arrays if the file exists, is whole and carries exactly this key."""
    try:
        with open(path, "rb") as handle:
            header = np.load(handle, allow_pickle=False)
            if json.loads(bytes(header).decode("utf-8")) != key:
                return None
            ids = np.load(handle, allow_pickle=False)
            folder_ids = np.load(handle, allow_pickle=False)
            codes = np.load(handle, allow_pickle=False)
    except (OSError, ValueError, EOFError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    n = ids.shape[0]
    if ids.dtype != np.int64 or folder_ids.dtype != np.int32 or folder_ids.shape != (n,) or codes.shape != (n, words) or codes.dtype != np.uint64:
        return None
    return LoadedCodes(ids, folder_ids, codes, from_cache=True)


def _write_cache(path: Path, key: dict, loaded: LoadedCodes) -> None:
    """Write the copy atomically and remove this library's copies for other models."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".codes-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.save(handle, np.frombuffer(json.dumps(key).encode("utf-8"), dtype=np.uint8))
            np.save(handle, loaded.ids)
            np.save(handle, loaded.folder_ids)
            np.save(handle, loaded.codes)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    for old in path.parent.glob(f"codes-{key['token'][:12]}-m*.npy"):
        if old != path:
            old.unlink(missing_ok=True)


def _read_database(db: sqlite3.Connection, model_id: int, words: int) -> LoadedCodes:
    """Decode the model's codes of photos that are present, in ascending photo id."""
    rows = db.execute(
        "SELECT c.image_id, i.folder_id, c.code FROM codes c JOIN images i ON i.id = c.image_id WHERE c.model_id = ? AND i.status = 'ok' ORDER BY c.image_id",
        (model_id,),
    ).fetchall()
    n = len(rows)
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=n)
    folder_ids = np.fromiter((r[1] for r in rows), dtype=np.int32, count=n)
    width = words * 8
    raw = b"".join(r[2].ljust(width, b"\0") for r in rows)
    codes = np.frombuffer(raw, dtype="<u8").reshape(n, words).astype(np.uint64) if n else np.zeros((0, words), np.uint64)
    return LoadedCodes(ids, folder_ids, codes, from_cache=False)


def load_codes(db: sqlite3.Connection, cache_dir: Optional[Path], model_id: int, bits: int) -> LoadedCodes:
    """The model's codes: from a copy on disk when it matches the database, else decoded (and saved)."""
    words = (bits + 63) // 64
    if not code_counter_intact(db):
        # Triggers dropped since the library was opened (reopening restores them): writes may
        # have gone uncounted, so no copy can be trusted; decode.
        return _read_database(db, model_id, words)
    db.execute("BEGIN")  # one snapshot: the key and the rows agree
    try:
        key = _key(db, model_id, bits)
        path = cache_file(cache_dir, key["token"], model_id) if cache_dir is not None else None
        loaded = _read_cache(path, key, words) if path is not None else None
        if loaded is None:
            loaded = _read_database(db, model_id, words)
    finally:
        db.execute("COMMIT")
    if path is not None and not loaded.from_cache:
        try:
            _write_cache(path, key, loaded)
        except OSError:
            pass  # a read-only or full cache folder only costs speed next time
    return loaded
