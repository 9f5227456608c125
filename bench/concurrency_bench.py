"""Search latency while another process indexes or trains the same library.

Builds a library of generated photos (tiny offline backbone), then runs search after
search in this process, first with nothing else going on, then while a second process
runs `bitlens index` on new photos, then while it runs `bitlens train`. Each search is
what a user's query costs the app when it touches the database: open a searcher on the
active model (reads every code), rank an example photo, look up the top hit and the
library status. Any exception (such as "database is locked") counts as an error.

    .venv/bin/python bench/concurrency_bench.py [--photos 300] [--new 300] [--library DIR]

Prints one line per phase, then as its last line one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def make_photos(root: Path, start: int, count: int) -> Path:
    from PIL import Image

    for i in range(start, start + count):
        rng = np.random.default_rng(i)
        pixels = rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
        path = root / f"2020 {('beach', 'forest', 'city')[i % 3]}" / f"IMG_{i:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).resize((96, 72), Image.NEAREST).save(path)
    return root


def one_search(library, query: str) -> None:
    searcher = library.searcher(device="cpu")
    results = searcher.search(image=query, limit=20)
    if results:
        library.photo(results[0].path)
    library.status()


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def search_while(library, queries: list[str], process: Optional[subprocess.Popen], seconds: float, min_searches: int = 5, pause: float = 0.0) -> dict:
    """Search repeatedly until `process` ends (or for `seconds` if there is none), `pause` s apart."""
    latencies: list[float] = []
    errors: list[str] = []
    end = time.monotonic() + seconds
    i = 0
    while True:
        running = process is not None and process.poll() is None
        if process is None and time.monotonic() >= end and len(latencies) >= min_searches:
            break
        if process is not None and not running:
            break
        started = time.perf_counter()
        try:
            one_search(library, queries[i % len(queries)])
            latencies.append(time.perf_counter() - started)
        except Exception as error:  # every failure a user would see counts
            errors.append(f"{type(error).__name__}: {error}")
        i += 1
        if pause:
            time.sleep(pause)
    return {
        "searches": len(latencies),
        "errors": len(errors),
        "first_errors": errors[:3],
        "p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1) if latencies else None,
    }


def cli(library: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "--library", str(library), *args], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def train_config(work: Path) -> Path:
    from engine.models.hashing import DEFAULT_CONFIG

    config = json.loads(Path(DEFAULT_CONFIG).read_text(encoding="utf-8"))
    config["network"].update({"dim": 32, "heads": 2})
    config["training"].update({"batch_size": 32, "warmup_steps": 2})
    path = work / "fast.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def run(work: Path, photos: int, new: int, idle_seconds: float = 3.0, train: bool = True, epochs: int = 3, pause: float = 0.0) -> dict:
    """The three phases; `pause` s between searches (0: back to back, the worst case for the writer)."""
    from engine.facade import BitLens

    from engine.models.backbones import BackboneSpec

    first = make_photos(work / "photos" / "first", 0, photos)
    second = make_photos(work / "photos" / "second", photos, new)
    lib_dir = work / "lib"
    figures: dict = {"photos": photos, "added_during_index": new, "pause_s": pause}
    with BitLens(lib_dir) as library:
        library.index([first], backbone=BackboneSpec.from_args("tiny"), device="cpu")
        queries = sorted(str(p) for p in first.rglob("*.jpg"))[:: max(1, photos // 20)]
        one_search(library, queries[0])  # warm up: imports and first page reads
        figures["idle"] = search_while(library, queries, None, idle_seconds)
        indexer = cli(lib_dir, "index", str(second), "--backbone", "tiny", "--batch-size", "8", "--device", "cpu")
        figures["during_index"] = search_while(library, queries, indexer, 0, pause=pause)
        stderr = indexer.stderr.read()
        indexer.wait()
        if indexer.returncode != 0:
            raise SystemExit(f"the indexing process failed: {stderr}")
        if train:
            trainer = cli(lib_dir, "train", "--bits", "32", "--epochs", str(epochs), "--config", str(train_config(work)), "--device", "cpu")
            figures["during_train"] = search_while(library, queries, trainer, 0, pause=pause)
            stderr = trainer.stderr.read()
            trainer.wait()
            if trainer.returncode != 0:
                raise SystemExit(f"the training process failed: {stderr}")
        figures["photos_after"] = library.status()["photos"]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=300)
    parser.add_argument("--new", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--pause", type=float, default=0.0, help="seconds between searches (0 = back to back)")
    parser.add_argument("--library", help="work folder (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(args.library or temporary)
        work.mkdir(parents=True, exist_ok=True)
        figures = run(work, args.photos, args.new, epochs=args.epochs, pause=args.pause)
    for phase in ("idle", "during_index", "during_train"):
        f = figures.get(phase)
        if f:
            print(f"{phase:>13}: {f['searches']:>5} searches, {f['errors']} errors, p50 {f['p50_ms']} ms, p99 {f['p99_ms']} ms, max {f['max_ms']} ms")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
