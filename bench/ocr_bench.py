"""Words inside photos: recall of word queries, OCR cost per photo, and what OCR adds to indexing a textless library.

Usage: python bench/ocr_bench.py [--text-photos 50] [--scenes 300] [--landscapes 100] [--work DIR]
                                 [--timing-only] [--backbone standin|ViT-B-32] [--repeats 2]

1. Recall: N generated photos with two rendered words each (signs, labels, receipts,
   rotated text, small print, screenshots; the machine's fonts) among scenes-s0 emoji
   photos and generated textless landscapes, all indexed with the stand-in backbone
   (../shared/benchmark/backbone). Every rendered word is a query typed in the search
   bar; recall@10 is the share of queries whose photo is in the top 10. The same queries
   on the same library indexed with --no-ocr give the baseline (CLIP alone).
2. Cost per photo of the OCR pass (decode, pixel test, detection gate, reading) on
   photos with text and without, one worker thread, and how many pass each gate.
3. Indexing time added: the scenes photos and the landscapes (no text) indexed into
   fresh libraries with and without OCR, alternating, best of --repeats.

Prints a table, then as its last line one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SCENES = Path(__file__).resolve().parents[2] / "shared" / "benchmark" / "scenes-s0"


def _link_scenes(target: Path, count: int) -> None:
    """`count` scenes-s0 photos (every k-th, sidecars left out) copied under `target`."""
    photos = sorted(SCENES.glob("*/*.jpg"))
    step = max(1, len(photos) // count)
    target.mkdir(parents=True, exist_ok=True)
    for i, path in enumerate(photos[::step][:count]):
        shutil.copy(path, target / f"{i:05d}_{path.name}")


def _index(library: Path, folders: list[Path], spec, ocr: bool) -> float:
    return _index_timed(library, folders, spec, ocr)[0]


def _index_timed(library: Path, folders: list[Path], spec, ocr: bool) -> tuple[float, float]:
    """Wall and CPU seconds (all threads of this process) of indexing `folders` into a fresh library."""
    from engine.facade import BitLens

    start, cpu = time.perf_counter(), time.process_time()
    with BitLens(library) as lib:
        lib.index(folders, backbone=spec, ocr=ocr)
    return time.perf_counter() - start, time.process_time() - cpu


def _recall(library: Path, photos, k: int = 10) -> tuple[float, dict[str, float]]:
    from engine.facade import BitLens

    hits, by_kind = 0, defaultdict(list)
    with BitLens(library) as lib:
        searcher = lib.searcher()
        for photo in photos:
            for word in photo.words:
                found = {r.path for r in searcher.search(word, limit=k)}
                hit = str(photo.path.resolve()) in found
                hits += hit
                by_kind[photo.kind].append(hit)
    total = sum(len(p.words) for p in photos)
    return hits / total, {kind: sum(v) / len(v) for kind, v in sorted(by_kind.items())}


def _cost(paths: list[Path]) -> dict:
    """Mean OCR-pass milliseconds per photo (one thread) and the share passing each gate."""
    from engine.library.photo_text import _Readers, read_one
    from engine.pixels.decode import load_rgb
    from engine.ocr.reader import GATE_SIDE, may_hold_text

    readers = _Readers()
    readers.get()  # model loading is paid once per worker, not per photo
    pixel = detected = 0
    start = time.perf_counter()
    for path in paths:
        lines, _ = read_one(readers, str(path))
        detected += lines is not None
    elapsed = time.perf_counter() - start
    for path in paths:
        pixel += may_hold_text(load_rgb(str(path), GATE_SIDE))
    return {
        "ms_per_photo": round(1000 * elapsed / len(paths), 1),
        "photos": len(paths),
        "pass_pixel_test": round(pixel / len(paths), 3),
        "read_in_full": round(detected / len(paths), 3),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--text-photos", type=int, default=50)
    ap.add_argument("--scenes", type=int, default=300, help="scenes-s0 photos (no text) mixed in")
    ap.add_argument("--landscapes", type=int, default=100, help="generated 640x480 textless landscapes mixed in")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--work", type=Path)
    ap.add_argument("--timing-only", action="store_true", help="only part 3 (indexing time added)")
    ap.add_argument(
        "--backbone",
        default="standin",
        help="standin (the offline stand-in CLIP) or an open_clip name, e.g. ViT-B-32 (random weights: the cost does not depend on them)",
    )
    args = ap.parse_args(argv)

    from engine.ocr.synthetic import font_files, make_scene_photos, make_text_photos
    from engine.training.benchmark import standin_backbone

    if args.backbone == "standin":
        spec = standin_backbone(SCENES)
    else:
        from engine.models.backbones import BackboneSpec

        spec = BackboneSpec(arch=args.backbone)
    work = args.work or Path(tempfile.mkdtemp(prefix="bitlens-ocr-bench-"))
    photos = work / "photos"
    if photos.exists():
        shutil.rmtree(photos)
    text = make_text_photos(photos / "text", args.text_photos, seed=0)
    _link_scenes(photos / "scenes", args.scenes)
    landscapes = make_scene_photos(photos / "landscapes", args.landscapes, seed=1)
    for name in ("lib-ocr", "lib-plain", "time"):
        shutil.rmtree(work / name, ignore_errors=True)

    folders = [photos / "text", photos / "scenes", photos / "landscapes"]
    index_ocr, recall, recall_plain, by_kind, costs = 0.0, float("nan"), float("nan"), {}, {}
    if not args.timing_only:
        index_ocr = _index(work / "lib-ocr", folders, spec, ocr=True)
        _index(work / "lib-plain", folders, spec, ocr=False)
        recall, by_kind = _recall(work / "lib-ocr", text)
        recall_plain, _ = _recall(work / "lib-plain", text)
        costs = {
            "with_text": _cost([p.path for p in text]),
            "scenes_no_text": _cost(sorted((photos / "scenes").glob("*.jpg"))),
            "landscapes_no_text": _cost(landscapes),
        }

    timing = {}
    for label, folder in (("scenes", photos / "scenes"), ("landscapes", photos / "landscapes")):
        best = {False: float("inf"), True: float("inf")}
        cpu = {False: float("inf"), True: float("inf")}
        for r in range(args.repeats):
            for ocr in (False, True):
                library = work / "time" / f"{label}-{ocr}-{r}"
                wall, used = _index_timed(library, [folder], spec, ocr)
                best[ocr], cpu[ocr] = min(best[ocr], wall), min(cpu[ocr], used)
                shutil.rmtree(library, ignore_errors=True)
        timing[label] = {
            "photos": len(list(folder.glob("*.jpg"))),
            "index_s_no_ocr": round(best[False], 2),
            "index_s_ocr": round(best[True], 2),
            "added": round(best[True] / best[False] - 1, 3),
            "cpu_s_no_ocr": round(cpu[False], 2),
            "cpu_s_ocr": round(cpu[True], 2),
            "cpu_added": round(cpu[True] / cpu[False] - 1, 3),
        }

    print(f"fonts: {len(font_files())} TrueType files" if font_files() else "fonts: Pillow's built-in")
    print(f"library: {args.text_photos} text photos, {args.scenes} scenes-s0 photos, {args.landscapes} landscapes; indexed with OCR in {index_ocr:.1f} s")
    print(f"recall@10 of {sum(len(p.words) for p in text)} one-word queries: {recall:.3f} with OCR, {recall_plain:.3f} without")
    for kind, value in by_kind.items():
        print(f"  {kind:<8} {value:.3f}")
    for name, cost in costs.items():
        print(
            f"OCR cost {name:<20} {cost['ms_per_photo']:>7.1f} ms/photo  pixel test passed {cost['pass_pixel_test']:.0%}, read in full {cost['read_in_full']:.0%}"
        )
    for label, t in timing.items():
        print(
            f"indexing {t['photos']} {label} (no text): wall {t['index_s_no_ocr']:.1f} s without OCR, {t['index_s_ocr']:.1f} s with ({t['added']:+.1%}); "
            f"CPU {t['cpu_s_no_ocr']:.1f} s vs {t['cpu_s_ocr']:.1f} s ({t['cpu_added']:+.1%})"
        )
    print(
        json.dumps(
            {
                "recall_at_10": round(recall, 3),
                "recall_at_10_without_ocr": round(recall_plain, 3),
                "recall_by_kind": by_kind,
                "cost": costs,
                "indexing_added": timing,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
