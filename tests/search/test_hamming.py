"""Tests for engine.search.hamming: bit packing, BLOB round trips, exact top-k with tie-break."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from engine.search import hamming
from engine.search.hamming import HammingIndex
from engine.codes.bits import codes_from_bytes, codes_to_bytes, hamming_distance_reference, n_words, pack_bits, unpack_bits

try:
    import faiss
except ImportError:  # faiss-cpu is optional for the engine
    faiss = None

BITS = (16, 32, 64, 128)
BACKENDS = ("numpy", "faiss") if faiss is not None else ("numpy",)


def tied_bits(rng: np.random.Generator, n: int, bits: int, pool: int = 40, flips: int = 2) -> np.ndarray:
    """Unpacked codes (n, bits) drawn from a small pool plus a few bit flips: many exact ties."""
    base = rng.integers(0, 2, size=(pool, bits), dtype=np.uint8)
    out = base[rng.integers(0, pool, size=n)]
    rows = np.repeat(np.arange(n), flips)
    cols = rng.integers(0, bits, size=n * flips)
    out[rows, cols] ^= 1
    return out


def reference_ranking(query_bits: np.ndarray, db_bits: np.ndarray, k: int, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Positions and distances of the documented ranking: by (distance, position), mask applied."""
    d = hamming_distance_reference(query_bits, db_bits)
    order = np.lexsort((np.arange(d.shape[0]), d))
    if mask is not None:
        order = order[mask[order]]
    if 0 < k < order.shape[0]:
        order = order[:k]
    return order, d[order]


def assert_same(got: tuple[np.ndarray, np.ndarray], ids: np.ndarray, ref: tuple[np.ndarray, np.ndarray]) -> None:
    """Ids and distances equal the reference exactly, in order."""
    np.testing.assert_array_equal(got[0], ids[ref[0]])
    np.testing.assert_array_equal(got[1], ref[1])


# --------------------------------------------------------------------------- packing


@pytest.mark.parametrize("bits", BITS)
def test_pack_unpack_round_trip(bits: int) -> None:
    rng = np.random.default_rng(bits)
    raw = rng.integers(0, 2, size=(257, bits), dtype=np.uint8)
    packed = pack_bits(raw)
    assert packed.dtype == np.uint64 and packed.shape == (257, n_words(bits))
    assert packed.flags.c_contiguous
    np.testing.assert_array_equal(unpack_bits(packed, bits), raw)
    np.testing.assert_array_equal(pack_bits(raw.astype(bool)), packed)
    # 1-D: one code.
    np.testing.assert_array_equal(pack_bits(raw[3]), packed[3])
    np.testing.assert_array_equal(unpack_bits(packed[3], bits), raw[3])


@pytest.mark.parametrize("bits", BITS)
def test_bit_order_is_documented_one(bits: int) -> None:
    for j in (0, 1, 7, 8, bits // 2, bits - 1):
        one = np.zeros((1, bits), dtype=np.uint8)
        one[0, j] = 1
        packed = pack_bits(one)
        expected = np.zeros((1, n_words(bits)), dtype=np.uint64)
        expected[0, j // 64] = np.uint64(1) << np.uint64(j % 64)
        np.testing.assert_array_equal(packed, expected)
        # BLOB: bit j is bit j % 8 of byte j // 8.
        blob = codes_to_bytes(packed[0], bits)
        assert blob[j // 8] == 1 << (j % 8) and sum(blob) == blob[j // 8]


@pytest.mark.parametrize("bits", BITS)
def test_bytes_round_trip(bits: int) -> None:
    rng = np.random.default_rng(100 + bits)
    raw = rng.integers(0, 2, size=(50, bits), dtype=np.uint8)
    packed = pack_bits(raw)
    for row, bits_row in zip(packed, raw):
        blob = codes_to_bytes(row, bits)
        assert isinstance(blob, bytes) and len(blob) == bits // 8
        assert blob == np.packbits(bits_row, bitorder="little").tobytes()
        back = codes_from_bytes(blob, bits)
        assert back.dtype == np.uint64 and back.shape == (n_words(bits),)
        np.testing.assert_array_equal(back, row)
        # Without bits the whole words are written; reading them back is still exact.
        np.testing.assert_array_equal(codes_from_bytes(codes_to_bytes(row), bits), row)


def test_bad_sizes_are_rejected() -> None:
    with pytest.raises(ValueError):
        pack_bits(np.zeros((2, 12), dtype=np.uint8))
    with pytest.raises(ValueError):
        unpack_bits(np.zeros((2, 1), dtype=np.uint64), 128)
    with pytest.raises(ValueError):
        codes_from_bytes(b"\x00" * 3, 16)
    with pytest.raises(ValueError):
        HammingIndex(np.arange(3), np.zeros((3, 2), dtype=np.uint64), 64)
    with pytest.raises(ValueError):
        HammingIndex(np.arange(2), np.zeros((3, 1), dtype=np.uint64), 64)
    index = HammingIndex(np.arange(3), np.zeros((3, 1), dtype=np.uint64), 64)
    with pytest.raises(ValueError):
        index.search(np.zeros(2, dtype=np.uint64), 1)
    with pytest.raises(ValueError):
        index.search(np.zeros(1, dtype=np.uint64), 1, mask=np.ones(4, dtype=bool))


# --------------------------------------------------------------------------- distances


@pytest.mark.parametrize("bits", BITS)
def test_distances_match_reference(bits: int) -> None:
    rng = np.random.default_rng(7 + bits)
    db = rng.integers(0, 2, size=(3000, bits), dtype=np.uint8)
    q = rng.integers(0, 2, size=bits, dtype=np.uint8)
    index = HammingIndex(np.arange(3000), pack_bits(db), bits)
    d = index.distances(pack_bits(q))
    assert d.dtype == np.uint8 and d.shape == (3000,)
    np.testing.assert_array_equal(d, hamming_distance_reference(q, db))


def test_padding_bits_are_ignored() -> None:
    rng = np.random.default_rng(3)
    db = rng.integers(0, 2, size=(100, 16), dtype=np.uint8)
    q = rng.integers(0, 2, size=16, dtype=np.uint8)
    codes = pack_bits(db)
    dirty = codes | np.uint64(0xFFFF_0000_0000_0000)  # garbage above bit 16
    index = HammingIndex(np.arange(100), dirty, 16)
    dirty_q = pack_bits(q) | np.uint64(0xF0F0_0000_0000_0000)
    np.testing.assert_array_equal(index.distances(dirty_q), hamming_distance_reference(q, db))
    np.testing.assert_array_equal(index.codes, codes)


def test_uint16_distances_for_long_codes() -> None:
    rng = np.random.default_rng(5)
    db = rng.integers(0, 2, size=(500, 256), dtype=np.uint8)
    index = HammingIndex(np.arange(500), pack_bits(db), 256)
    d = index.distances(pack_bits(1 - db[0]))
    assert d.dtype == np.uint16 and d[0] == 256
    np.testing.assert_array_equal(d, hamming_distance_reference(1 - db[0], db))


# --------------------------------------------------------------------------- exact search


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("bits", BITS)
def test_search_equals_reference_ranking(bits: int, backend: str) -> None:
    rng = np.random.default_rng(bits)
    n = 5000  # above the sample size: exercises the estimated threshold
    db = tied_bits(rng, n, bits)
    ids = np.arange(n, dtype=np.int64) * 10 + 3
    index = HammingIndex(ids, pack_bits(db), bits, backend=backend)
    masks = [None, rng.random(n) < 0.3, np.arange(n) % 7 == 0]
    for qi in range(4):
        q = db[rng.integers(0, n)] if qi % 2 else rng.integers(0, 2, size=bits, dtype=np.uint8)
        for k in (1, 10, 100, n, 0):
            for mask in masks:
                got = index.search(pack_bits(q), k, mask)
                assert got[0].dtype == np.int64 and got[1].dtype == np.int32
                assert_same(got, ids, reference_ranking(q, db, k, mask))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("bits", (16, 128))
def test_search_multi_range_paths(bits: int, backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Several chunks and helper threads, mask shapes (runs, scattered) and the big-index paths."""
    monkeypatch.setattr(hamming, "_MIN_CHUNK_ROWS", 1000)
    rng = np.random.default_rng(11)
    n = 9001
    db = tied_bits(rng, n, bits, pool=25)
    ids = np.arange(n, dtype=np.int64)
    index = HammingIndex(ids, pack_bits(db), bits, backend=backend, threads=3)
    assert len(index._ranges) == 3 * hamming._CHUNKS_PER_THREAD
    folder = np.zeros(n, dtype=bool)
    folder[1000:1800] = True  # one run: the gather path
    folder[6000:6050] = True
    masks = [None, folder, rng.random(n) < 0.05, rng.random(n) < 0.6, np.arange(n) == 4321]
    for _ in range(3):
        q = tied_bits(rng, 1, bits, pool=1, flips=5)[0]
        for k in (1, 7, 100, 2500):
            for mask in masks:
                got = index.search(pack_bits(q), k, mask)
                assert_same(got, ids, reference_ranking(q, db, k, mask))


@pytest.mark.parametrize("backend", BACKENDS)
def test_exact_fallback_when_estimate_is_too_tight(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A threshold estimate that admits fewer than k rows must still give the exact answer."""
    monkeypatch.setattr(hamming, "_SAMPLE_MARGIN", 0.0)
    monkeypatch.setattr(hamming, "_SAMPLE_SLACK", 1)
    monkeypatch.setattr(hamming, "_MIN_CHUNK_ROWS", 1500)
    rng = np.random.default_rng(12)
    n, bits = 12000, 64
    db = rng.integers(0, 2, size=(n, bits), dtype=np.uint8)
    ids = np.arange(n, dtype=np.int64)
    index = HammingIndex(ids, pack_bits(db), bits, backend=backend)
    for _ in range(5):
        q = rng.integers(0, 2, size=bits, dtype=np.uint8)
        for k in (50, 400):
            for mask in (None, rng.random(n) < 0.5):
                got = index.search(pack_bits(q), k, mask)
                assert_same(got, ids, reference_ranking(q, db, k, mask))


def test_small_index_and_large_k_paths() -> None:
    rng = np.random.default_rng(13)
    n, bits = 900, 32
    db = tied_bits(rng, n, bits)
    ids = rng.permutation(n).astype(np.int64)  # ids need not be sorted: order is by position
    index = HammingIndex(ids, pack_bits(db), bits)
    q = db[17]
    for k in (1, 5, 899, 900, 5000, -3):
        for mask in (None, rng.random(n) < 0.02):
            assert_same(index.search(pack_bits(q), k, mask), ids, reference_ranking(q, db, k, mask))


# --------------------------------------------------------------------------- faiss agreement


@pytest.mark.skipif(faiss is None, reason="faiss-cpu not installed")
@pytest.mark.parametrize("bits", BITS)
def test_agrees_with_faiss(bits: int) -> None:
    rng = np.random.default_rng(21 + bits)
    n = 6000
    db = tied_bits(rng, n, bits, pool=200, flips=4)
    codes = pack_bits(db)
    index = HammingIndex(np.arange(n), codes, bits, backend="numpy")
    fidx = faiss.IndexBinaryFlat(bits)
    fidx.add(np.packbits(db, axis=1, bitorder="little"))
    for qi in range(5):
        q = db[qi * 100]
        for k in (1, 10, 100):
            ids, dist = index.search(pack_bits(q), k)
            fd, fi = fidx.search(np.packbits(q, bitorder="little").reshape(1, -1), k)
            np.testing.assert_array_equal(dist, fd[0].astype(np.int32))
            kth = dist[-1]
            # Below the k-th distance the id sets agree; at it, faiss picks its own ties.
            assert set(ids[dist < kth]) == set(fi[0][fd[0] < kth])


@pytest.mark.skipif(faiss is None, reason="faiss-cpu not installed")
def test_auto_backend_uses_faiss_only_where_it_is_fast() -> None:
    rng = np.random.default_rng(61)
    expect = {16: "numpy", 24: "numpy", 32: "faiss", 64: "faiss", 128: "faiss"}
    for bits, expected in expect.items():
        codes = pack_bits(rng.integers(0, 2, size=(5000, bits), dtype=np.uint8))
        assert HammingIndex(np.arange(5000), codes, bits).backend == expected
    small = pack_bits(rng.integers(0, 2, size=(100, 64), dtype=np.uint8))
    assert HammingIndex(np.arange(100), small, 64).backend == "numpy"  # scored exactly
    assert HammingIndex(np.arange(5000), codes, 128, backend="numpy").backend == "numpy"


@pytest.mark.skipif(faiss is None, reason="faiss-cpu not installed")
def test_faiss_backend_leaves_caller_openmp_setting_alone() -> None:
    rng = np.random.default_rng(62)
    db = rng.integers(0, 2, size=(6000, 64), dtype=np.uint8)
    index = HammingIndex(np.arange(6000), pack_bits(db), 64, backend="faiss", threads=1)
    before = faiss.omp_get_max_threads()
    index.search(pack_bits(db[0]), 10)
    assert faiss.omp_get_max_threads() == before


# --------------------------------------------------------------------------- edge cases


@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_index(backend: str) -> None:
    index = HammingIndex(np.empty(0, np.int64), np.empty((0, 2), np.uint64), 128, backend=backend)
    assert len(index) == 0
    q = np.zeros(2, dtype=np.uint64)
    for k in (0, 1, 10):
        ids, d = index.search(q, k)
        assert ids.shape == (0,) and d.shape == (0,)
    assert index.distances(q).shape == (0,)
    ids, d = index.search_many(np.zeros((3, 2), np.uint64), 5)
    assert ids.shape == (3, 0) and d.shape == (3, 0)


def test_mask_all_false_and_k_beyond_n() -> None:
    rng = np.random.default_rng(31)
    db = tied_bits(rng, 300, 64)
    index = HammingIndex(np.arange(300), pack_bits(db), 64)
    q = pack_bits(db[0])
    for k in (0, 1, 50, 300, 1000):
        ids, d = index.search(q, k, np.zeros(300, dtype=bool))
        assert ids.shape == (0,) and d.shape == (0,)
    ids, d = index.search(q, 10_000)
    assert_same((ids, d), np.arange(300), reference_ranking(db[0], db, 0))


def test_single_row() -> None:
    index = HammingIndex(np.array([42]), pack_bits(np.ones((1, 32), dtype=np.uint8)), 32)
    q = pack_bits(np.zeros(32, dtype=np.uint8))
    for k in (0, 1, 5):
        ids, d = index.search(q, k)
        assert ids.tolist() == [42] and d.tolist() == [32]
    assert index.search(q, 1, np.array([False]))[0].shape == (0,)


def test_search_many_matches_search_and_pads() -> None:
    rng = np.random.default_rng(41)
    n, bits = 5000, 64
    db = tied_bits(rng, n, bits)
    index = HammingIndex(np.arange(n), pack_bits(db), bits)
    queries = pack_bits(db[:6])
    ids, dist = index.search_many(queries, 20)
    assert ids.shape == (6, 20) and dist.shape == (6, 20)
    for i in range(6):
        one = index.search(queries[i], 20)
        np.testing.assert_array_equal(ids[i], one[0])
        np.testing.assert_array_equal(dist[i], one[1])
    mask = np.zeros(n, dtype=bool)
    mask[:5] = True
    ids, dist = index.search_many(queries, 20, mask)
    assert (ids[:, 5:] == -1).all() and (dist[:, 5:] == -1).all()
    assert set(ids[0, :5]) == set(range(5))


def test_concurrent_searches_are_independent(monkeypatch: pytest.MonkeyPatch) -> None:
    """Several caller threads share the pool and its scratch buffers safely."""
    monkeypatch.setattr(hamming, "_MIN_CHUNK_ROWS", 1200)
    rng = np.random.default_rng(51)
    n, bits = 10000, 32
    db = tied_bits(rng, n, bits)
    index = HammingIndex(np.arange(n), pack_bits(db), bits, threads=4)
    queries = [db[i * 37] for i in range(8)]
    expected = [reference_ranking(q, db, 30) for q in queries]
    errors: list[str] = []

    def worker(seed: int) -> None:
        for r in range(20):
            i = (seed + r) % len(queries)
            ids, d = index.search(pack_bits(queries[i]), 30)
            if not (np.array_equal(ids, expected[i][0]) and np.array_equal(d, expected[i][1])):
                errors.append(f"thread {seed} query {i}")

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
