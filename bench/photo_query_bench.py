"""A photo query from outside the library: decode → backbone over its views → embeddings.

Usage: python bench/photo_query_bench.py [--arch ViT-B-32] [--standin DIR] [--repeats 5]

What search pays once per outside query photo (`engine/models/views.py`): decoding the
file (at reduced size for JPEGs) and one backbone batch of its views. The reference is the
same photo coded from one view (the photo alone), in the same process, interleaved with
the others so machine noise hits all alike. The code model's head and the Hamming scan
cost well under a millisecond and are left out.

Backbones: open_clip's ViT-B-32 config with random weights (no download; the cost does
not depend on the weights) and, if found, the offline stand-in CLIP of the scenes
benchmark. Prints a table, then as its last line one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.models.backbones import Backbone, BackboneSpec  # noqa: E402
from engine.models.views import encode_photo_views  # noqa: E402

COUNTS = (1, 2, 12)


def camera_photo(path: Path, size=(4000, 3000)) -> Path:
    """A 12-megapixel JPEG with smooth colour and noise, like a phone photo in cost to decode."""
    from PIL import Image

    rng = np.random.default_rng(0)
    small = Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)).resize(size, Image.BICUBIC)
    pixels = np.clip(np.asarray(small, np.int16) + rng.integers(-12, 12, (size[1], size[0], 3)), 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(path, quality=90)
    return path


def time_backbone(backbone: Backbone, photo: Path, repeats: int) -> dict[int, float]:
    """Median milliseconds per query photo for each view count."""
    for count in COUNTS:  # warm-up: first calls allocate
        encode_photo_views(backbone, photo, count)
    samples: dict[int, list[float]] = {c: [] for c in COUNTS}
    for _ in range(repeats):
        for count in COUNTS:
            started = time.perf_counter()
            encode_photo_views(backbone, photo, count)
            samples[count].append((time.perf_counter() - started) * 1000)
    return {c: statistics.median(v) for c, v in samples.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="ViT-B-32")
    ap.add_argument("--standin", default=str(Path(__file__).resolve().parents[2] / "shared" / "benchmark" / "backbone"))
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)

    specs = {f"{args.arch} (random weights)": BackboneSpec(arch=args.arch)}
    standin = Path(args.standin)
    if (standin / "scenes-clip-tiny.json").is_file():
        specs["stand-in CLIP (scenes)"] = BackboneSpec.from_args(str(standin / "scenes-clip-tiny.json"), weights=str(standin / "scenes-clip-tiny.safetensors"))
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        photo = camera_photo(Path(tmp) / "IMG_0001.jpg")
        print(f"{'backbone':<28}{'device':>8}" + "".join(f"{f'{c} view' + ('s' if c > 1 else '') + ' ms':>16}" for c in COUNTS))
        for name, spec in specs.items():
            backbone = Backbone(spec)
            times = time_backbone(backbone, photo, args.repeats)
            figures[name] = {"device": backbone.device, **{f"views_{c}_ms": round(t, 1) for c, t in times.items()}}
            print(f"{name:<28}{backbone.device:>8}" + "".join(f"{times[c]:>16.1f}" for c in COUNTS))
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
