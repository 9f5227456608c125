"""Text query end to end: tokenise → text tower → hash head → top-k over N codes.

Usage: python bench/text_query_bench.py [--arch ViT-B-32] [--n 1000000] [--bits 64] [--queries 12]

The text tower is open_clip's ViT-B-32 config with random weights (no download; the
cost does not depend on the weights).  Three paths answer the same queries in the same
process, interleaved so machine noise hits all alike:

* naive   — the full 77-token context through the tower (open_clip's encode_text)
* trimmed — the sequence cut after the end-of-text token (Backbone.encode_texts)
* cached  — a repeated query, answered from the backbone's LRU cache

Each includes the ITQ hash head and the exact top-k ranking over N random codes.
Prints a table, then as its last line one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.models.projection import fit_itq  # noqa: E402
from engine.search.hamming import HammingIndex  # noqa: E402
from engine.codes.bits import pack_bits

TARGET_MS = 30.0
WORDS = [
    "dog",
    "beach at sunset",
    "red car",
    "birthday cake",
    "snowy mountain",
    "old bridge",
    "cat on a sofa",
    "wedding",
    "forest path",
    "city at night",
    "boat",
    "garden flowers",
    "kids playing football",
    "lighthouse",
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="ViT-B-32")
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--bits", type=int, default=64)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--queries", type=int, default=12)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args(argv)

    import torch

    from engine.models.backbones import Backbone, BackboneSpec

    torch.set_num_threads(args.threads)
    backbone = Backbone(BackboneSpec(arch=args.arch), device="cpu")
    rng = np.random.default_rng(0)
    itq = fit_itq(rng.normal(size=(2000, backbone.embed_dim)).astype(np.float32), bits=args.bits)
    codes = pack_bits(rng.integers(0, 2, size=(args.n, args.bits), dtype=np.uint8))
    index = HammingIndex(np.arange(args.n, dtype=np.int64), codes, args.bits)

    def answer(text: str, trim: bool, cache: bool) -> np.ndarray:
        embedding = backbone.encode_texts([f"a photo of {text}"], trim=trim, cache=cache)
        return index.search(pack_bits(itq.encode(embedding))[0], args.k)[0]

    texts = [WORDS[i % len(WORDS)] + ("" if i < len(WORDS) else f" {i}") for i in range(args.queries)]
    answer("warm-up", False, False)
    answer("warm-up", True, False)
    times: dict[str, list[float]] = {"naive": [], "trimmed": [], "cached": []}
    same_results = True
    for i, text in enumerate(texts):
        order = ["naive", "trimmed"] if i % 2 == 0 else ["trimmed", "naive"]
        got = {}
        for path in order:
            t = time.perf_counter()
            got[path] = answer(text, trim=path == "trimmed", cache=False)
            times[path].append(time.perf_counter() - t)
        answer(text, True, True)  # fills the cache
        t = time.perf_counter()
        got["cached"] = answer(text, True, True)
        times["cached"].append(time.perf_counter() - t)
        same_results &= np.array_equal(got["naive"], got["trimmed"]) and np.array_equal(got["naive"], got["cached"])

    med = {k: float(np.median(v) * 1e3) for k, v in times.items()}
    p95 = {k: float(np.percentile(v, 95) * 1e3) for k, v in times.items()}
    print(
        f"text query end to end: {args.arch} text tower (random weights), {args.bits}-bit ITQ, top-{args.k} of {args.n:,} codes, "
        f"{args.queries} queries, torch {args.threads} threads (one-text queries use at most half the cores)"
    )
    print(f"{'path':<10}{'median ms':>11}{'p95 ms':>9}")
    for k in times:
        print(f"{k:<10}{med[k]:>11.2f}{p95[k]:>9.2f}")
    print(f"speed-up trimmed/naive: {med['naive'] / med['trimmed']:.2f}x; identical top-{args.k} on every query: {same_results}")
    summary = {
        "benchmark": "text_query",
        "arch": args.arch,
        "n": args.n,
        "bits": args.bits,
        "k": args.k,
        "queries": args.queries,
        "naive_median_ms": round(med["naive"], 2),
        "trimmed_median_ms": round(med["trimmed"], 2),
        "cached_median_ms": round(med["cached"], 3),
        "trimmed_p95_ms": round(p95["trimmed"], 2),
        "speedup": round(med["naive"] / med["trimmed"], 2),
        "identical_results": bool(same_results),
        "target_ms": TARGET_MS,
        "meets_target": med["trimmed"] <= TARGET_MS,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
