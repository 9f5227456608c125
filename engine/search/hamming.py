"""Exact Hamming-distance search over packed binary codes (numpy; faiss optional; no Qt/torch).

Codes are packed as :mod:`engine.codes.bits` lays them out.

Ranking rule
------------
:meth:`HammingIndex.search` returns rows ordered by ``(distance, row position)``:
equal distances are ordered by ascending row position, i.e. insertion order (the
caller inserts in ascending image id).  The rule also decides which of several rows
tied at the k-th distance make the cut, so results are fully deterministic and equal
``np.lexsort((positions, distances))[:k]``.

Speed
-----
Distances are small integers, so top-k never needs an argpartition over N.  A fixed
random sample of 4096 rows is scored first; its c-th smallest distance (c ~ 2k * 4096/N
+ 4) is a threshold ``t`` that ~2k rows are expected to meet.  Each core then scans a
contiguous chunk of rows and keeps only rows with ``d <= t``; the few candidates are
cut at the exact k-th distance and sorted by (distance, position).  If fewer than k rows
met ``t`` (odds ~1e-3), the scan is redone with per-chunk thresholds that provably admit
k rows, so results are always exact.

The scan is either numpy (XOR + ``np.bitwise_count`` over word-major columns in chunks;
ufuncs release the GIL, so chunks run in parallel threads) or, when faiss is installed
and has a fast kernel for K (32/64/128/256/512 bits), ``IndexBinaryFlat.range_search``
per chunk, which fuses XOR, popcount and the comparison into one pass (~1.3-1.5x faster
than the numpy scan here).  Filters keeping at least 1/20 of the rows in scattered
places (a tag, a year) use the faiss scan too, with the threshold estimated on eligible
sampled rows, then drop ineligible candidates; a filter in runs (a folder) or a sparse
one gathers just its rows for numpy.  :meth:`HammingIndex.distances` always uses numpy.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any

import numpy as np

from ..codes.bits import check_bits, n_words, pad_mask

__all__ = ["HammingIndex"]

# Rows per XOR/popcount step: bounds the uint64 scratch (2 MiB).  Measured on the 2-core
# target: 64k-row chunks 0.82-0.97 ms, 256k 0.75, one chunk 0.80 (numpy top-100 of 1M);
# per-call overhead, not cache size, dominates there.
_CHUNK_ROWS = 262144
# Rows of a fixed random sample scored first to pick the candidate threshold.  Indexes
# this small (or smaller) are scored in full instead, with an exact threshold.
_SAMPLE_ROWS = 4096
# Strided sample size per chunk for the exact (guaranteed) threshold.
_EXACT_SAMPLE_ROWS = 16384
# Sentinel threshold: "estimate it from the shared sample" (once per participant).
_ESTIMATE = -1
# Candidate lists longer than this are cut at the k-th distance before sorting.
_CUT_ABOVE = 4096
# The threshold is the c-th smallest sampled distance, c = MARGIN * k * S / N + SLACK:
# about MARGIN * k expected candidates, and (Poisson tail) ~1e-3 odds of catching fewer
# than k, in which case the exact per-chunk fallback runs.
_SAMPLE_MARGIN = 2.0
_SAMPLE_SLACK = 4
# Rows are scanned in chunks that the caller and pool helpers claim from a shared counter,
# so a helper that starts late (waking an idle core costs 0.03-0.1 ms) or a core busy
# with other work just means the caller claims more chunks: never worse than one thread.
_CHUNKS_PER_THREAD = 1
# Smaller chunks cost more in per-call overhead than a second core saves.
_MIN_CHUNK_ROWS = 131072
_MAX_THREADS = 8
# A filter keeping at least 1/this of all rows is scanned by faiss (then masked); sparser
# filters are scored by numpy, which can gather just the eligible rows.
_FAISS_MASK_DIV = 20
# A chunk whose mask keeps fewer than 1/this of its rows gathers them instead of scanning all.
_SPARSE_MASK_DIV = 4
# ...provided they lie in runs: words touched <= eligible/8 * this.
_RUNS_SLACK = 2

# Code sizes (bytes) with a specialised faiss HammingComputer.  Others fall back to a
# byte loop that lost to numpy here (16 bits: 1.7 ms vs 0.8; 24 bits: 3.2 vs 1.5), so
# backend="auto" only hands these to faiss.
_FAISS_FAST_CODE_BYTES = frozenset({4, 8, 16, 32, 64})

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_tls = threading.local()


def _scratch(name: str, dtype: np.dtype, n: int) -> np.ndarray:
    """Thread-local reusable buffer of at least ``n`` items (avoids page faults on fresh memory)."""
    cur = getattr(_tls, name, None)
    if cur is None or cur.dtype != dtype or cur.shape[0] < n:
        cur = np.empty(max(n, 1), dtype=dtype)
        setattr(_tls, name, cur)
    return cur[:n]


def _get_pool(workers: int) -> ThreadPoolExecutor:
    """The shared helper pool, grown to at least ``workers`` threads."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool._max_workers < workers:  # noqa: SLF001 - resize on demand
            old = _pool
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hamming")
            if old is not None:
                old.shutdown(wait=False)  # queued work still runs; idle threads then exit
        return _pool


def _detect_cpus() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


_CPUS = _detect_cpus()


def _mask_is_sparse_runs(m: np.ndarray) -> bool:
    """True when few rows are eligible and they lie in long runs (cheap to gather)."""
    n = m.shape[0]
    eligible = int(np.count_nonzero(m))
    if eligible * _SPARSE_MASK_DIV >= n:
        return False
    # Each eligible row in a run shares its 8-byte word with ~7 others; scattered rows
    # mostly sit alone.  So words holding any eligible row ~= eligible / 8 means runs.
    whole = n - n % 8
    words = int(np.count_nonzero(m[:whole].view(np.uint64)))
    return words * 8 <= eligible * _RUNS_SLACK + 64


def _row_bytes(cols: np.ndarray, bits: int) -> np.ndarray:
    """Word-major codes (W, N) -> row-major (N, bits/8) uint8, the layout faiss expects."""
    rows = np.ascontiguousarray(cols.T.astype("<u8", copy=False))
    return np.ascontiguousarray(rows.view(np.uint8)[:, : bits // 8])


def _import_faiss() -> ModuleType | None:
    """The faiss module, or None when it is not installed (it is optional)."""
    try:
        import faiss  # noqa: PLC0415 - optional and slow to import
    except ImportError:
        return None
    return faiss


def _kth_value(d: np.ndarray, k: int) -> int:
    """Smallest t such that at least k entries of the small-int array d are <= t (k <= d.size)."""
    cum = np.cumsum(np.bincount(d))
    return int(np.searchsorted(cum, k))


class HammingIndex:
    """Exact brute-force Hamming top-k over packed codes, ties broken by row position."""

    def __init__(
        self,
        ids: np.ndarray,
        codes: np.ndarray,
        bits: int,
        *,
        backend: str = "auto",
        threads: int | None = None,
    ) -> None:
        """Index ``codes`` (N, W) uint64 under ``ids`` (N,) int64; rows keep the given order.

        ``backend``: "numpy", "faiss" (candidate scan by faiss range search; error if faiss
        is missing) or "auto" (faiss when importable and K is 32, 64, 128, 256 or 512,
        where faiss has fast kernels; numpy otherwise).  Results are identical either way;
        faiss keeps its own copy of the codes (K/8 bytes per row) for indexes over 4096 rows.
        ``threads``: threads per query, the caller's included (default: one per core).
        The index copies ``ids`` and ``codes``; later changes to the caller's arrays do not
        affect it.
        """
        check_bits(bits)
        if backend not in ("auto", "numpy", "faiss"):
            raise ValueError(f"unknown backend {backend!r}")
        w = n_words(bits)
        ids_arr = np.array(ids, dtype=np.int64, copy=True).reshape(-1)
        codes_arr = np.asarray(codes)
        if codes_arr.size == 0:
            codes_arr = codes_arr.reshape(0, w)
        if codes_arr.ndim == 1 and w == 1:
            codes_arr = codes_arr.reshape(-1, 1)
        if codes_arr.ndim != 2 or codes_arr.shape[1] != w:
            raise ValueError(f"{bits}-bit codes need shape (N, {w}), got {codes_arr.shape}")
        if codes_arr.shape[0] != ids_arr.shape[0]:
            raise ValueError(f"{ids_arr.shape[0]} ids for {codes_arr.shape[0]} codes")
        pad = pad_mask(bits)
        # Private word-major (W, N) copy: each word column is contiguous, so XOR/popcount/add
        # run as contiguous SIMD loops.  Row-major (N, 2) with a broadcast query was ~15x
        # slower (numpy's inner loop then has length W); strided per-word loops ~2x slower.
        cols = np.array(codes_arr.T, dtype=np.uint64, order="C", copy=True)
        if bits % 64 and cols.size:
            cols[-1] &= pad[-1]  # stray padding bits would inflate distances
        n = ids_arr.shape[0]
        self._ids = ids_arr
        self._cols = cols
        self._bits = bits
        self._words = w
        self._pad = pad
        # uint8 holds any distance up to 255; the sum of W byte-sized popcounts must fit.
        self._dtype = np.dtype(np.uint8) if 64 * w <= 255 else np.dtype(np.uint16)
        self._threads = min(_MAX_THREADS, _CPUS if threads is None else max(1, int(threads)))
        chunks = max(1, min(self._threads * _CHUNKS_PER_THREAD, n // _MIN_CHUNK_ROWS))
        edges = [n * i // chunks for i in range(chunks + 1)]
        self._ranges = [(edges[i], edges[i + 1]) for i in range(chunks)]
        # A fixed random sample of rows (seeded: same index, same behaviour), copied so
        # that scoring it is one contiguous pass; small indexes are scored exactly instead.
        self._sample: np.ndarray | None = None
        self._sample_cols = cols[:, :0]
        if n > _SAMPLE_ROWS:
            rng = np.random.default_rng(0x5EED)
            self._sample = np.sort(rng.choice(n, size=_SAMPLE_ROWS, replace=False))
            self._sample_cols = np.ascontiguousarray(cols[:, self._sample])
        wants_faiss = backend == "faiss" or (backend == "auto" and bits // 8 in _FAISS_FAST_CODE_BYTES)
        self._faiss = _import_faiss() if wants_faiss else None
        if backend == "faiss" and self._faiss is None:
            raise ImportError("backend='faiss' needs the faiss-cpu package")
        self._faiss_parts: list[Any] = []  # faiss.IndexBinaryFlat, one per chunk (faiss has no type hints)
        self._faiss_sample: Any = None
        if self._faiss is not None and self._sample is not None:
            # faiss stores each code as its first K/8 little-endian bytes (codes_to_bytes).
            as_bytes = _row_bytes(cols, bits)
            for start, stop in self._ranges:
                part = self._faiss.IndexBinaryFlat(bits)
                part.add(np.ascontiguousarray(as_bytes[start:stop]))
                self._faiss_parts.append(part)
            self._faiss_sample = self._faiss.IndexBinaryFlat(bits)
            self._faiss_sample.add(_row_bytes(self._sample_cols, bits))
        else:
            self._faiss = None

    @property
    def ids(self) -> np.ndarray:
        """Row ids (N,) int64, in row order."""
        return self._ids

    @property
    def codes(self) -> np.ndarray:
        """Packed codes (N, W) uint64, in row order (a transposed view of the word-major store)."""
        return self._cols.T

    @property
    def bits(self) -> int:
        """Code length K in bits."""
        return self._bits

    @property
    def words(self) -> int:
        """uint64 words per code."""
        return self._words

    @property
    def backend(self) -> str:
        """Candidate scan for unfiltered top-k on indexes over 4096 rows: "faiss" or "numpy"."""
        return "faiss" if self._faiss is not None else "numpy"

    def __len__(self) -> int:
        """Number of indexed rows."""
        return int(self._ids.shape[0])

    # ------------------------------------------------------------------ public API
    def distances(self, query: np.ndarray) -> np.ndarray:
        """Hamming distances from ``query`` (W,) to every row, (N,) uint8 (uint16 if K > 192)."""
        q = self._query(query)
        out = np.empty(len(self), dtype=self._dtype)
        if len(self):

            def fill(next_chunk: Callable[[], int | None]) -> None:
                for j in iter(next_chunk, None):
                    s, e = self._ranges[j]
                    self._fill([col[s:e] for col in self._cols], q, out[s:e])

            self._drive(fill)
        return out

    def search(self, query: np.ndarray, k: int, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-k ``(ids int64, distances int32)`` ordered by (distance, row position).

        ``k <= 0`` or ``k >= N`` returns the whole ranking.  With ``mask`` (N,) bool only
        rows where it is True are eligible, so the result may be shorter than k.
        """
        q = self._query(query)
        m = self._mask(mask)
        n = len(self)
        if n == 0:
            return np.empty(0, np.int64), np.empty(0, np.int32)
        if k <= 0 or k >= n:
            return self._full_ranking(q, m)
        if self._sample is None:
            # Small index: one exact pass (t=None makes each chunk's threshold exact).
            parts = self._numpy_scan(q, k, m, None)
        elif m is None and self._faiss is not None:
            parts = self._faiss_scan(_row_bytes(q.reshape(-1, 1), self._bits), k)
        elif self._faiss is not None and m is not None and np.count_nonzero(m) * _FAISS_MASK_DIV >= n and not _mask_is_sparse_runs(m):
            # A filter keeping a fair share of rows (a tag, a year): faiss's fused scan
            # with a threshold estimated on eligible sampled rows, then the mask.
            parts = self._faiss_scan(_row_bytes(q.reshape(-1, 1), self._bits), k, m, self._estimate_threshold(q, k, m))
        else:
            parts = self._numpy_scan(q, k, m, _ESTIMATE)
        if sum(p.shape[0] for p, _, _ in parts) < k and min(t for _, _, t in parts) < self._bits:
            # Fewer than k rows within t although t excluded some (the sample
            # over-estimated, ~1e-3 odds): redo with per-chunk guaranteed thresholds.
            parts = self._numpy_scan(q, k, m, None)
        pos = np.concatenate([p for p, _, _ in parts])
        dist = np.concatenate([d for _, d, _ in parts])
        return self._finish(pos, dist, k)

    def search_many(self, queries: np.ndarray, k: int, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`search` per row of ``queries`` (Q, W) -> (Q, k') arrays; short rows padded with -1."""
        qs = np.asarray(queries, dtype=np.uint64)
        if qs.ndim == 1:
            qs = qs.reshape(1, -1)
        n = len(self)
        width = n if k <= 0 or k >= n else k
        ids = np.full((qs.shape[0], width), -1, dtype=np.int64)
        dists = np.full((qs.shape[0], width), -1, dtype=np.int32)
        m = self._mask(mask)
        # One query at a time: each search already uses every core, and the candidate
        # threshold is per query.
        for i, q in enumerate(qs):
            r_ids, r_d = self.search(q, k, m)
            ids[i, : r_ids.shape[0]] = r_ids
            dists[i, : r_d.shape[0]] = r_d
        return ids, dists

    # ------------------------------------------------------------------ internals
    def _query(self, query: np.ndarray) -> np.ndarray:
        """Validate a (W,) query and clear its padding bits."""
        q = np.asarray(query, dtype=np.uint64).reshape(-1)
        if q.shape[0] != self._words:
            raise ValueError(f"query needs {self._words} uint64 words, got {q.shape[0]}")
        return q & self._pad

    def _mask(self, mask: np.ndarray | None) -> np.ndarray | None:
        """Validate an eligibility mask; None means every row is eligible."""
        if mask is None:
            return None
        m = np.ascontiguousarray(mask, dtype=np.bool_).reshape(-1)
        if m.shape[0] != len(self):
            raise ValueError(f"mask has {m.shape[0]} entries for {len(self)} rows")
        return m

    def _drive(self, participant: Callable[[Callable[[], int | None]], None]) -> None:
        """Run ``participant(next_chunk)`` on the caller and on pool helpers until chunks run out.

        ``next_chunk()`` hands out chunk indices once each, then None.  Helpers that never
        got to start are cancelled rather than waited for.
        """
        n = len(self._ranges)
        helpers = min(self._threads, n) - 1
        if helpers <= 0:
            nxt = iter(range(n))
            participant(lambda: next(nxt, None))
            return
        lock = threading.Lock()
        claimed = [0]

        def next_chunk() -> int | None:
            with lock:
                j = claimed[0]
                if j >= n:
                    return None
                claimed[0] = j + 1
                return j

        pool = _get_pool(helpers)
        futures = [pool.submit(participant, next_chunk) for _ in range(helpers)]
        participant(next_chunk)
        for f in futures:
            if not f.cancel():
                f.result()

    def _numpy_scan(self, q: np.ndarray, k: int, m: np.ndarray | None, t: int | None) -> list[tuple[np.ndarray, np.ndarray, int]]:
        """:meth:`_candidates` of every chunk, in chunk order (threshold as there)."""
        results: list[Any] = [None] * len(self._ranges)  # each chunk's (rows, distances, threshold), filled by the participants

        def participant(next_chunk: Callable[[], int | None]) -> None:
            tt = t
            for j in iter(next_chunk, None):
                if tt == _ESTIMATE:  # once per participant, only if it got work
                    tt = self._estimate_threshold(q, k, m)
                results[j] = self._candidates(j, q, k, m, tt)

        self._drive(participant)
        return results

    def _faiss_scan(self, q8: np.ndarray, k: int, mask: np.ndarray | None = None, threshold: int | None = None) -> list[tuple[np.ndarray, np.ndarray, int]]:
        """Rows within the sample-estimated threshold, per chunk, via faiss range search.

        With ``mask`` only eligible rows are kept, and ``threshold`` (estimated on the
        eligible sampled rows) replaces the unfiltered estimate.
        """
        faiss, sample = self._faiss, self._faiss_sample
        assert faiss is not None and sample is not None  # search() calls this only on an index that has faiss parts
        results: list[Any] = [None] * len(self._ranges)  # each chunk's (rows, distances, threshold), filled by the participants
        c = self._sample_quota(k)

        def participant(next_chunk: Callable[[], int | None]) -> None:
            prev = faiss.omp_get_max_threads()
            # One thread: faiss would open an OpenMP team per call whose idle member
            # spin-waits on the core another chunk is using.  Restored right after, so
            # the caller's own faiss settings are untouched.
            faiss.omp_set_num_threads(1)
            try:
                t: int | None = threshold
                for j in iter(next_chunk, None):
                    if t is None:  # once per participant, only if it got work
                        if c <= _SAMPLE_ROWS:
                            sample_d, _ = sample.search(q8, c)
                            t = int(sample_d[0, c - 1])
                        else:
                            t = self._bits
                    # faiss keeps distances strictly below the radius.
                    _, dist, labels = self._faiss_parts[j].range_search(q8, t + 1)
                    rows = labels + self._ranges[j][0]
                    if mask is not None:
                        eligible = mask[rows]
                        rows, dist = rows[eligible], dist[eligible]
                    results[j] = (rows, dist.astype(self._dtype), t)
            finally:
                faiss.omp_set_num_threads(prev)

        self._drive(participant)
        return results

    def _fill(self, cols: list[np.ndarray], q: np.ndarray, out: np.ndarray) -> None:
        """Write distances of the rows in word columns ``cols`` (W arrays, length n) to ``out``."""
        n = out.shape[0]
        # Chunks keep the uint64 XOR scratch in L2 and never allocate per query.
        xbuf = _scratch("x", np.dtype(np.uint64), min(_CHUNK_ROWS, n))
        cbuf = _scratch("c", np.dtype(np.uint8), min(_CHUNK_ROWS, n))
        qs = [q[j] for j in range(len(cols))]
        for cs in range(0, n, _CHUNK_ROWS):
            ce = min(n, cs + _CHUNK_ROWS)
            x, o = xbuf[: ce - cs], out[cs:ce]
            np.bitwise_xor(cols[0][cs:ce], qs[0], out=x)
            np.bitwise_count(x, out=o)
            for j in range(1, len(cols)):
                c = cbuf[: ce - cs]
                np.bitwise_xor(cols[j][cs:ce], qs[j], out=x)
                np.bitwise_count(x, out=c)
                np.add(o, c, out=o)

    def _candidates(self, j: int, q: np.ndarray, k: int, mask: np.ndarray | None, t: int | None) -> tuple[np.ndarray, np.ndarray, int]:
        """Eligible rows of chunk j with distance <= t, as (positions, distances, t).

        ``t=None`` (the exact fallback) takes the k-th smallest distance of an eligible
        strided sample of this chunk, so the chunk surely holds >= k rows within t (or t
        admits all its eligible rows) and no true top-k row can be missed.
        """
        start, stop = self._ranges[j]
        m = None if mask is None else mask[start:stop]
        rows: np.ndarray | None = None
        if m is not None and _mask_is_sparse_runs(m):
            # Few eligible rows lying in runs (a folder, a date span): gather and score
            # only those.  Scattered masks are AND-ed after a full scan instead, because
            # np.flatnonzero on a scattered mask is branchy and slower than the scan.
            rows = np.flatnonzero(m)
            cols = [col[start:stop][rows] for col in self._cols]
            m = None
        else:
            cols = [col[start:stop] for col in self._cols]
        n = cols[0].shape[0]
        d = _scratch("d", self._dtype, n)
        self._fill(cols, q, d)
        if t is None:
            step = max(1, n // _EXACT_SAMPLE_ROWS)
            sample = d[::step]
            if m is not None:
                sample = sample[m[::step]]
            t = _kth_value(sample, k) if sample.shape[0] >= k else self._bits
        sel = _scratch("b", np.dtype(np.bool_), n)
        np.less_equal(d, t, out=sel)
        if m is not None:
            np.logical_and(sel, m, out=sel)
        hits = np.flatnonzero(sel)
        dist = d[hits]
        if rows is not None:
            hits = rows[hits]
        return hits + start, dist, t

    def _sample_quota(self, k: int) -> int:
        """How many sampled rows the threshold must admit: c = MARGIN * k * S / N + SLACK."""
        return int(np.ceil(_SAMPLE_MARGIN * k * _SAMPLE_ROWS / len(self))) + _SAMPLE_SLACK

    def _estimate_threshold(self, q: np.ndarray, k: int, mask: np.ndarray | None) -> int:
        """Distance t expected to admit ~MARGIN*k eligible rows, from the fixed row sample."""
        assert self._sample is not None
        scols = self._sample_cols
        ds = np.bitwise_count(np.bitwise_xor(scols[0], q[0]))
        for j in range(1, self._words):
            np.add(ds, np.bitwise_count(np.bitwise_xor(scols[j], q[j])), out=ds)
        c = self._sample_quota(k)
        if mask is not None:
            ds = ds[mask[self._sample]]
            # Aim at ~MARGIN*k eligible rows: the quota scales with the sampled share of
            # the eligible rows, not of all rows (else a 10% filter admits 10x too many).
            eligible = int(np.count_nonzero(mask))
            if eligible:
                c = int(np.ceil(_SAMPLE_MARGIN * k * ds.shape[0] / eligible)) + _SAMPLE_SLACK
        if ds.shape[0] < c:
            return self._bits  # too few eligible rows sampled: take every eligible row
        return int(np.partition(ds, c - 1)[c - 1])

    def _finish(self, pos: np.ndarray, dist: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Cut candidates at the exact k-th distance and order them by (distance, position)."""
        if pos.shape[0] > _CUT_ABOVE:
            # Many candidates (large k or a poor estimate): drop those past the k-th
            # distance before the O(n log n) sort.
            keep = dist <= _kth_value(dist, k)
            pos, dist = pos[keep], dist[keep]
        order = np.lexsort((pos, dist))[:k]  # the tie-break rule, whatever order came in
        return self._ids[pos[order]], dist[order].astype(np.int32)

    def _full_ranking(self, q: np.ndarray, m: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """All eligible rows ordered by (distance, position)."""
        d = self.distances(q)
        if m is None:
            order = np.argsort(d, kind="stable")  # stable = position tie-break; radix sort
        else:
            rows = np.flatnonzero(m)
            order = rows[np.argsort(d[rows], kind="stable")]
        return self._ids[order], d[order].astype(np.int32)
