"""10 million codes: exact multi-index hashing vs the brute-force scan, random and clustered codes.

Usage: python bench/mih_bench.py [--n 10000000] [--bits 64] [--k 100] [--queries 30]

Two code sets, both N codes of K bits:

* random    — uniform bits: the worst case for multi-index hashing (every bucket is full
              and the k-th distance is large), reported because it is the honest bound;
* clustered — like real codes: near-copies (each bit flipped with p = 1/8) of N/1000
              cluster centres of Zipf-like sizes; queries are fresh near-copies of
              centres drawn as often as photos are (a text query lands near a topic, not on a photo);
* tight     — the same with p = 1/16 (tighter topics, many near-duplicates).

For each set, in the same process and interleaved: HammingIndex (the exact scan,
faiss-assisted), MultiIndexHamming (exact MIH, falling back to the scan when probing
would cost more), and both with a folder filter (a contiguous 10% of rows) and a tag
filter (a scattered 10%).  Every answer of MIH is checked against the scan's.
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
from engine.search.mih import MultiIndexHamming  # noqa: E402

TARGET_MS = 10.0


def random_words(rng, shape) -> np.ndarray:
    return rng.integers(0, np.iinfo(np.uint64).max, size=shape, dtype=np.uint64, endpoint=True)


def noise(rng, shape, ands: int) -> np.ndarray:
    """Words whose bits are each set with p = 1/2**ands (AND of that many random words)."""
    out = random_words(rng, shape)
    for _ in range(ands - 1):
        out &= random_words(rng, shape)
    return out


def clustered(rng, n: int, w: int, ands: int) -> tuple[np.ndarray, np.ndarray]:
    centres = max(100, n // 1000)  # ~1,000 photos per topic on average
    c = random_words(rng, (centres, w))
    sizes = 1.0 / np.arange(1, centres + 1) ** 0.8
    labels = rng.choice(centres, size=n, p=sizes / sizes.sum())
    codes = c[labels]
    for j in range(w):
        codes[:, j] ^= noise(rng, n, ands)
    return codes, c[rng.choice(centres, size=64, p=sizes / sizes.sum())]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--bits", type=int, default=64)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--queries", type=int, default=30)
    ap.add_argument("--sets", default="tight,clustered,random")
    args = ap.parse_args(argv)
    w = n_words(args.bits)
    assert args.bits % 64 == 0, "this benchmark draws whole 64-bit words"
    rng = np.random.default_rng(0)
    ids = np.arange(args.n, dtype=np.int64)
    folder = np.zeros(args.n, dtype=bool)
    folder[args.n // 3 : args.n // 3 + args.n // 10] = True
    tag = rng.random(args.n) < 0.10

    results = {}
    for name in args.sets.split(","):
        if name == "random":
            codes = random_words(rng, (args.n, w))
            queries = random_words(rng, (args.queries, w))
        else:
            ands = {"clustered": 3, "tight": 4}[name]
            codes, centres = clustered(rng, args.n, w, ands)
            queries = centres[rng.integers(0, len(centres), args.queries)] ^ noise(rng, (args.queries, w), ands)
            del centres
        t = time.perf_counter()
        scan = HammingIndex(ids, codes, args.bits)
        scan_build = time.perf_counter() - t
        t = time.perf_counter()
        mih = MultiIndexHamming(scan)
        mih_build = time.perf_counter() - t
        del codes
        for q in queries[:3]:  # warm-up
            scan.search(q, args.k)
            mih.search(q, args.k)
        times = {key: [] for key in ("scan", "mih", "scan_folder", "mih_folder", "scan_tag", "mih_tag")}
        exact, probed = True, 0
        for i, q in enumerate(queries):
            runs = [
                ("scan", scan, None),
                ("mih", mih, None),
                ("scan_folder", scan, folder),
                ("mih_folder", mih, folder),
                ("scan_tag", scan, tag),
                ("mih_tag", mih, tag),
            ]
            if i % 2:
                runs.reverse()
            answers = {}
            for key, index, mask in runs:
                t = time.perf_counter()
                answers[key] = index.search(q, args.k, mask)
                times[key].append(time.perf_counter() - t)
                if key == "mih":
                    probed += mih.last_path == "mih"
            for suffix in ("", "_folder", "_tag"):
                a, b = answers["scan" + suffix], answers["mih" + suffix]
                exact &= bool(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]))
        med = {key: float(np.median(v) * 1e3) for key, v in times.items()}
        results[name] = {
            **{f"{key}_median_ms": round(v, 2) for key, v in med.items()},
            "mih_probed_fraction": round(probed / args.queries, 2),
            "exact": exact,
            "kth_distance_median": int(np.median([scan.search(q, args.k)[1][-1] for q in queries[:10]])),
            "scan_build_s": round(scan_build, 2),
            "mih_build_s": round(mih_build, 2),
            "mih_table_bytes_per_photo": round(mih.table_bytes / args.n, 2),
            "folder_ratio": round(med["mih_folder"] / med["mih"], 2),
            "tag_ratio": round(med["mih_tag"] / med["mih"], 2),
        }
        del scan, mih

    print(f"{args.n:,} codes of {args.bits} bits, top-{args.k}, {args.queries} queries, one at a time")
    cols = ["scan", "mih", "scan_folder", "mih_folder", "scan_tag", "mih_tag"]
    print(f"{'codes':<11}" + "".join(f"{c:>13}" for c in cols) + f"{'probed':>8}{'k-th d':>8}{'exact':>7}")
    for name, r in results.items():
        print(
            f"{name:<11}"
            + "".join(f"{r[c + '_median_ms']:>13.2f}" for c in cols)
            + f"{r['mih_probed_fraction']:>8.2f}{r['kth_distance_median']:>8}{str(r['exact']):>7}"
        )
    print(
        "(median ms; folder = a contiguous 10% of rows, tag = a scattered 10%; MIH tables "
        f"{next(iter(results.values()))['mih_table_bytes_per_photo']} bytes/photo on top of the codes)"
    )
    best = {name: min(r["mih_median_ms"], r["scan_median_ms"]) for name, r in results.items()}
    summary = {
        "benchmark": "mih_10m",
        "n": args.n,
        "bits": args.bits,
        "k": args.k,
        "queries": args.queries,
        **results,
        "target_ms": TARGET_MS,
        "meets_target": {name: v <= TARGET_MS for name, v in best.items()},
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
