"""Exact multi-index hashing (Norouzi, Punjani & Fleet) over a brute-force HammingIndex.

Each K-bit code is cut into m = K/16 substrings of 16 bits; table t lists the rows
sorted by their t-th substring (``order[t]``, int32) with bucket offsets
(``offsets[t]``, 65,537 entries).  Pigeonhole: if a row is within distance d of the
query, some substring is within floor(d / m) of the query's substring.  So after every
table has been probed with all substrings within radius r, every row at distance
<= m * (r + 1) - 1 has been seen.  The search probes r = 0, 1, 2, ... and stops as soon
as the k-th smallest distance among eligible rows seen is within that bound: the top k
(ties at the k-th distance included, broken by row position) are then exact.

When the buckets the next radius would open hold more than a fraction of all rows
(random codes at radius >= 4, a sparse filter, a huge k), probing costs more than a
scan, and the wrapped :class:`HammingIndex` answers by brute force instead.  Either way
the answer equals ``HammingIndex.search``.

Memory: 4 bytes per row per table (16 bytes per photo at 64 bits, 32 at 128) on top
of the codes, so :func:`build_index` only adds the tables to large libraries.
"""

from __future__ import annotations

import threading

import numpy as np

from .hamming import HammingIndex

SUB_BITS = 16
_KEYS = 1 << SUB_BITS
# Probing stops (and a scan answers) once the rows in opened buckets pass N / this.
_SCAN_FRACTION = 16
# ... or past N / this when the row sample predicts a far k-th neighbour.
_ATTEMPT_FRACTION = 256
# Libraries below this many photos are scanned: the scan is ~1 ms per million rows.
MIH_MIN_ROWS = 2_000_000

_popcount16 = np.bitwise_count(np.arange(_KEYS, dtype=np.uint16))
# Substring flips by weight: _FLIPS[r] = every 16-bit mask with exactly r bits set.
_FLIPS = [np.flatnonzero(_popcount16 == r).astype(np.uint16) for r in range(SUB_BITS + 1)]


def _ragged_positions(order: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """order[starts[i] : starts[i] + lengths[i]] for every i, concatenated (no Python loop)."""
    keep = lengths > 0
    starts, lengths = starts[keep], lengths[keep]
    total = int(lengths.sum())
    if total == 0:
        return np.empty(0, dtype=order.dtype)
    ends = np.cumsum(lengths)
    step = np.ones(total, dtype=np.int64)
    step[0] = starts[0]
    # At each bucket boundary jump from the previous bucket's last row to the next start.
    step[ends[:-1]] = starts[1:] - (starts[:-1] + lengths[:-1] - 1)
    return order[np.cumsum(step)]


class MultiIndexHamming:
    """Exact top-k like :class:`HammingIndex`, sub-linear when codes are clustered."""

    def __init__(self, base: HammingIndex) -> None:
        if base.bits % SUB_BITS:
            raise ValueError(f"multi-index hashing needs a multiple of {SUB_BITS} bits, got {base.bits}")
        self.base = base
        self.m = base.bits // SUB_BITS
        cols = base._cols  # noqa: SLF001 - word-major codes, (W, N)
        self._subs: list[np.ndarray] = []
        self._order: list[np.ndarray] = []
        self._offsets: list[np.ndarray] = []
        for t in range(self.m):
            word, shift = divmod(t * SUB_BITS, 64)
            sub = ((cols[word] >> np.uint64(shift)) & np.uint64(_KEYS - 1)).astype(np.uint16)
            self._order.append(np.argsort(sub, kind="stable").astype(np.int32))
            self._offsets.append(np.concatenate(([0], np.cumsum(np.bincount(sub, minlength=_KEYS)))).astype(np.int64))
            self._subs.append(sub)
        # The substrings themselves are only needed to build the tables.
        self._subs = []

    # The brute-force index's read-only API, unchanged.
    ids = property(lambda self: self.base.ids)
    codes = property(lambda self: self.base.codes)
    bits = property(lambda self: self.base.bits)
    words = property(lambda self: self.base.words)
    backend = property(lambda self: "mih+" + self.base.backend)

    def __len__(self) -> int:
        return len(self.base)

    def distances(self, query: np.ndarray) -> np.ndarray:
        return self.base.distances(query)

    def search_many(self, queries: np.ndarray, k: int, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        qs = np.asarray(queries, dtype=np.uint64)
        qs = qs.reshape(1, -1) if qs.ndim == 1 else qs
        n = len(self)
        width = n if k <= 0 or k >= n else k
        ids = np.full((qs.shape[0], width), -1, dtype=np.int64)
        dists = np.full((qs.shape[0], width), -1, dtype=np.int32)
        for i, q in enumerate(qs):
            r_ids, r_d = self.search(q, k, mask)
            ids[i, : r_ids.shape[0]] = r_ids
            dists[i, : r_d.shape[0]] = r_d
        return ids, dists

    @property
    def table_bytes(self) -> int:
        """RAM the tables add to the codes."""
        return sum(o.nbytes for o in self._order) + sum(o.nbytes for o in self._offsets)

    def search(self, query: np.ndarray, k: int, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-k ``(ids, distances)`` ordered by (distance, row position), as HammingIndex."""
        n = len(self)
        if n == 0 or k <= 0 or k >= n:
            return self.base.search(query, k, mask)
        found = self._probe(query, k, mask)
        if found is None:
            self.last_path = "scan"
            return self.base.search(query, k, mask)
        self.last_path = "mih"
        pos, dist = found
        # Order by (distance, row): one int64 key, partitioned to k, then sorted.
        key = dist.astype(np.int64) * n + pos
        if key.shape[0] > k:
            key = np.partition(key, k - 1)[:k]
        key.sort()
        dist, pos = np.divmod(key, n)
        return self.base.ids[pos], dist.astype(np.int32)

    def _probe(self, query: np.ndarray, k: int, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray] | None:
        """Rows surely holding the exact top k, with distances; None when a scan is cheaper."""
        q = self.base._query(query)  # noqa: SLF001 - validated, padding cleared
        m_mask = self.base._mask(mask)  # noqa: SLF001
        cols = self.base._cols  # noqa: SLF001
        n = len(self)
        keys = []
        for t in range(self.m):
            word, shift = divmod(t * SUB_BITS, 64)
            keys.append(np.uint16((int(q[word]) >> shift) & (_KEYS - 1)))
        budget = n // _SCAN_FRACTION
        if self.base._sample is not None:  # noqa: SLF001
            # The scan's row sample says the k-th distance is about t, so probing would
            # reach radius ceil((t + 1) / m) - 1.  If the buckets up to there hold too many
            # rows, only a cheap attempt is made (the sample cannot see small tight
            # clusters, which probing finds at once) before the scan answers.
            t = self.base._estimate_threshold(q, k, m_mask)  # noqa: SLF001
            need = max(0, -(-(t + 1) // self.m) - 1)
            planned = 0
            for r in range(min(need, SUB_BITS) + 1):
                for t_ in range(self.m):
                    buckets = (keys[t_] ^ _FLIPS[r]).astype(np.int64)
                    planned += int((self._offsets[t_][buckets + 1] - self._offsets[t_][buckets]).sum())
            if planned > budget:
                budget = n // _ATTEMPT_FRACTION
        opened = 0
        seen = _visited(n)  # per-thread bytemap: a row in several tables' buckets is scored once
        touched: list[np.ndarray] = []
        pos_parts: list[np.ndarray] = []
        dist_parts: list[np.ndarray] = []
        try:
            for r in range(SUB_BITS + 1):
                flips = _FLIPS[r]
                ranges = []
                for t in range(self.m):
                    buckets = (keys[t] ^ flips).astype(np.int64)
                    starts = self._offsets[t][buckets]
                    lengths = self._offsets[t][buckets + 1] - starts
                    opened += int(lengths.sum())
                    ranges.append((t, starts, lengths))
                if opened > budget:
                    return None
                for t, starts, lengths in ranges:
                    rows = _ragged_positions(self._order[t], starts, lengths)
                    rows = rows[seen[rows] == 0]
                    seen[rows] = 1
                    touched.append(rows)
                    if m_mask is not None:
                        rows = rows[m_mask[rows]]
                    if rows.shape[0] == 0:
                        continue
                    rows.sort()  # ascending rows: the gathers below walk memory forwards
                    d = np.bitwise_count(cols[0][rows] ^ q[0])
                    for w in range(1, cols.shape[0]):
                        d += np.bitwise_count(cols[w][rows] ^ q[w])
                    pos_parts.append(rows)
                    dist_parts.append(d)
                if not pos_parts:
                    continue
                bound = self.m * (r + 1) - 1  # every row this close has been seen
                pos = np.concatenate(pos_parts)
                dist = np.concatenate(dist_parts)
                pos_parts, dist_parts = [pos], [dist]
                keep = dist <= bound
                if np.count_nonzero(keep) >= k:
                    return pos[keep], dist[keep]
            return None
        finally:
            for rows in touched:
                seen[rows] = 0


_tls = threading.local()


def _visited(n: int) -> np.ndarray:
    """This thread's zeroed bytemap of n rows (reused: callers clear what they set)."""
    buf = getattr(_tls, "seen", None)
    if buf is None or buf.shape[0] < n:
        buf = np.zeros(n, dtype=np.uint8)
        _tls.seen = buf
    return buf[:n]


def build_index(ids: np.ndarray, codes: np.ndarray, bits: int, min_rows: int = MIH_MIN_ROWS) -> HammingIndex | MultiIndexHamming:
    """The index a searcher should use: brute force, plus MIH tables for big libraries."""
    base = HammingIndex(ids, codes, bits)
    if len(base) >= min_rows and bits % SUB_BITS == 0:
        return MultiIndexHamming(base)
    return base
