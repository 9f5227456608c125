"""CPU image tower: eager fp32 torch vs ONNX Runtime fp32 and int8, speed and scenes mAP.

Usage: python bench/onnx_bench.py [--arch ViT-B-32] [--batch 16] [--repeats 3] [--skip-map]

Speed: the same random batch through the three paths, interleaved, best of --repeats
(random weights: the cost does not depend on them).  Quality: the scenes-s0 benchmark
with the offline stand-in CLIP: every image embedded by eager fp32 and by ONNX int8,
the same 64-bit ITQ projection (fitted on the fp32 database embeddings), and mAP@all
of the 60 text queries and the 500 query images, for both.
Needs `pip install onnx onnxruntime`.  Last line: one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
BENCH = REPO.parent / "shared" / "benchmark"
TARGET_SPEEDUP = 2.0
TARGET_MAP_DROP = 0.01


def speed(arch: str, batch: int, repeats: int, folder: Path) -> dict:
    import torch

    from engine.models.backbones import Backbone, BackboneSpec
    from engine.models.onnx_tower import OnnxImageTower

    backbone = Backbone(BackboneSpec(arch=arch), device="cpu")
    x = torch.randn(batch, 3, backbone.image_size, backbone.image_size)
    paths = {"eager_fp32": backbone, "onnx_fp32": OnnxImageTower(backbone, folder, int8=False), "onnx_int8": OnnxImageTower(backbone, folder, int8=True)}
    best = {k: float("inf") for k in paths}
    for tower in paths.values():
        tower.encode_images_with_tokens(x)  # warm-up
    for r in range(repeats):
        for name in list(paths) if r % 2 == 0 else list(reversed(paths)):
            t = time.perf_counter()
            paths[name].encode_images_with_tokens(x)
            best[name] = min(best[name], time.perf_counter() - t)
    ref = backbone.encode_images(x)
    cos = {name: float(np.min(np.sum(paths[name].encode_images(x) * ref, axis=1))) for name in ("onnx_fp32", "onnx_int8")}
    return {
        "arch": arch,
        "batch": batch,
        **{f"{k}_photos_per_s": round(batch / v, 2) for k, v in best.items()},
        "int8_speedup": round(best["eager_fp32"] / best["onnx_int8"], 2),
        "onnx_fp32_speedup": round(best["eager_fp32"] / best["onnx_fp32"], 2),
        "min_cosine_to_fp32": {k: round(v, 4) for k, v in cos.items()},
    }


def scenes_map(folder: Path) -> dict:
    import torch

    from engine.models.backbones import Backbone
    from engine.pixels.decode import load_rgb
    from engine.models.onnx_tower import OnnxImageTower
    from engine.models.projection import fit_itq
    from engine.codes.bits import pack_bits
    from engine.training.benchmark import standin_backbone
    from engine.training.metrics import mean_average_precision

    scenes = BENCH / "scenes-s0"
    gt = json.loads((scenes / "ground_truth.json").read_text(encoding="utf-8"))
    spec = standin_backbone(scenes)
    backbone = Backbone(spec, device="cpu")
    int8 = OnnxImageTower(backbone, folder, int8=True)
    images = gt["images"]
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        pixels = torch.stack(list(pool.map(lambda im: backbone.preprocess(load_rgb(str(scenes / im["path"]), backbone.image_size)), images)))
    labels = np.array([im["label_vector"] for im in images], dtype=bool)
    is_query = np.array([im["split"] == "query" for im in images])
    emb = {}
    for name, tower in (("fp32", backbone), ("int8", int8)):
        emb[name] = np.concatenate([tower.encode_images(pixels[s : s + 64]) for s in range(0, len(images), 64)])
    itq = fit_itq(emb["fp32"][~is_query], bits=64)
    concept_index = {c["id"]: c["index"] for c in gt["concepts"]}
    db_labels, q_labels = labels[~is_query], labels[is_query]
    text_rel, text_codes = [], []
    for query in gt["text_queries"]:
        wanted = np.zeros(labels.shape[1], dtype=bool)
        wanted[[concept_index[c] for c in query["concepts"]]] = True
        text_rel.append((db_labels & wanted).any(axis=1))
        text_codes.append(pack_bits(itq.encode(backbone.encode_texts([f"a photo of {query['text']}"])))[0])
    image_rel = (q_labels.astype(np.float32) @ db_labels.T.astype(np.float32)) > 0
    out = {}
    for name, e in emb.items():
        codes = pack_bits(itq.encode(e))
        db, q = codes[~is_query], codes[is_query]
        text_d = np.stack([np.bitwise_count(db ^ c).sum(axis=1) for c in text_codes])
        image_d = np.stack([np.bitwise_count(db ^ c).sum(axis=1) for c in q])
        out[f"text_map_{name}"] = round(mean_average_precision(text_d, np.array(text_rel)), 4)
        out[f"image_map_{name}"] = round(mean_average_precision(image_d, image_rel), 4)
    out["text_map_change_points"] = round(100 * (out["text_map_int8"] - out["text_map_fp32"]), 2)
    out["image_map_change_points"] = round(100 * (out["image_map_int8"] - out["image_map_fp32"]), 2)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="ViT-B-32")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-map", action="store_true")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    import logging

    logging.getLogger().setLevel(logging.ERROR)  # the quantiser's advice to pre-process
    with tempfile.TemporaryDirectory(prefix="bitlens-onnx-") as tmp:
        figures = speed(args.arch, args.batch, args.repeats, Path(tmp))
        if not args.skip_map:
            figures.update(scenes_map(Path(tmp)))
    print(f"image tower {figures['arch']}, batch {figures['batch']}, {os.cpu_count()} CPUs")
    print(f"{'path':<14}{'photos/s':>10}")
    for k in ("eager_fp32", "onnx_fp32", "onnx_int8"):
        print(f"{k:<14}{figures[k + '_photos_per_s']:>10.2f}")
    print(f"int8 speed-up over eager fp32: {figures['int8_speedup']}x (target ≥ {TARGET_SPEEDUP}x); min cosine to fp32 {figures['min_cosine_to_fp32']}")
    if "text_map_fp32" in figures:
        print(
            f"scenes mAP (64-bit ITQ, stand-in CLIP): text→image fp32 {figures['text_map_fp32']} int8 {figures['text_map_int8']} "
            f"({figures['text_map_change_points']:+} points); image→image fp32 {figures['image_map_fp32']} int8 {figures['image_map_int8']} "
            f"({figures['image_map_change_points']:+} points)"
        )
        figures["meets_map_target"] = min(figures["text_map_change_points"], figures["image_map_change_points"]) >= -100 * TARGET_MAP_DROP
    figures["benchmark"] = "onnx_image_tower"
    figures["meets_speed_target"] = figures["int8_speedup"] >= TARGET_SPEEDUP
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
