"""Near-duplicate finder: pair precision and recall on planted duplicates.

Takes photos of the scenes benchmark (128-px pictures, many of them showing the same
subjects), plants four kinds of copies of some of them (exact copy, resized to 96 px,
recompressed as JPEG quality 55, 4 px cropped off every side), indexes everything and
scores the returned groups pair by pair: every pair of photos that a group puts together
counts, and it is a true duplicate when both come from the same original.

    .venv/bin/python bench/duplicates_bench.py [--originals 200] [--planted 40] [--backbone standin|tiny]

`--backbone standin` is the offline stand-in CLIP, `tiny` the small random model: the
pixels' fingerprints carry the decision, so both should score alike.
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
RESIZED_SIDE = 96
RECOMPRESS_QUALITY = 55
CROP_PX = 4


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
            scale = RESIZED_SIDE / max(image.size)
            image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.LANCZOS)
            out = target_dir / f"{stem}.png"
            image.save(out)
            return out
        if kind == "recompressed":
            out = target_dir / f"{stem}.jpg"
            image.save(out, quality=RECOMPRESS_QUALITY)
            return out
        if kind == "cropped":
            image = image.crop((CROP_PX, CROP_PX, image.width - CROP_PX, image.height - CROP_PX))
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
        "largest_group": max((len(g.photos) for g in groups), default=0),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--originals", type=int, default=200)
    parser.add_argument("--planted", type=int, default=40)
    parser.add_argument("--bits", type=int, default=64, choices=(16, 32, 64, 128))
    parser.add_argument("--backbone", choices=("standin", "tiny"), default="standin", help="stand-in CLIP, or the small random model")
    parser.add_argument(
        "--similarities",
        type=float,
        nargs="+",
        default=[0.80, 0.85, 0.875, 0.90, 0.925, 0.95, 1.0],
        help="pixel similarity thresholds to score (the default one is always scored)",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from engine.models.backbones import BackboneSpec
    from engine.training.benchmark import standin_backbone, standin_files

    if args.backbone == "standin":
        weights = standin_files(SCENES)[1]
        if not weights.is_file():
            print(json.dumps({"error": f"stand-in backbone not found at {weights}"}))
            return 1
        spec = standin_backbone(SCENES)
    else:
        spec = BackboneSpec.from_args("tiny")
    from engine.facade import BitLens

    from engine.search.duplicates import DEFAULT_MIN_SIMILARITY, EMBEDDING_VETO, find_duplicates

    similarities = sorted(set(args.similarities) | {DEFAULT_MIN_SIMILARITY})
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        truth = build(work, args.originals, args.planted, args.seed)
        started = time.perf_counter()
        with BitLens(work / "library") as library:
            library.index([work / "Photos"], backbone=spec, bits=args.bits, device="cpu")
            indexed_s = time.perf_counter() - started
            searcher = library.searcher(device="cpu")
            rows = []
            for veto in (True, False):
                for similarity in similarities:
                    started = time.perf_counter()
                    groups = find_duplicates(searcher, min_similarity=similarity, embedding_veto=None if not veto else EMBEDDING_VETO)
                    elapsed = time.perf_counter() - started
                    row = {"min_similarity": similarity, "embedding_veto": veto, **score(groups, truth), "seconds": round(elapsed, 3)}
                    rows.append(row)
                    print(
                        f"similarity >= {similarity:.3f} {'with' if veto else 'without'} embedding veto: precision {row['precision']:.3f} "
                        f"recall {row['recall']:.3f} ({row['pairs_found']} pairs found, {row['pairs_true']} true, largest group "
                        f"{row['largest_group']}) per kind {row['recall_vs_original']}"
                    )
    at_default = next(r for r in rows if r["min_similarity"] == DEFAULT_MIN_SIMILARITY and r["embedding_veto"])
    summary = {
        "bench": "duplicates",
        "backbone": "scenes-clip-tiny (offline stand-in)" if args.backbone == "standin" else "tiny (small random model)",
        "photos": len(truth),
        "originals": args.originals,
        "planted_originals": args.planted,
        "kinds": {
            "copy": "byte copy",
            "resized": f"{RESIZED_SIDE} px",
            "recompressed": f"JPEG q{RECOMPRESS_QUALITY}",
            "cropped": f"{CROP_PX} px off each side",
        },
        "default_min_similarity": DEFAULT_MIN_SIMILARITY,
        "at_default": at_default,
        "by_similarity": rows,
        "index_seconds": round(indexed_s, 1),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
