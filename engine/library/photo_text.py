"""The index-time OCR pass: read the text in every photo that has not been read yet, store it, tag with it.

Results are kept per photo content (like embeddings), so a rename, move or copy is never
read again, and an interrupted pass resumes where it stopped: each batch commits its
rows. A photo with no text gets a row too (has_text = 0), so it is not looked at again.
Boxes are stored as fractions of the upright photo's width and height, whatever size
the reader decoded it at. Words of the text become weak tags with source "ocr".
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Optional

from sqlalchemy.orm import Session

from ..jobs import CancelToken, Reporter
from .report import ScanReport
from .store import Store, session_sqlite

if TYPE_CHECKING:
    from ..ocr.reader import PhotoReader
    from .scanner import TagCache

BATCH = 16
STAGE = "ocr"


def engine_available() -> bool:
    from ..ocr import available

    return available()


def _todo(store: Store, engine: str) -> list[tuple[str, str]]:
    """(content hash, one path) of ok photos whose content has no result from this engine."""
    with store.raw() as db:
        return db.execute(
            "SELECT content_hash, MIN(path) FROM images WHERE status = 'ok' AND content_hash IS NOT NULL "
            "AND content_hash NOT IN (SELECT content_hash FROM photo_text WHERE engine = ?) GROUP BY content_hash ORDER BY MIN(id)",
            (engine,),
        ).fetchall()


class _Readers:
    """One PhotoReader per worker thread (a reader keeps per-call state)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def get(self) -> PhotoReader:
        reader = getattr(self._local, "reader", None)
        if reader is None:
            from ..ocr.reader import PhotoReader

            reader = self._local.reader = PhotoReader(threads=1)
        return reader


def read_one(readers: "_Readers", path: str) -> tuple[Optional[list[dict]], Optional[str]]:
    """The lines read in one photo (boxes as fractions), None where a gate saw no text; or an error."""
    from ..pixels.decode import DecodeError, load_rgb
    from ..ocr.reader import GATE_SIDE, READ_SIDE, may_hold_text

    try:
        image = load_rgb(path, GATE_SIDE)  # JPEGs decode straight at about this size (DCT scaling)
        if not may_hold_text(image):  # most photos stop here, before any model is even loaded
            return None, None
        reader = readers.get()
        if not reader.detects_text(image):
            return None, None
        if max(image.size) < READ_SIDE:
            full = load_rgb(path, READ_SIDE)
            image = full if max(full.size) > max(image.size) else image
        width, height = image.size
        lines = reader.read(image)
    except DecodeError as error:
        return None, str(error)
    except Exception as error:  # one bad photo must never stop the pass
        return None, f"cannot read text: {type(error).__name__}: {error}"
    return [
        {"text": line.text, "box": [[round(x / width, 4), round(y / height, 4)] for x, y in line.box], "confidence": round(line.confidence, 3)}
        for line in lines
    ], None


def _store(store: Store, engine: str, results: list[tuple[str, Optional[list[dict]]]]) -> None:
    """Write one batch of results and the "ocr" tags of every photo with that content, in one transaction."""
    from ..ocr.words import tag_words
    from .scanner import TagCache

    now = time.time()
    with store.session() as session:
        db = session_sqlite(session)
        tags = TagCache()
        for digest, lines in results:
            text = "\n".join(line["text"] for line in lines or ())
            words = tag_words(text)
            db.execute(
                "INSERT OR REPLACE INTO photo_text (content_hash, engine, has_text, text, lines, tags, read_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (digest, engine, int(bool(text)), text, json.dumps(lines or [], ensure_ascii=False), " ".join(words), now),
            )
            if words:
                image_ids = [i for (i,) in db.execute("SELECT id FROM images WHERE content_hash = ?", (digest,))]
                _tag(db, tags, session, image_ids, words)


def _tag(db: sqlite3.Connection, tags: TagCache, session: Session, image_ids: list[int], words: list[str]) -> None:
    rows = [(image_id, tags.id_for(session, word)) for image_id in image_ids for word in words]
    db.executemany("INSERT OR IGNORE INTO image_tags (image_id, tag_id, source) VALUES (?, ?, 'ocr')", rows)


def sync_tags(store: Store, engine: str) -> None:
    """Give "ocr" tags to photos whose content was read but that lack them (copies, or a rescan rewrote their tags)."""
    from .scanner import TagCache

    with store.session() as session:
        db = session_sqlite(session)
        rows = db.execute(
            "SELECT i.id, p.tags FROM images i JOIN photo_text p ON p.content_hash = i.content_hash AND p.engine = ? "
            "WHERE i.status = 'ok' AND p.tags != '' AND NOT EXISTS (SELECT 1 FROM image_tags it WHERE it.image_id = i.id AND it.source = 'ocr')",
            (engine,),
        ).fetchall()
        tags = TagCache()
        for image_id, words in rows:
            _tag(db, tags, session, [image_id], words.split())


def read_photo_text(
    store: Store, report: ScanReport, progress: Reporter, cancel: Optional[CancelToken] = None, workers: Optional[int] = None, required: bool = False
) -> None:
    """Read the text of every photo not read yet (the gate first), on a worker pool, batch by batch.

    Without the OCR engine installed this does nothing, and says so only when asked for
    OCR explicitly (`required`).
    """
    if not engine_available():
        if required:
            report.notes.append("text in photos was not read: the OCR engine is not installed (pip install 'bitlens[ocr]')")
        return
    from ..models.encoder import default_workers
    from ..ocr.reader import ENGINE_KEY

    todo = _todo(store, ENGINE_KEY)
    if todo:
        readers = _Readers()
        done = found = 0
        progress(STAGE, 0, len(todo), "reading text in photos", force=True)
        with ThreadPoolExecutor(workers or min(4, default_workers()), thread_name_prefix="bitlens-ocr") as pool:
            for start in range(0, len(todo), BATCH):
                if cancel is not None:
                    cancel.raise_if_cancelled()
                chunk = todo[start : start + BATCH]
                outcomes = list(pool.map(lambda item: read_one(readers, item[1]), chunk))
                results = []
                for (digest, path), (lines, error) in zip(chunk, outcomes):
                    if error is not None:
                        report.problem(path, error)  # left unread: the next index run tries again
                        continue
                    results.append((digest, lines))
                    found += bool(lines)
                _store(store, ENGINE_KEY, results)
                done += len(chunk)
                progress(STAGE, done, len(todo), f"reading text in photos ({found} with text)")
        report.notes.append(f"read text in {found} of {len(todo)} photos looked at")
    sync_tags(store, ENGINE_KEY)
