"""Indexing throughput: end-to-end encoding vs the backbone's forward pass alone, same run.

Usage: python bench/indexing_bench.py [--backbone standin|tiny|ViT-B-32] [--photos 96] [--size 1600x1200]

Writes N distinct JPEG photos under /tmp, scans them into a fresh library (not timed),
then times, alternating, in one process with the same loaded backbone:

* forward only — the model on already decoded, preprocessed batches (the ceiling)
* end to end   — encode_missing(): decode + resize in worker threads, forward passes,
                 embeddings (and pooled tokens) written to SQLite and the feature cache

Prints a table, then as its last line one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SCENES = Path(__file__).resolve().parents[2] / "shared" / "benchmark" / "scenes-s0"
TARGET_RATIO = 0.90


def spec_for(name: str):
    from engine.models.backbones import BackboneSpec

    if name == "standin":
        from engine.training.benchmark import standin_backbone

        return standin_backbone(SCENES)
    if name == "tiny":
        return BackboneSpec.from_args("tiny")
    return BackboneSpec(arch=name)  # random weights: the cost does not depend on them


def make_photos(root: Path, n: int, size: tuple[int, int]) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        small = rng.integers(0, 256, size=(12, 16, 3), dtype=np.uint8)
        image = Image.fromarray(small).resize(size, Image.BILINEAR)
        image.save(root / f"IMG_{i:05d}.jpg", quality=90)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backbone", default="standin")
    ap.add_argument("--photos", type=int, default=96)
    ap.add_argument("--size", default="1600x1200")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--dir", default="/tmp/bitlens-indexing-bench")
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.size.split("x"))

    import torch

    from engine.jobs import Reporter
    from engine.library.indexing import encode_missing
    from engine.facade import BitLens

    from engine.library.report import ScanReport
    from engine.models.backbones import Backbone
    from engine.pixels.decode import load_rgb

    base = Path(args.dir)
    photos = base / f"photos-{args.photos}-{args.size}"
    if not (photos / f"IMG_{args.photos - 1:05d}.jpg").is_file():
        shutil.rmtree(photos, ignore_errors=True)
        make_photos(photos, args.photos, (w, h))
    spec = spec_for(args.backbone)
    backbone = Backbone(spec, device="cpu")
    paths = sorted(str(p) for p in photos.glob("*.jpg"))
    t = time.perf_counter()
    tensors = torch.stack([backbone.preprocess(load_rgb(p, backbone.image_size)) for p in paths])
    decode_rate = len(paths) / (time.perf_counter() - t)  # one thread

    def forward_only() -> float:
        t = time.perf_counter()
        for start in range(0, len(paths), args.batch):
            backbone.encode_images_with_tokens(tensors[start : start + args.batch])
        return time.perf_counter() - t

    def end_to_end(round_: int) -> float:
        lib_dir = base / f"library-{round_}"
        shutil.rmtree(lib_dir, ignore_errors=True)
        with BitLens(lib_dir) as library:
            library.add_folder(photos)
            library.scan()
            report = ScanReport()
            t = time.perf_counter()
            encode_missing(library.store, library.paths.cache, spec, lambda: backbone, report, Reporter(None), None, batch_size=args.batch)
            seconds = time.perf_counter() - t
            assert report.encoded == len(paths), report.encoded
        shutil.rmtree(lib_dir, ignore_errors=True)
        return seconds

    forward_only()  # warm-up (allocator, kernels)
    fwd, e2e = [], []
    for r in range(args.rounds):
        if r % 2 == 0:
            fwd.append(forward_only())
            e2e.append(end_to_end(r))
        else:
            e2e.append(end_to_end(r))
            fwd.append(forward_only())
    n = len(paths)
    fwd_rate, e2e_rate = n / float(np.median(fwd)), n / float(np.median(e2e))
    ratio = e2e_rate / fwd_rate
    # Both stages need the same cores: the best a perfect overlap can do on C cores is
    # C / (C / forward rate + 1 / decode rate per core), as a share of forward only.
    cores = os.cpu_count() or 1
    bound = cores / (cores / fwd_rate + 1 / decode_rate) / fwd_rate
    print(
        f"indexing {n} photos of {args.size}, backbone {spec.label}, batch {args.batch}, "
        f"{torch.get_num_threads()} torch threads, {os.cpu_count()} CPUs, {args.rounds} rounds"
    )
    print(f"{'path':<40}{'photos/s':>10}")
    print(f"{'forward only (pre-decoded batches)':<40}{fwd_rate:>10.1f}")
    print(f"{'end to end (decode+forward+writes)':<40}{e2e_rate:>10.1f}")
    print(f"{'decode + preprocess, one thread':<40}{decode_rate:>10.1f}")
    print(f"end to end / forward only: {ratio:.2f} (target ≥ {TARGET_RATIO}); the most {cores} shared cores allow: {bound:.2f}")
    summary = {
        "benchmark": "indexing",
        "backbone": args.backbone,
        "photos": n,
        "size": args.size,
        "batch": args.batch,
        "forward_photos_per_s": round(fwd_rate, 2),
        "end_to_end_photos_per_s": round(e2e_rate, 2),
        "decode_photos_per_s_one_thread": round(decode_rate, 2),
        "ratio": round(ratio, 3),
        "cpu_bound_ratio": round(bound, 3),
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio >= TARGET_RATIO,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
