"""Relevance cutoff: what the default radius keeps for the scenes benchmark's text queries.

Copies a sample of the scenes database photos, indexes them with the offline stand-in CLIP
(ITQ codes), runs the benchmark's 60 text queries and reports, per radius, the precision and
recall of "within the radius" (relevant: the photo's labels share a concept with the query)
and how many queries get no result at all.

    .venv/bin/python bench/cutoff_bench.py [--photos 800] [--bits 64]

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SCENES = REPO.parent / "shared" / "benchmark" / "scenes-s0"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=800)
    parser.add_argument("--bits", type=int, default=64, choices=(16, 32, 64, 128))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from engine.facade import BitLens

    from engine.search.cutoff import default_radius
    from engine.training.benchmark import standin_backbone

    truth = json.loads((SCENES / "ground_truth.json").read_text(encoding="utf-8"))
    database = [im for im in truth["images"] if im["split"] == "database"]
    sample = random.Random(args.seed).sample(database, args.photos)
    spec = standin_backbone(SCENES)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "Photos"
        labels: dict[str, set[str]] = {}
        for number, image in enumerate(sample):
            target = root / f"{number:05d}.jpg"  # no album names: tags must not leak into anything
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes((SCENES / image["path"]).read_bytes())
            labels[str(target.resolve())] = set(image["labels"])
        with BitLens(Path(tmp) / "library") as library:
            library.index([root], backbone=spec, bits=args.bits, device="cpu")
            searcher = library.searcher(device="cpu")
            relevant_rows = []
            distances = []
            for query in truth["text_queries"]:
                code = searcher.query_code(query["text"])
                distances.append(searcher.index.distances(code).astype(np.int32))
                wanted = set(query["concepts"])
                relevant_rows.append(np.array([bool(labels[p] & wanted) for p in searcher.paths]))
    distances = np.stack(distances)
    relevant = np.stack(relevant_rows)
    default = default_radius(args.bits)
    rows = []
    for radius in range(0, args.bits // 2 + 1, max(1, args.bits // 32)):
        kept = distances <= radius
        found = kept.sum(axis=1)
        hits = (kept & relevant).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = np.where(found > 0, hits / np.maximum(found, 1), np.nan)
        rows.append(
            {
                "radius": radius,
                "mean_kept": round(float(found.mean()), 1),
                "precision": round(float(np.nanmean(precision)), 4) if np.isfinite(precision).any() else None,
                "recall": round(float((hits / np.maximum(relevant.sum(axis=1), 1)).mean()), 4),
                "queries_with_nothing": int((found == 0).sum()),
            }
        )
        r = rows[-1]
        print(
            f"radius {radius:>3}{' (default)' if radius == default else ''}: keeps {r['mean_kept']:>7} photos per query, "
            f"precision {r['precision']}, recall {r['recall']}, {r['queries_with_nothing']} of {len(distances)} queries empty"
        )
    base_rate = float(relevant.mean())
    summary = {
        "bench": "cutoff",
        "codes": f"ITQ {args.bits}-bit",
        "backbone": "scenes-clip-tiny (offline stand-in)",
        "photos": args.photos,
        "queries": len(distances),
        "default_radius": default,
        "relevant_share": round(base_rate, 4),
        "at_default": next((r for r in rows if r["radius"] == default), None),
        "by_radius": rows,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
