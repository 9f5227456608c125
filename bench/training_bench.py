"""Training and encoding speed: head-only training from cached features, fine-tuning, encoding.

Synthetic, so it runs anywhere without data: N photos with random CLIP-sized features
and clustered tags (the training code cannot tell), and generated JPEGs for encoding.
On a GPU it also measures a ViT-B-32-sized backbone (random weights; the speed is the
same as with pretrained ones).

    .venv/bin/python bench/training_bench.py --photos 10000 --epochs 10            # head, this CPU
    python bench/training_bench.py --device cuda --photos 10000 --encode 4000 --finetune

Prints a table; the last line is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def synthetic_data(n: int, dim: int, vocabulary: int = 1500, seed: int = 0):
    """Photos in `vocabulary // 8` visual clusters, tagged like scenes-s0's photos; 10% untagged.

    A tagged photo has about 4 tags on average, one in ten 8 or more, up to about 16 (as
    in scenes-s0), drawn from its cluster's 8 tags and, past those, from anywhere.
    """
    from engine.training.data import TrainingData

    rng = np.random.default_rng(seed)
    per_cluster = 8
    clusters = max(1, vocabulary // per_cluster)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    which = rng.integers(0, clusters, n)
    embeddings = centres[which] + 0.8 * rng.standard_normal((n, dim)).astype(np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    tokens = (embeddings[:, None, :] + 0.3 * rng.standard_normal((n, 14, dim)).astype(np.float32)).astype(np.float32)
    tag_lists = []
    for c in which:
        if rng.random() < 0.1:
            tag_lists.append([])
            continue
        count = 1 + int(rng.poisson(2.5)) if rng.random() < 0.88 else 8 + int(rng.poisson(2))
        own = rng.choice(per_cluster, size=min(count, per_cluster), replace=False) + int(c) * per_cluster
        extra = rng.integers(0, clusters * per_cluster, max(0, count - per_cluster))
        tag_lists.append(sorted(set(own.tolist()) | set(extra.tolist())))
    vocabulary = clusters * per_cluster
    vocab_embeddings = rng.standard_normal((vocabulary, dim)).astype(np.float32)
    vocab_embeddings /= np.linalg.norm(vocab_embeddings, axis=1, keepdims=True)
    tagged = np.array([i for i, t in enumerate(tag_lists) if t])
    held = rng.permutation(tagged)[: len(tagged) // 10]
    train = np.setdiff1d(np.arange(n), held)
    return TrainingData(
        [f"{i:032x}" for i in range(n)], embeddings, tokens, [f"tag{i}" for i in range(vocabulary)], tag_lists, vocab_embeddings, train, np.sort(held)
    )


def time_head(n: int, dim: int, epochs: int | None, device: str, overrides: dict | None = None, vocabulary: int = 1500) -> dict:
    """One head-effort run as the app starts it (set-up, training, validation, checkpoints), timed."""
    from engine.models.hashing import HashingConfig
    from engine.training.budget import default_epochs
    from engine.training.trainer import Trainer

    data = synthetic_data(n, dim, vocabulary)
    config = HashingConfig.load(overrides=overrides)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        trainer = Trainer(data, config, 64, Path(tmp) / "run.safetensors", device=device)
        setup = time.perf_counter() - started
        state = trainer.train(epochs or default_epochs(len(trainer.train_index), config.training))
        seconds = time.perf_counter() - started
    done = state.epochs_done
    return {
        "photos": n,
        "vocabulary": vocabulary,
        "epochs": done,
        "steps": done * math.ceil(len(data.train) / trainer.batch_size),
        "seconds": round(seconds, 1),
        "setup_s": round(setup, 1),
        "per_epoch_s": round((seconds - setup) / done, 2),
        "image_map": round(state.metrics.get("image_map", float("nan")), 3),
    }


def make_jpegs(folder: Path, count: int, size=(1600, 1200)) -> list[str]:
    from PIL import Image

    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (size[1] // 8, size[0] // 8, 3), dtype=np.uint8)
    paths = []
    for i in range(count):
        path = folder / f"IMG_{i:05d}.jpg"
        if not path.exists():
            tile = np.roll(base, i, axis=1)
            Image.fromarray(tile).resize(size).save(path, quality=88)
        paths.append(str(path))
    return paths


def time_encoding(device: str, count: int, arch: str) -> dict:
    import torch

    from engine.models.backbones import Backbone, BackboneSpec
    from engine.models.encoder import ImageEncoder

    backbone = Backbone(BackboneSpec(arch=arch), device=device)
    batch = torch.randn(256, 3, backbone.image_size, backbone.image_size)
    for _ in range(2):
        backbone.encode_images_with_tokens(batch)
    if device == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    rounds = max(1, count // 256)
    for _ in range(rounds):
        backbone.encode_images_with_tokens(batch)
    if device == "cuda":
        torch.cuda.synchronize()
    forward = rounds * 256 / (time.perf_counter() - started)
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_jpegs(Path(tmp), count)
        encoder = ImageEncoder(backbone, batch_size=256, workers=min(16, os.cpu_count() or 2))
        started = time.perf_counter()
        done = sum(len(b.indices) for b in encoder.encode(paths))
        end_to_end = done / (time.perf_counter() - started)
    return {"arch": arch, "forward_photos_s": round(forward, 1), "end_to_end_photos_s": round(end_to_end, 1), "photos": count}


def time_finetune(device: str, n: int, arch: str, blocks: int, epochs: int) -> dict:
    """One fine-tuning run of the last `blocks` blocks on synthetic pixels (stems computed once)."""
    import torch

    from engine.models.backbones import Backbone, BackboneSpec
    from engine.models.hashing import HashingConfig
    from engine.training.tower import ImageTower, PixelInputs
    from engine.training.trainer import Trainer

    backbone = Backbone(BackboneSpec(arch=arch), device=device)
    tower = ImageTower(backbone.model.visual, blocks)
    data = synthetic_data(n, backbone.embed_dim)
    inputs = PixelInputs.__new__(PixelInputs)  # synthetic pixels: no files to read
    inputs.tower, inputs.device = tower, backbone.device
    inputs.valid = np.ones(n, dtype=bool)
    started = time.perf_counter()
    chunks = []
    for start in range(0, n, 256):
        pixels = torch.randn(min(256, n - start), 3, backbone.image_size, backbone.image_size, device=backbone.device)
        with torch.autocast("cuda", dtype=torch.float16, enabled=device == "cuda"):
            chunks.append(tower.stem(pixels).to(torch.float16))
    inputs.data = torch.cat(chunks)
    stem_seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(data, HashingConfig.load(), 64, Path(tmp) / "run.safetensors", device=device, tower=tower, pixels=inputs)
        started = time.perf_counter()
        trainer.train(epochs)
        seconds = time.perf_counter() - started
    return {
        "arch": arch,
        "photos": n,
        "blocks": blocks,
        "epochs": epochs,
        "stem_seconds": round(stem_seconds, 1),
        "train_seconds": round(seconds, 1),
        "per_epoch_s": round(seconds / epochs, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--photos", type=int, default=10000)
    parser.add_argument("--epochs", type=int, help="training epochs (default: as the app chooses them for this many photos)")
    parser.add_argument("--vocabulary", type=int, default=1500, help="tags in the vocabulary (scenes-s0's 5,000 photos have 1,282)")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="hashing config override")
    parser.add_argument("--dim", type=int, default=512, help="feature size (512 = ViT-B-32)")
    parser.add_argument("--encode", type=int, default=0, help="also time encoding this many generated photos")
    parser.add_argument("--arch", default="ViT-B-32")
    parser.add_argument("--finetune", action="store_true", help="also time fine-tuning the last blocks")
    parser.add_argument("--blocks", type=int, default=2)
    args = parser.parse_args()

    import torch

    figures: dict = {"device": args.device, "torch": torch.__version__}
    if args.device == "cuda":
        figures["gpu"] = torch.cuda.get_device_name(0)
    from engine.models.config import parse_overrides

    figures["head"] = h = time_head(args.photos, args.dim, args.epochs, args.device, parse_overrides(args.set), args.vocabulary)
    print(
        f"head training, {args.photos} photos, {args.vocabulary} tags, {h['epochs']} epochs ({h['steps']} steps) on {args.device}: "
        f"{h['seconds']} s (set-up {h['setup_s']} s, {h['per_epoch_s']} s/epoch)"
    )
    if args.encode:
        figures["encoding"] = time_encoding(args.device, args.encode, args.arch)
        e = figures["encoding"]
        print(f"encoding {args.arch}: forward only {e['forward_photos_s']} photos/s, end to end (decode 1600×1200 JPEGs) {e['end_to_end_photos_s']} photos/s")
    if args.finetune:
        figures["finetune"] = time_finetune(args.device, args.photos, args.arch, args.blocks, max(1, (args.epochs or 10) // 5))
        f = figures["finetune"]
        print(f"finetune {args.arch} last {f['blocks']} blocks, {f['photos']} photos: stems {f['stem_seconds']} s, {f['per_epoch_s']} s/epoch")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
