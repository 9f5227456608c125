"""Which photos' text (read by OCR at index time) holds the words of a query.

Only photos with text are loaded (one compacted string each), and again only when the
number of read photos has changed, so a searcher made while indexing still reads along.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..ocr.words import compact, contains_all


class PhotoTexts:
    """Each photo's compacted text, by image id, loaded from the library on demand."""

    def __init__(self, store) -> None:
        self.store = store
        self._stamp: tuple[int, float] | None = None
        self._ids = np.zeros(0, np.int64)
        self._texts: list[str] = []

    def _refresh(self) -> None:
        with self.store.raw() as db:
            stamp = tuple(db.execute("SELECT count(*), COALESCE(MAX(read_at), 0) FROM photo_text WHERE has_text").fetchone())
            if stamp == self._stamp:
                return
            rows = db.execute(
                "SELECT i.id, p.text FROM images i JOIN photo_text p ON p.content_hash = i.content_hash AND p.has_text WHERE i.status = 'ok' ORDER BY i.id"
            ).fetchall()
        seen: dict[int, str] = {}
        for image_id, text in rows:  # a content read by two engines: both texts count
            seen[image_id] = seen.get(image_id, "") + " " + compact(text)
        self._ids = np.fromiter(seen.keys(), dtype=np.int64, count=len(seen))
        self._texts = list(seen.values())
        self._stamp = stamp

    def __len__(self) -> int:
        self._refresh()
        return len(self._texts)

    def matching(self, words: Sequence[str]) -> np.ndarray:
        """Sorted ids of photos whose text holds every one of `words` (already compacted)."""
        words = [w for w in words if w]
        if not words:
            return np.zeros(0, np.int64)
        self._refresh()
        hits = [i for i, text in enumerate(self._texts) if contains_all(words, text)]
        return self._ids[hits] if hits else np.zeros(0, np.int64)

    def matching_phrase(self, phrase: str) -> np.ndarray:
        """Sorted ids of photos whose text holds the phrase (spaces and punctuation ignored)."""
        return self.matching([compact(phrase)])
