"""Perceptual fingerprints of the photos' pixels, for finding near-duplicates.

A fingerprint is the 64-bit pHash (imagehash: DCT of a 32×32 greyscale, 8×8 low
frequencies against their median) of the whole upright picture and of a few slightly
cropped views of it: 3 % and 6 % off every side, 6 % off one side, 6 % off two adjacent
sides. Comparing one photo's whole-picture hash with every view of the other aligns a
cropped copy with its original, which a single pHash misses (on the 128-px scenes photos
a 4-px crop moved up to 18 bits; aligned, none moved more than 0).

Fingerprints are keyed by file content, like embeddings, so copies and renames share one
and no backbone is needed: duplicates are found by pixels even with an untrained model.
"""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from typing import Iterable, Optional

import numpy as np
from PIL import Image

from ..jobs import CancelToken, Reporter
from .report import ScanReport
from .store import Store

# Stored beside each value: a later, different fingerprint is computed anew, never compared with this one.
KIND = "phash-aligned-1"
HASH_BITS = 64
# (left, top, right, bottom) fractions cut off; the first view is the whole picture.
VIEWS: tuple[tuple[float, float, float, float], ...] = (
    (0, 0, 0, 0),
    (0.03, 0.03, 0.03, 0.03),
    (0.06, 0.06, 0.06, 0.06),
    (0.06, 0, 0, 0),
    (0, 0.06, 0, 0),
    (0, 0, 0.06, 0),
    (0, 0, 0, 0.06),
    (0.06, 0.06, 0, 0),
    (0, 0.06, 0.06, 0),
    (0, 0, 0.06, 0.06),
    (0.06, 0, 0, 0.06),
)
# Views are cut from a copy this size: plenty for a 32-px hash, and cheap to crop.
_WORK_SIDE = 256
_SQL_CHUNK = 900


def fingerprint(image: Image.Image) -> bytes:
    """The fingerprint of an upright picture: one little-endian uint64 pHash per view."""
    import imagehash

    work = image.convert("L")
    if max(work.size) > _WORK_SIDE:
        work.thumbnail((_WORK_SIDE, _WORK_SIDE), Image.Resampling.BILINEAR)
    width, height = work.size
    values = []
    for left, top, right, bottom in VIEWS:
        box = (round(width * left), round(height * top), width - round(width * right), height - round(height * bottom))
        bits = imagehash.phash(work.crop(box) if box != (0, 0, width, height) else work).hash.flatten()
        values.append(int(np.packbits(bits.astype(np.uint8), bitorder="little").view("<u8")[0]))
    return np.asarray(values, dtype="<u8").tobytes()


def as_array(value: bytes) -> np.ndarray:
    """A stored fingerprint as uint64 views (whole picture first)."""
    return np.frombuffer(value, dtype="<u8").astype(np.uint64)


def store_fingerprints(db: sqlite3.Connection, rows: Iterable[tuple[str, bytes]]) -> None:
    """Save (content hash, fingerprint) pairs on a raw connection; existing ones are kept."""
    db.executemany("INSERT OR IGNORE INTO fingerprints (content_hash, kind, value) VALUES (?, ?, ?)", [(h, KIND, v) for h, v in rows])


def load_fingerprints(store: Store, hashes: Iterable[str]) -> dict[str, np.ndarray]:
    """The fingerprints of these contents that exist (of the current kind)."""
    wanted = sorted(set(hashes))
    found: dict[str, np.ndarray] = {}
    with store.raw() as db:
        for start in range(0, len(wanted), _SQL_CHUNK):
            chunk = wanted[start : start + _SQL_CHUNK]
            sql = f"SELECT content_hash, value FROM fingerprints WHERE kind = ? AND content_hash IN ({','.join('?' * len(chunk))})"
            for digest, value in db.execute(sql, [KIND, *chunk]):
                found[digest] = as_array(value)
    return found


def _compute(path: str) -> bytes:
    from ..pixels.decode import load_rgb

    return fingerprint(load_rgb(path, _WORK_SIDE))


def fingerprint_missing(store: Store, report: ScanReport, progress: Reporter, cancel: Optional[CancelToken] = None, workers: int = 4) -> int:
    """Give every ok photo's content a fingerprint if it has none yet; returns how many were made.

    The encoder makes them while it decodes new photos; this pass catches the rest (a
    library indexed before fingerprints existed, or photos whose embedding was cached).
    A photo that cannot be decoded is left without one (the encoder reports it).
    """
    with store.raw() as db:
        todo = db.execute(
            "SELECT content_hash, min(path) FROM images WHERE status = 'ok' AND content_hash IS NOT NULL AND content_hash NOT IN "
            "(SELECT content_hash FROM fingerprints WHERE kind = ?) GROUP BY content_hash ORDER BY min(id)",
            (KIND,),
        ).fetchall()
    if not todo:
        return 0
    made = 0
    progress("fingerprint", 0, len(todo), "fingerprinting photos", force=True)

    def one(item: tuple[str, str]) -> Optional[tuple[str, bytes]]:
        try:
            return item[0], _compute(item[1])
        except Exception:  # noqa: BLE001 - an unreadable file only lacks a fingerprint
            return None

    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="bitlens-fingerprint") as pool:
        for start in range(0, len(todo), 256):
            if cancel is not None:
                cancel.raise_if_cancelled()
            rows = [r for r in pool.map(one, todo[start : start + 256]) if r is not None]
            with store.raw() as db:
                db.execute("BEGIN IMMEDIATE")
                store_fingerprints(db, rows)
                db.execute("COMMIT")
            made += len(rows)
            progress("fingerprint", min(start + 256, len(todo)), len(todo), "fingerprinting photos")
    return made
