"""Binary codes as arrays and bytes: the one layout every layer above shares (numpy only).

Layout
------
A K-bit code is stored as ``W = ceil(K / 64)`` ``uint64`` words; N codes form one
C-contiguous ``uint64`` array of shape ``(N, W)``.  Bit ``j`` of a code is bit
``j % 64`` (least-significant first) of word ``j // 64``; bits ``K .. 64*W - 1`` are
zero.  :func:`codes_to_bytes` serialises a code as its words in little-endian byte
order, truncated to ``K / 8`` bytes, so bit ``j`` is bit ``j % 8`` of byte ``j // 8``
(the same convention as ``np.packbits(..., bitorder="little")``).

Embeddings are stored as :data:`EMBED_DTYPE` (float16): half the size, and neither the
ITQ projection nor the hashing network notices the rounding.
"""

from __future__ import annotations

import numpy as np

EMBED_DTYPE = np.float16


def n_words(bits: int) -> int:
    """Number of uint64 words holding a ``bits``-bit code."""
    if bits <= 0:
        raise ValueError(f"bits must be positive, got {bits}")
    return (bits + 63) // 64


def check_bits(bits: int) -> None:
    """Reject code lengths that cannot be stored as whole bytes."""
    if bits <= 0 or bits % 8:
        raise ValueError(f"bits must be a positive multiple of 8, got {bits}")


def pad_mask(bits: int) -> np.ndarray:
    """Per-word masks with ones exactly on the K valid bits (padding bits cleared)."""
    w = n_words(bits)
    masks = np.full(w, np.iinfo(np.uint64).max, dtype=np.uint64)
    rem = bits % 64
    if rem:
        masks[-1] = np.uint64((1 << rem) - 1)
    return masks


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """Pack {0,1}/bool bits (N, K) -> uint64 (N, ceil(K/64)): bit j is bit j%64 of word j//64.

    A 1-D (K,) input gives one (W,) code, handy for queries.
    """
    arr = np.asarray(bits)
    if arr.ndim == 1:
        return pack_bits(arr.reshape(1, -1)).reshape(-1)
    if arr.ndim != 2:
        raise ValueError(f"expected a (N, K) or (K,) array, got shape {arr.shape}")
    n, k = arr.shape
    check_bits(k)
    w = n_words(k)
    # Little-endian bits within bytes and bytes within words: bit j lands on bit j % 64.
    out = np.zeros((n, w * 8), dtype=np.uint8)
    out[:, : k // 8] = np.packbits(arr.astype(bool, copy=False), axis=1, bitorder="little")
    return out.view("<u8").astype(np.uint64, copy=False).reshape(n, w)


def unpack_bits(packed: np.ndarray, bits: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`: uint64 (N, W) -> uint8 {0,1} (N, bits); (W,) -> (bits,)."""
    check_bits(bits)
    arr = np.asarray(packed, dtype=np.uint64)
    if arr.ndim == 1:
        return unpack_bits(arr.reshape(1, -1), bits).reshape(-1)
    if arr.ndim != 2 or arr.shape[1] != n_words(bits):
        raise ValueError(f"{bits}-bit codes need shape (N, {n_words(bits)}), got {arr.shape}")
    as_bytes = np.ascontiguousarray(arr.astype("<u8", copy=False)).view(np.uint8)
    return np.unpackbits(as_bytes, axis=1, count=bits, bitorder="little")


def codes_to_bytes(packed_row: np.ndarray, bits: int | None = None) -> bytes:
    """Serialise one packed code to ``bits/8`` bytes (little-endian words) for a BLOB column."""
    row = np.asarray(packed_row, dtype=np.uint64).reshape(-1)
    raw = row.astype("<u8", copy=False).tobytes()
    if bits is None:
        return raw
    check_bits(bits)
    if row.size != n_words(bits):
        raise ValueError(f"{bits}-bit codes need {n_words(bits)} words, got {row.size}")
    return raw[: bits // 8]


def codes_from_bytes(b: bytes, bits: int) -> np.ndarray:
    """Decode a BLOB written by :func:`codes_to_bytes` into a (W,) uint64 code."""
    check_bits(bits)
    w = n_words(bits)
    if len(b) not in (bits // 8, w * 8):
        raise ValueError(f"{bits}-bit code needs {bits // 8} bytes, got {len(b)}")
    buf = bytes(b) + b"\x00" * (w * 8 - len(b))
    return np.frombuffer(buf, dtype="<u8").astype(np.uint64) & pad_mask(bits)


def hamming_distance_reference(query_bits: np.ndarray, db_bits: np.ndarray) -> np.ndarray:
    """Dead-simple reference: number of differing unpacked bits, (K,) vs (N, K) -> (N,) int64."""
    q = np.asarray(query_bits).astype(bool)
    db = np.asarray(db_bits).astype(bool).reshape(-1, q.shape[-1])
    return (db != q).sum(axis=1).astype(np.int64)
