"""Near-duplicate finder: precision and recall on planted duplicates.

Takes photos of the scenes benchmark, plants four kinds of copies of some of them (exact
copy, resized to 60%, recompressed as JPEG quality 35, cropped 6% on every side), indexes
everything with the offline stand-in CLIP (ITQ codes), and scores the duplicate groups
pair by pair: a pair is a true duplicate when both photos come from the same original.

    .venv/bin/python bench/duplicates_bench.py [--originals 400] [--planted 60] [--bits 64]

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SCENES = REPO.parent / "shared" / "benchmark" / "scenes-s0"
KINDS = ("copy", "resized", "recompressed", "cropped")


def plant(source: Path, target_dir: Path, kind: str) -> Path:
    """Write one kind of near-copy of `source` into `target_dir`; returns its path."""
    from PIL import Image

    target_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{source.stem}-{kind}"
    with Image.open(source) as image:
        image = image.convert("RGB")
        if kind == "copy":
            out = target_dir / f"{stem}{source.suffix}"
            out.write_bytes(source.read_bytes())
            return out
        if kind == "resized":
            image = image.resize((max(1, round(image.width * 0.6)), max(1, round(image.height * 0.6))), Image.LANCZOS)
            out = target_dir / f"{stem}.png"
            image.save(out)
            return out
        if kind == "recompressed":
            out = target_dir / f"{stem}.jpg"
            image.save(out, quality=35)
            return out
        if kind == "cropped":
            dx, dy = round(image.width * 0.06), round(image.height * 0.06)
            image = image.crop((dx, dy, image.width - dx, image.height - dy))
            out = target_dir / f"{stem}.jpg"
            image.save(out, quality=92)
            return out
    raise ValueError(kind)


def build(work: Path, originals: int, planted: int, seed: int) -> dict[str, str]:
    """Photos under work/Photos; returns path -> id of the original it shows."""
    rng = random.Random(seed)
    pool = sorted(p for p in SCENES.rglob("*.jpg"))
    chosen = rng.sample(pool, originals)
    truth: dict[str, str] = {}
    root = work / "Photos"
    for index, source in enumerate(chosen):
        target = root / "originals" / f"{index:04d}-{source.name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source.read_bytes())
        truth[str(target.resolve())] = str(index)
    for index in rng.sample(range(originals), planted):
        original = next(p for p, o in truth.items() if o == str(index))
        for kind in KINDS:
            copy = plant(Path(original), root / "planted" / kind, kind)
            truth[str(copy.resolve())] = str(index)
    return truth


def score(groups, truth: dict[str, str]) -> dict:
    """Pairwise precision/recall of the groups against the planted truth, and recall per kind."""
    predicted = set()
    for group in groups:
        for a, b in itertools.combinations(sorted(p.path for p in group.photos), 2):
            predicted.add((a, b))
    by_original: dict[str, list[str]] = {}
    for path, original in truth.items():
        by_original.setdefault(original, []).append(path)
    actual = {tuple(sorted(pair)) for paths in by_original.values() for pair in itertools.combinations(paths, 2)}
    hits = predicted & actual
    per_kind = {}
    for kind in KINDS:
        kind_pairs = {pair for pair in actual if any(f"/planted/{kind}/" in p for p in pair) and any("/originals/" in p for p in pair)}
        per_kind[kind] = round(len(kind_pairs & predicted) / len(kind_pairs), 4) if kind_pairs else None
    return {
        "pairs_true": len(actual),
        "pairs_found": len(predicted),
        "precision": round(len(hits) / len(predicted), 4) if predicted else 1.0,
        "recall": round(len(hits) / len(actual), 4) if actual else 1.0,
        "recall_vs_original": per_kind,
        "groups": len(groups),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--originals", type=int, default=400)
    parser.add_argument("--planted", type=int, default=60)
    parser.add_argument("--bits", type=int, default=64, choices=(16, 32, 64, 128))
    parser.add_argument("--radii", type=int, nargs="+", help="radii to score (default: 0..bits/8)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-similarity", type=float, nargs="+", default=[0.0, 0.9], help="embedding cosine thresholds to score (0 = codes only)")
    args = parser.parse_args()
    from engine.training.benchmark import standin_backbone, standin_files

    weights = standin_files(SCENES)[1]
    if not weights.is_file():
        print(json.dumps({"error": f"stand-in backbone not found at {weights}"}))
        return 1
    from engine.library.library import Library
    from engine.search.duplicates import DEFAULT_MIN_SIMILARITY, default_duplicate_radius, find_duplicates

    spec = standin_backbone(SCENES)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        truth = build(work, args.originals, args.planted, args.seed)
        started = time.perf_counter()
        with Library(work / "library") as library:
            library.index([work / "Photos"], backbone=spec, bits=args.bits, device="cpu")
            indexed_s = time.perf_counter() - started
            searcher = library.searcher(device="cpu")
            default = default_duplicate_radius(args.bits)
            radii = args.radii or list(range(0, args.bits // 8 + 1, max(1, args.bits // 32)))
            rows = []
            for similarity in args.min_similarity:
                for radius in radii:
                    started = time.perf_counter()
                    groups = find_duplicates(searcher, radius=radius, min_similarity=similarity)
                    elapsed = time.perf_counter() - started
                    row = {"radius": radius, "min_similarity": similarity, **score(groups, truth), "seconds": round(elapsed, 3)}
                    rows.append(row)
                    print(f"radius {radius:>2} cosine >= {similarity:.2f}: precision {row['precision']:.3f} recall {row['recall']:.3f} "
                          f"({row['pairs_found']} pairs found, {row['pairs_true']} true) per kind {row['recall_vs_original']}")
    at_default = next((r for r in rows if r["radius"] == default and r["min_similarity"] == DEFAULT_MIN_SIMILARITY), None)
    summary = {
        "bench": "duplicates",
        "backbone": "scenes-clip-tiny (offline stand-in)",
        "codes": f"ITQ {args.bits}-bit",
        "photos": len(truth),
        "originals": args.originals,
        "planted_originals": args.planted,
        "kinds": list(KINDS),
        "default_radius": default,
        "default_min_similarity": DEFAULT_MIN_SIMILARITY,
        "at_default": at_default,
        "by_radius": rows,
        "index_seconds": round(indexed_s, 1),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
