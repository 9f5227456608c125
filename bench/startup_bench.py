"""How fast the desktop app starts: launch → window visible, and launch → first answered query.

    .venv/bin/python bench/startup_bench.py [--runs 5] [--library DIR] [--query "a dog"]

Each run starts `python -m desktop_app` as a fresh process (as the `bitlens-gui`
command does) on an indexed library, with timing markers on, types the query at
start, and quits after the first answer. Times are taken by this script from just
before the process is spawned. Without --library, it first indexes three albums of
the scenes benchmark with the offline stand-in CLIP (or, without the benchmark,
generated photos with the tiny model) into a temporary library. Prints a table and,
as its last line, one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCHMARK = REPO.parent / "shared" / "benchmark"
SCENES = BENCHMARK / "scenes-s0"
STANDIN = (BENCHMARK / "backbone" / "scenes-clip-tiny.json", BENCHMARK / "backbone" / "scenes-clip-tiny.safetensors")
ALBUMS = ("2010-03-08 pet", "2017-11 mammals", "Camera Roll")
TARGET_WINDOW_S = 1.5


def build_library(folder: Path) -> str:
    """Index a small library with the CLI; returns a description of what is in it."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("BITLENS_HOME", None)
    command = [sys.executable, "-m", "engine.cli", "--library", str(folder), "index"]
    if SCENES.is_dir() and STANDIN[1].is_file():
        command += [str(SCENES / album) for album in ALBUMS] + ["--backbone", str(STANDIN[0]), "--weights", str(STANDIN[1])]
        what = f"scenes albums {', '.join(ALBUMS)} (stand-in CLIP)"
    else:
        sys.path.insert(0, str(REPO / "tests"))
        from conftest import make_photo

        photos = folder.parent / "photos"
        for i in range(300):
            make_photo(photos / f"album {i // 50}" / f"photo_{i:03d}.jpg", i)
        command += [str(photos), "--backbone", "tiny"]
        what = "300 generated photos (tiny model)"
    subprocess.run(command, cwd=REPO, env=env, check=True, capture_output=True, text=True)
    return what


def launch(library: str, settings: Path, query: str, timeout: float) -> dict:
    """One launch; returns the seconds at which each marker line arrived."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env.pop("BITLENS_HOME", None)
    command = [
        sys.executable,
        "-m",
        "desktop_app",
        "--library",
        library,
        "--settings",
        str(settings),
        "--no-first-run",
        "--startup-markers",
        "--query",
        query,
        "--quit-after-results",
    ]
    seen: dict = {}
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        for line in process.stdout:  # type: ignore[union-attr]
            now = time.perf_counter() - start
            if not line.startswith("bitlens-gui: "):
                continue
            name, value = line.split()[1:3]
            if name == "largest-event-loop-gap":
                seen["largest_gap_s"] = float(value)
            else:
                seen[name] = now
            if now > timeout:
                break
        process.wait(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
    seen["exit_s"] = time.perf_counter() - start
    return seen


def summary(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3), "max": round(max(values), 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--library", help="an indexed library to open (default: build a small one in /tmp)")
    parser.add_argument("--query", default="a dog")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bitlens-startup-") as tmp:
        work = Path(tmp)
        library, what = args.library, "given library"
        if library is None:
            library = str(work / "library")
            what = build_library(Path(library))
        runs = [launch(library, work / f"settings-{i}.ini", args.query, args.timeout) for i in range(args.runs)]

    complete = [r for r in runs if "window-exposed" in r and "first-results" in r]
    print(
        f"BitLens desktop startup, {args.runs} launches, {platform.machine()} {os.cpu_count()} CPUs, Qt platform {os.environ.get('QT_QPA_PLATFORM', 'offscreen')}"
    )
    print(f"library: {what}; query: {args.query!r}\n")
    print(f"{'run':>3}  {'window visible':>14}  {'first answer':>12}  {'worst UI stall':>14}")
    for i, run in enumerate(runs, 1):
        window = f"{run['window-exposed']:.3f} s" if "window-exposed" in run else "—"
        answer = f"{run['first-results']:.3f} s" if "first-results" in run else "—"
        stall = f"{1000 * run['largest_gap_s']:.0f} ms" if "largest_gap_s" in run else "—"
        print(f"{i:>3}  {window:>14}  {answer:>12}  {stall:>14}")
    result = {
        "benchmark": "desktop_startup",
        "runs": args.runs,
        "completed": len(complete),
        "library": what,
        "query": args.query,
        "window_visible_s": summary([r["window-exposed"] for r in complete]) if complete else None,
        "first_answer_s": summary([r["first-results"] for r in complete]) if complete else None,
        "largest_event_loop_gap_s": summary([r["largest_gap_s"] for r in complete if "largest_gap_s" in r]) if complete else None,
        "target_window_visible_s": TARGET_WINDOW_S,
    }
    result["meets_target"] = bool(complete) and result["window_visible_s"]["median"] <= TARGET_WINDOW_S
    print(f"\nwindow visible: median {result['window_visible_s']['median'] if complete else '—'} s (target ≤ {TARGET_WINDOW_S} s)")
    print(json.dumps(result))
    return 0 if complete else 1


if __name__ == "__main__":
    raise SystemExit(main())
