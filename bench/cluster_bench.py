"""Indexing throughput: this computer vs a Ray cluster (in-process, and two simulated nodes), fp32 vs int8.

Usage: python bench/cluster_bench.py [--photos 96] [--arch ViT-B-32] [--batch 16] [--skip-int8] [--skip-nodes]

Every run indexes the same copy of the first N scenes-s0 photos into a fresh library with
a random-weight backbone (the cost does not depend on the weights), in one process:

- local fp32: ``Library.index(precision="fp32")`` on this computer;
- cluster fp32: ``Library.index(cluster="local")``, a Ray started in-process with the
  machine's CPUs, one worker per CPU (workers read photos from the shared path);
- 2 nodes fp32: Ray's own multi-node test helper (``ray.cluster_utils.Cluster``), a head
  and a second node with one CPU each, and ``--cluster HEAD:PORT`` (a real address);
- local int8: the ONNX Runtime int8 tower, the CPU default (its one-off export is timed apart).

Per run: the encode stage's photos/s (first to last committed batch after the workers are
up), end to end photos/s (scan, Ray and worker start, encode, ITQ fit, codes), and the
seconds before encoding began. The last line is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SCENES = REPO.parent / "shared" / "benchmark" / "scenes-s0"
TARGET_OVERHEAD = 0.15


def photo_set(count: int, folder: Path) -> Path:
    """A copy of the first `count` scenes-s0 photos (sorted paths), the same for every run."""
    root = folder / "photos"
    sources = sorted(SCENES.rglob("*.jpg"))[:count]
    for i, source in enumerate(sources):
        target = root / f"part{i % 4}" / f"{i:05d}{source.suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return root


def run(name: str, photos: Path, work: Path, spec, batch: int, **index_args) -> dict:
    """Index `photos` into a fresh library; timings from the progress events."""
    from engine.facade import BitLens

    marks: dict[str, float] = {}
    lines: set[str] = set()

    def progress(event) -> None:
        now = time.perf_counter()
        if event.stage == "encode":
            marks.setdefault("encode_start", now)
            if event.done and "first_batch" not in marks:
                marks["first_batch"] = now
                marks["first_done"] = event.done
            if event.total and event.done >= event.total:
                marks["encode_end"] = now
            lines.add(event.message)

    started = time.perf_counter()
    with BitLens(work / f"library-{name}") as library:
        report = library.index([photos], backbone=spec, batch_size=batch, progress=progress, **index_args)
    total = time.perf_counter() - started
    n = report.encoded
    steady = (n - marks["first_done"]) / (marks["encode_end"] - marks["first_batch"])
    figures = {
        "photos": n,
        "encode_photos_per_s": round(steady, 2),
        "end_to_end_photos_per_s": round(n / total, 2),
        "end_to_end_s": round(total, 1),
        "before_encoding_s": round(marks["encode_start"] - started, 1),
        "line": max(lines, key=len),
    }
    print(
        f"{name:>14}: encode {figures['encode_photos_per_s']:6.2f} photos/s, end to end {figures['end_to_end_photos_per_s']:6.2f} photos/s "
        f"({total:.1f} s, {figures['before_encoding_s']:.1f} s before encoding) — {figures['line']}",
        flush=True,
    )
    return figures


def bytes_per_photo(spec, photos: Path) -> dict:
    """What crosses the network per photo: the result a worker sends back, and a photo's own bytes."""
    import numpy as np

    from engine.models.backbones import Backbone
    from engine.models.encoder import ImageEncoder

    paths = sorted(str(p) for p in photos.rglob("*.jpg"))[:16]
    batch = next(iter(ImageEncoder(Backbone(spec, device="cpu"), batch_size=len(paths)).encode(paths)))
    batch.embeddings = batch.embeddings.astype(np.float16)
    batch.tokens = None if batch.tokens is None else batch.tokens.astype(np.float16)
    return {
        "result_bytes_per_photo": len(pickle.dumps(batch)) // len(paths),
        "path_bytes_per_photo": sum(len(p.encode()) for p in paths) // len(paths),
        "photo_bytes_per_photo (scenes, 128 px)": sum(os.path.getsize(p) for p in paths) // len(paths),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=96)
    parser.add_argument("--arch", default="ViT-B-32")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--skip-int8", action="store_true")
    parser.add_argument("--skip-nodes", action="store_true")
    args = parser.parse_args()

    import warnings

    warnings.filterwarnings("ignore")
    import open_clip  # noqa: F401 - imported before the clock starts: every run below finds it loaded

    from engine.models.backbones import Backbone, BackboneSpec

    spec = BackboneSpec(arch=args.arch)  # random weights: offline, same cost
    work = Path(tempfile.mkdtemp(prefix="bitlens-cluster-bench-"))
    photos = photo_set(args.photos, work)
    results: dict = {"arch": args.arch, "batch": args.batch, "cpus": os.cpu_count(), "photos": args.photos}
    try:
        results["local_fp32"] = run("local fp32", photos, work, spec, args.batch, precision="fp32")
        results["cluster_local_fp32"] = run("cluster fp32", photos, work, spec, args.batch, precision="fp32", cluster="local")
        results["cluster_overhead_encode"] = round(1 - results["cluster_local_fp32"]["encode_photos_per_s"] / results["local_fp32"]["encode_photos_per_s"], 3)
        results["cluster_overhead_end_to_end"] = round(
            1 - results["cluster_local_fp32"]["end_to_end_photos_per_s"] / results["local_fp32"]["end_to_end_photos_per_s"], 3
        )
        print(
            f"cluster overhead: encode stage {results['cluster_overhead_encode']:.1%}, end to end {results['cluster_overhead_end_to_end']:.1%} "
            f"(target ≤ {TARGET_OVERHEAD:.0%} on the encode stage)",
            flush=True,
        )
        if not args.skip_nodes:
            import ray
            from ray.cluster_utils import Cluster as TestCluster

            nodes = TestCluster(initialize_head=True, head_node_args={"num_cpus": 1, "object_store_memory": 100 << 20, "include_dashboard": False})
            nodes.add_node(num_cpus=1, object_store_memory=100 << 20)
            nodes.wait_for_nodes()
            try:  # this process connects the way `--cluster HOST:PORT` does (and disconnects after the run)
                results["two_nodes_fp32"] = run("2 nodes fp32", photos, work, spec, args.batch, precision="fp32", cluster=nodes.address)
            finally:
                if ray.is_initialized():
                    ray.shutdown()
                nodes.shutdown()
        if not args.skip_int8:
            started = time.perf_counter()
            Backbone(BackboneSpec(arch=args.arch, precision="int8"), device="cpu", onnx_dir=work / "onnx").int8_tower()
            results["int8_export_s"] = round(time.perf_counter() - started, 1)
            print(f"int8 export (once per backbone): {results['int8_export_s']} s", flush=True)
            for name in ("local fp32", "local int8"):  # interleaved again: the machine's load drifts
                key = name.replace(" ", "_") + "_again" if name == "local fp32" else "local_int8"
                library_dir = work / f"library-{name}"
                shutil.rmtree(library_dir, ignore_errors=True)
                if name == "local int8":
                    (library_dir / "cache").mkdir(parents=True, exist_ok=True)
                    shutil.copytree(work / "onnx", library_dir / "cache" / "onnx")  # the export above, as a library reuses it
                results[key] = run(name, photos, work, spec, args.batch, precision="fp32" if name == "local fp32" else "int8")
            results["int8_speedup_end_to_end"] = round(
                results["local_int8"]["end_to_end_photos_per_s"] / results["local_fp32_again"]["end_to_end_photos_per_s"], 2
            )
            results["int8_speedup_encode"] = round(results["local_int8"]["encode_photos_per_s"] / results["local_fp32_again"]["encode_photos_per_s"], 2)
            print(f"int8 vs fp32: encode {results['int8_speedup_encode']}×, end to end {results['int8_speedup_end_to_end']}×", flush=True)
        results["network"] = bytes_per_photo(spec, photos)
        print(f"per photo: {results['network']}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
