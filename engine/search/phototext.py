"""Which photos' text (read by OCR at index time) holds the words of a query.

Only photos with text are loaded (one compacted string each), and again only when the
number of read photos has changed, so a searcher made while indexing still reads along.
The texts are also kept as one string with a separator between photos, so the first word
is found by `str.find` in C (milliseconds for 100,000 photos with text) and only the
photos holding it are checked for the other words.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from ..ocr.words import compact, contains_all

if TYPE_CHECKING:
    from ..library.store import Store

SEPARATOR = "\x00"  # never in a compacted text (letters and digits only), so a word cannot span two photos


class PhotoTexts:
    """Each photo's compacted text, by image id, loaded from the library on demand."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._stamp: tuple[int, float] | None = None
        self._ids = np.zeros(0, np.int64)
        self._texts: list[str] = []
        self._blob = ""
        self._starts = np.zeros(0, np.int64)

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
        self._blob = SEPARATOR.join(self._texts)
        lengths = np.fromiter((len(t) + len(SEPARATOR) for t in self._texts), dtype=np.int64, count=len(self._texts))
        self._starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64) if len(lengths) else lengths
        self._stamp = stamp

    def _holding(self, word: str) -> np.ndarray:
        """Positions (into _texts) of the photos whose text holds `word`, ascending."""
        found, at = [], self._blob.find(word)
        while at >= 0:
            found.append(at)
            at = self._blob.find(word, at + 1)
        if not found:
            return np.zeros(0, np.int64)
        return np.unique(np.searchsorted(self._starts, np.asarray(found, dtype=np.int64), side="right") - 1)

    def __len__(self) -> int:
        self._refresh()
        return len(self._texts)

    def matching(self, words: Sequence[str]) -> np.ndarray:
        """Sorted ids of photos whose text holds every one of `words` (already compacted)."""
        words = [w for w in words if w]
        if not words:
            return np.zeros(0, np.int64)
        self._refresh()
        first = max(words, key=len)  # the longest word has the fewest photos to check further
        hits = [i for i in self._holding(first) if contains_all(words, self._texts[i])]
        return self._ids[hits] if hits else np.zeros(0, np.int64)

    def matching_phrase(self, phrase: str) -> np.ndarray:
        """Sorted ids of photos whose text holds the phrase (spaces and punctuation ignored)."""
        return self.matching([compact(phrase)])
