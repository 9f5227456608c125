"""Query expansion for photo queries coded from pixels alone (pseudo-relevance feedback).

A photo dragged in from outside the library has only its pixels; library photos that
carry tags are coded by the fused branch, so their codes also hold what their tags say.
The expanded query is the bitwise majority vote of the query's `k` nearest library
codes (and the query itself as a tie-breaker): one more Hamming scan, after which the
query speaks the same language as the tagged codes it is compared with. Average query
expansion is a long-standing image-retrieval technique (Chum et al., ICCV 2007).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .hamming import HammingIndex
from ..codes.bits import pack_bits, unpack_bits

if TYPE_CHECKING:
    from .mih import MultiIndexHamming

DEFAULT_EXPANSION = 20


def vote_values(own_bits: np.ndarray, neighbour_bits: np.ndarray, own_weight: float = 0.0) -> np.ndarray:
    """Real values whose signs are the bitwise majority of the neighbours' {0,1} codes and of the
    query's own bits counted `own_weight` times; where they tie, the query's bit wins."""
    neighbours = 2 * np.asarray(neighbour_bits, dtype=np.float64).reshape(-1, len(own_bits)) - 1
    return neighbours.sum(axis=0) + (own_weight + 0.5) * (2 * np.asarray(own_bits, dtype=np.float64) - 1)


def majority_code(query_bits: np.ndarray, neighbour_bits: np.ndarray) -> np.ndarray:
    """Bitwise majority of the neighbours' {0,1} codes; where they tie, the query's bit wins."""
    return (vote_values(query_bits, neighbour_bits) > 0).astype(np.uint8)


def expand_bits(query_bits: np.ndarray, database_bits: np.ndarray, k: int = DEFAULT_EXPANSION) -> np.ndarray:
    """Expanded {0,1} codes for each query row against unpacked database codes (benchmark use).

    The database goes into a `HammingIndex`, so neighbours are found exactly as search finds them.
    """
    query_bits = np.atleast_2d(query_bits).astype(np.uint8)
    database = np.asarray(database_bits, dtype=np.uint8)
    if k <= 0 or len(database) == 0:
        return query_bits
    bits = database.shape[1]
    index = HammingIndex(np.arange(len(database), dtype=np.int64), pack_bits(database), bits)
    return unpack_bits(np.stack([expand_packed(index, query, k) for query in pack_bits(query_bits)]), bits)


def expand_packed(index: HammingIndex | MultiIndexHamming, query: np.ndarray, k: int = DEFAULT_EXPANSION) -> np.ndarray:
    """The expanded packed code of one packed query against a `HammingIndex` (the whole library)."""
    if k <= 0 or len(index) == 0:
        return query
    ids, _ = index.search(query, k)
    if len(ids) == 0:
        return query
    rows = np.searchsorted(index.ids, ids)
    neighbours = unpack_bits(index.codes[rows], index.bits)
    own = unpack_bits(np.asarray(query, dtype=np.uint64).reshape(1, -1), index.bits)[0]
    return pack_bits(majority_code(own, neighbours)[None, :])[0]
