"""Open vocabulary: text queries that are no tag still reach the right photos after training.

A trained model's text branch speaks the library's tag vocabulary. A word that is no tag
("kangaroo" in a library whose folder says "mammals") lands on whatever tag it resembles
in CLIP's text space, which with folder names for tags is often the wrong one. CLIP
itself still knows which photos show a kangaroo. So a query word is coded in two steps,
both Hamming look-ups:

1. **Tag forms.** A query that is a tag up to case, a leading article and grammatical
   number ("car", "a car" for the folder tag "cars") is coded as that tag.
2. **Zero-shot neighbours.** Otherwise the photos CLIP finds for the words are looked up
   in the model's zero-shot companion codes (an ITQ projection of the same embeddings,
   kept beside the trained codes: `indexing.ensure_companion`), ranked by the query's
   real-valued projection against their bits (asymmetric distance, which finds CLIP's
   neighbours about as well as float cosine on scenes-s0). The query's trained code is
   the bitwise majority of those photos' trained codes, its own text-branch code
   breaking ties: the query now speaks the language of the library's codes, the way a
   photo query from outside is expanded (`expansion.py`). Where the query is close to a
   tag in CLIP's text space (cosine ≥ `NEAR_TAG_COSINE` with the nearest tag's prompt),
   the text branch knows what it means and its own code counts as `NEAR_TAG_WEIGHT`
   neighbours; far from every tag, the neighbours decide.

Search still ranks the library by Hamming distance to one trained code.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Iterable, Optional

import numpy as np

from .expansion import vote_values
from ..codes.bits import unpack_bits

if TYPE_CHECKING:
    import inflect

    from ..codes.coders import CodeModel

DEFAULT_NEIGHBOURS = 10  # chosen on scenes-s0 among 5, 10, 20 and 50 (docs/hashing.md)
NEAR_TAG_COSINE = 0.9  # chosen on scenes-s0 among 0.8, 0.85, 0.9 and 0.95 (stand-in CLIP)
NEAR_TAG_WEIGHT = 4  # chosen on scenes-s0 among 0, 2 and 4
_ARTICLES = ("a ", "an ", "the ", "some ")


@functools.lru_cache(maxsize=1)
def _inflector() -> inflect.engine:
    import inflect

    return inflect.engine()


@functools.lru_cache(maxsize=4096)
def number_forms(word: str) -> tuple[str, ...]:
    """The word and its other grammatical number ("car" → car, cars; "leaves" → leaves, leaf)."""
    engine = _inflector()
    forms = [word]
    try:
        singular = engine.singular_noun(word)
        other = singular if singular else engine.plural_noun(word)
    except Exception:  # inflect rejects some inputs (empty, odd characters): keep the word as it is
        other = None
    if other and other != word:
        forms.append(other)
    return tuple(forms)


def vocabulary_form(text: str, vocabulary: Iterable[str]) -> Optional[str]:
    """The tag a query names up to case, a leading article and grammatical number, else None."""
    tags = vocabulary if isinstance(vocabulary, (set, frozenset, dict)) else set(vocabulary)
    word = " ".join(text.casefold().split())
    for article in _ARTICLES:
        if word.startswith(article) and len(word) > len(article):
            word = word[len(article) :]
            break
    if not word:
        return None
    for form in number_forms(word):
        if form in tags:
            return form
    return None


@functools.lru_cache(maxsize=8)
def _byte_patterns(words: int, bits: int) -> np.ndarray:
    """(bytes, 256, bits) {0,1}: the code bits that value v of byte b stands for."""
    n_bytes = words * 8
    patterns = np.zeros((n_bytes, 256, bits), dtype=np.float32)
    values = np.arange(256, dtype=np.uint8)
    for b in range(n_bytes):
        raw = np.zeros((256, n_bytes), dtype=np.uint8)
        raw[:, b] = values
        patterns[b] = unpack_bits(raw.view(np.uint64).reshape(256, words), bits)
    return patterns


def asymmetric_scores(packed: np.ndarray, bits: int, values: np.ndarray) -> np.ndarray:
    """Σ_j values[j] · (2·bit_j − 1) for every packed code (N, W): higher is closer.

    Computed with one 256-entry table per code byte, so a million 64-bit codes cost eight
    table look-ups each, not an unpacked float matrix.
    """
    packed = np.ascontiguousarray(packed, dtype=np.uint64)
    words = packed.shape[1]
    values = np.asarray(values, dtype=np.float32)
    tables = _byte_patterns(words, bits) @ values  # (bytes, 256): Σ values over the set bits
    as_bytes = packed.view(np.uint8).reshape(len(packed), words * 8)
    scores = np.zeros(len(packed), dtype=np.float32)
    for b in range(as_bytes.shape[1]):
        scores += tables[b][as_bytes[:, b]]
    return 2 * scores - float(values.sum())


def nearest_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Rows of the k highest scores, best first (ties by row)."""
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    top = np.argpartition(-scores, k - 1)[:k]
    return top[np.lexsort((top, -scores[top]))]


def mixed_values(own_values: np.ndarray, text_embedding: np.ndarray, neighbour_bits: np.ndarray, vocabulary_embeddings: Optional[np.ndarray]) -> np.ndarray:
    """A text's real-valued code from its text-branch output and its zero-shot neighbours' codes.

    `vocabulary_embeddings`: the tags' prompt embeddings (unit rows), to tell how close
    the text is to the nearest tag.
    """
    near = False
    if vocabulary_embeddings is not None and len(vocabulary_embeddings):
        near = float(np.max(np.asarray(vocabulary_embeddings, np.float32) @ np.asarray(text_embedding, np.float32))) >= NEAR_TAG_COSINE
    return vote_values(np.asarray(own_values) > 0, neighbour_bits, NEAR_TAG_WEIGHT if near else 0.0)


class ZeroShotNeighbours:
    """The library's zero-shot companion codes, row-aligned with the trained codes being searched."""

    def __init__(
        self, projection: CodeModel, companion_ids: np.ndarray, companion_codes: np.ndarray, trained_ids: np.ndarray, k: int = DEFAULT_NEIGHBOURS
    ) -> None:
        self.projection = projection  # the companion ITQ codes: project_texts gives the real-valued query
        self.bits = projection.bits
        self.k = k
        # rows of the trained index that have a companion code, and those codes in the same order
        position = np.searchsorted(companion_ids, trained_ids)
        position = np.minimum(position, max(len(companion_ids) - 1, 0))
        found = (len(companion_ids) > 0) & (companion_ids[position] == trained_ids) if len(companion_ids) else np.zeros(len(trained_ids), bool)
        self.rows = np.flatnonzero(found)
        self.codes = np.ascontiguousarray(companion_codes[position[found]])

    def __len__(self) -> int:
        return len(self.rows)

    def rows_for(self, text_embedding: np.ndarray) -> np.ndarray:
        """Rows (of the trained index) of the photos CLIP finds nearest to a text embedding.

        The whole library is looked at, whatever folder or filter the search has: the
        neighbours only teach the query what its words mean in the library's codes.
        """
        values = np.asarray(self.projection.project_texts(np.asarray(text_embedding, np.float32)[None, :])[0])
        return self.rows[nearest_rows(asymmetric_scores(self.codes, self.bits, values), self.k)]
