"""Benchmark BitLens's HammingIndex.search against faiss.IndexBinaryFlat, one query at a time.

Usage: python bench/search_bench.py [--n 1000000] [--bits 64] [--k 100] [--queries 200] [--seed 0]

Both engines answer the same random queries over the same random codes, alternating
which goes first on each query so machine noise (and cache warmth) hits both alike.
Prints a table, then as its last line one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.search.hamming import HammingIndex  # noqa: E402
from engine.codes.bits import n_words


def random_codes(rng: np.random.Generator, n: int, bits: int) -> np.ndarray:
    """Uniform random packed codes (n, W) with the padding bits cleared."""
    w = n_words(bits)
    codes = rng.integers(0, np.iinfo(np.uint64).max, size=(n, w), dtype=np.uint64, endpoint=True)
    if bits % 64:
        codes[:, -1] &= np.uint64((1 << (bits % 64)) - 1)
    return codes


def to_faiss_bytes(codes: np.ndarray, bits: int) -> np.ndarray:
    """Packed uint64 codes (n, W) -> (n, bits/8) uint8 rows, faiss's binary layout."""
    raw = np.ascontiguousarray(codes.astype("<u8", copy=False)).view(np.uint8)
    return np.ascontiguousarray(raw[:, : bits // 8])


def reference_topk(codes: np.ndarray, q: np.ndarray, k: int, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Exact ranking by (distance, position), the documented tie-break, restricted to mask."""
    d = np.bitwise_count(codes ^ q).sum(axis=1, dtype=np.int64)
    order = np.lexsort((np.arange(codes.shape[0]), d))
    if mask is not None:
        order = order[mask[order]]
    order = order[:k]
    return order, d[order]


def stats_ms(samples: list[float]) -> tuple[float, float]:
    """Median and 95th percentile of timings in seconds, as milliseconds."""
    arr = np.asarray(samples) * 1e3
    return float(np.median(arr)), float(np.percentile(arr, 95))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table and the JSON summary line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--bits", type=int, default=64)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--backend", choices=("auto", "numpy", "faiss"), default="auto")
    ap.add_argument("--threads", type=int, default=None, help="threads per query (default: cores)")
    ap.add_argument(
        "--faiss-threads",
        type=int,
        default=1,
        help="OpenMP threads for the faiss baseline; 0 keeps faiss's default. One query "
        "gains nothing from more, and an idle OpenMP team spin-waits on the other core.",
    )
    ap.add_argument("--check", type=int, default=3, help="queries checked id-for-id (ties too)")
    args = ap.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    codes = random_codes(rng, args.n, args.bits)
    queries = random_codes(rng, args.queries, args.bits)
    folder = rng.random(args.n) < 0.10  # a scattered 10% filter (a tag, a camera)
    runs = np.zeros(args.n, dtype=bool)  # a contiguous 10% filter (a folder, a date span)
    runs[args.n // 3 : args.n // 3 + args.n // 10] = True
    ids = np.arange(args.n, dtype=np.int64)

    t0 = time.perf_counter()
    index = HammingIndex(ids, codes, args.bits, backend=args.backend, threads=args.threads)
    build_s = time.perf_counter() - t0

    try:
        import faiss  # noqa: PLC0415 - optional
    except ImportError:
        faiss = None
    fidx = None
    if faiss is not None:
        if args.faiss_threads > 0:
            faiss.omp_set_num_threads(args.faiss_threads)
        fidx = faiss.IndexBinaryFlat(args.bits)
        fidx.add(to_faiss_bytes(codes, args.bits))
    fq = to_faiss_bytes(queries, args.bits)

    for i in range(min(5, args.queries)):  # warm caches, thread pool, OpenMP
        index.search(queries[i], args.k)
        index.search(queries[i], args.k, folder)
        if fidx is not None:
            fidx.search(fq[i : i + 1], args.k)

    ours: list[float] = []
    theirs: list[float] = []
    masked: list[float] = []
    in_runs: list[float] = []
    identical: bool | None = True if fidx is not None else None  # None: no faiss to compare
    pc = time.perf_counter
    for i in range(args.queries):
        q = queries[i]
        order = (0, 1, 2, 3) if i % 2 == 0 else (3, 2, 1, 0)
        for which in order:
            if which == 0:
                t = pc()
                _, d_ours = index.search(q, args.k)
                ours.append(pc() - t)
            elif which == 1:
                t = pc()
                index.search(q, args.k, folder)
                masked.append(pc() - t)
            elif which == 3:
                t = pc()
                index.search(q, args.k, runs)
                in_runs.append(pc() - t)
            elif fidx is not None:
                t = pc()
                d_faiss, _ = fidx.search(fq[i : i + 1], args.k)
                theirs.append(pc() - t)
        if fidx is not None:
            same = np.array_equal(d_ours.astype(np.int64), d_faiss[0].astype(np.int64))
            identical = identical and same

    # Id-for-id check (ties included) against the reference ranking, with and without mask.
    exact = True
    for i in range(min(args.check, args.queries)):
        for mask in (None, folder, runs):
            got_ids, got_d = index.search(queries[i], args.k, mask)
            ref_pos, ref_d = reference_topk(codes, queries[i], args.k, mask)
            exact &= bool(np.array_equal(got_ids, ids[ref_pos]) and np.array_equal(got_d, ref_d))

    med, p95 = stats_ms(ours)
    mmed, mp95 = stats_ms(masked)
    rmed, rp95 = stats_ms(in_runs)
    fmed, fp95 = stats_ms(theirs) if theirs else (float("nan"), float("nan"))
    ratio = med / fmed if theirs else float("nan")

    print(
        f"n={args.n} bits={args.bits} k={args.k} queries={args.queries} backend={index.backend} "
        f"threads={index._threads} chunks={len(index._ranges)} build={build_s:.2f}s"
    )  # noqa: SLF001
    print(f"{'engine':<28}{'median ms':>10}{'p95 ms':>10}")
    print(f"{'BitLens HammingIndex':<28}{med:>10.3f}{p95:>10.3f}")
    print(f"{'BitLens, 10% random mask':<28}{mmed:>10.3f}{mp95:>10.3f}")
    print(f"{'BitLens, 10% contiguous':<28}{rmed:>10.3f}{rp95:>10.3f}")
    print(f"{'faiss IndexBinaryFlat':<28}{fmed:>10.3f}{fp95:>10.3f}")
    print(
        f"ratio BitLens/faiss (median): {ratio:.2f}   identical distances: {identical}   exact ids on {min(args.check, args.queries)} queries (+mask): {exact}"
    )
    summary = {
        "n": args.n,
        "bits": args.bits,
        "k": args.k,
        "queries": args.queries,
        "backend": index.backend,
        "median_ms": round(med, 4),
        "p95_ms": round(p95, 4),
        "masked_median_ms": round(mmed, 4),
        "masked_p95_ms": round(mp95, 4),
        "masked_ratio": round(mmed / med, 2),
        "runs_masked_median_ms": round(rmed, 4),
        "runs_masked_ratio": round(rmed / med, 2),
        "faiss_median_ms": round(fmed, 4) if theirs else None,
        "faiss_p95_ms": round(fp95, 4) if theirs else None,
        "ratio": round(ratio, 3) if theirs else None,
        "identical_distances": None if identical is None else bool(identical),
        "exact_ids": exact,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
