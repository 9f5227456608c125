"""Multi-index hashing answers exactly what the brute-force scan answers, ties included."""

from __future__ import annotations

import numpy as np
import pytest

from engine.search.hamming import HammingIndex
from engine.codes.bits import pack_bits
from engine.search.mih import MultiIndexHamming, _ragged_positions, build_index


def clustered_codes(rng, n: int, bits: int, centres: int = 50, flip: float = 0.08) -> np.ndarray:
    """Codes like real ones: near-copies of a few cluster centres (and so many exact ties)."""
    c = rng.integers(0, 2, size=(centres, bits), dtype=np.uint8)
    labels = rng.integers(0, centres, size=n)
    noise = (rng.random((n, bits)) < flip).astype(np.uint8)
    return pack_bits(c[labels] ^ noise)


@pytest.mark.parametrize("bits", [64, 128])
def test_mih_equals_the_scan_on_clustered_and_random_codes(bits):
    rng = np.random.default_rng(bits)
    n = 60_000
    ids = np.arange(10, 10 + 3 * n, 3, dtype=np.int64)  # ids need not be positions
    for kind, codes in (("clustered", clustered_codes(rng, n, bits)), ("random", pack_bits(rng.integers(0, 2, size=(n, bits), dtype=np.uint8)))):
        base = HammingIndex(ids, codes, bits)
        mih = MultiIndexHamming(base)
        mask = rng.random(n) < 0.3
        paths = set()
        for i in range(12):
            # Queries from the library itself (an exact match exists) and perturbed ones.
            q = codes[rng.integers(n)].copy()
            if i % 2:
                q[0] ^= np.uint64(rng.integers(0, 2**63))
            for k in (1, 10, 100):
                for m in (None, mask):
                    got = mih.search(q, k, m)
                    want = base.search(q, k, m)
                    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
                    paths.add(mih.last_path)
        # Clustered codes are answered by probing (random ones may need the scan).
        assert kind == "random" or "mih" in paths


def test_probing_is_used_and_sublinear_on_clustered_codes():
    rng = np.random.default_rng(1)
    codes = clustered_codes(rng, 200_000, 64, centres=2000, flip=0.03)
    mih = MultiIndexHamming(HammingIndex(np.arange(200_000), codes, 64))
    mih.search(codes[5], 20)
    assert mih.last_path == "mih"


def test_ragged_positions_concatenates_bucket_ranges():
    order = np.arange(100, 120)
    got = _ragged_positions(order, np.array([3, 0, 10, 15]), np.array([2, 0, 3, 1]))
    assert got.tolist() == [103, 104, 110, 111, 112, 115]


def test_small_libraries_keep_the_plain_scan():
    rng = np.random.default_rng(2)
    codes = pack_bits(rng.integers(0, 2, size=(1000, 64), dtype=np.uint8))
    assert isinstance(build_index(np.arange(1000), codes, 64), HammingIndex)
    assert isinstance(build_index(np.arange(1000), codes, 64, min_rows=500), MultiIndexHamming)
