"""Re-scanning a folder whose files have not changed: how long until the scan says so.

Usage: python bench/rescan_bench.py [--files 100000] [--per-folder 100] [--runs 3] [--dir /tmp/bitlens-rescan-bench]

Generates (once, then reuses) a tree of tiny JPEG files under --dir, and a library that
already knows every one of them: a real first scan of N files reads every file's bytes
and metadata (minutes), so the rows it would leave (path, size, mtime, status ok, a
folder tag) are written directly.  A real first scan of a small sub-tree checks that
such rows are what the scanner writes.  Then Library.scan() is timed on the unchanged
tree, and the report must say: N unchanged, nothing added, updated or missing.
Prints a table, then as its last line one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_S = 3.0


def tiny_jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 120, 40)).save(buffer, format="JPEG")
    return buffer.getvalue()


def make_tree(root: Path, files: int, per_folder: int) -> None:
    data = tiny_jpeg()
    for i in range(files):
        folder = root / f"{2000 + (i // per_folder) % 25} trip {i // per_folder:05d}"
        if i % per_folder == 0:
            folder.mkdir(parents=True, exist_ok=True)
        (folder / f"IMG_{i:07d}.jpg").write_bytes(data)


def preload_rows(library, root: Path) -> None:
    """Rows as a first scan leaves them, for every file under root (one folder row)."""
    from engine.library.scanner import walk_photos
    from engine.library.report import ScanReport

    folder = library.add_folder(root) if hasattr(library, "add_folder") else None
    del folder
    db = sqlite3.connect(library.paths.database, isolation_level=None)
    folder_id = db.execute("SELECT id FROM folders WHERE path = ?", (str(root.resolve()),)).fetchone()[0]
    now = time.time()
    rows = [(folder_id, f.path, f.size, f.mtime_ns, "0" * 32, 8, 8, "JPEG", now, now) for f in walk_photos(root.resolve(), ScanReport())]
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO images (folder_id, path, size, mtime_ns, content_hash, width, height, format, status, first_seen, last_seen) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'ok', ?, ?)",
        rows,
    )
    db.execute("COMMIT")
    db.close()


def bare_walk(root: Path) -> int:
    """The floor: os.scandir plus one stat per file, nothing else (no database, no checks)."""
    count, stack = 0, [str(root)]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir():
                    stack.append(entry.path)
                else:
                    entry.stat()
                    count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--per-folder", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", default="/tmp/bitlens-rescan-bench")
    ap.add_argument("--profile", action="store_true", help="print a cProfile of one re-scan")
    args = ap.parse_args(argv)

    from engine.facade import BitLens

    base = Path(args.dir)
    tree = base / f"photos-{args.files}-{args.per_folder}"
    if not (tree / ".complete").is_file():
        shutil.rmtree(tree, ignore_errors=True)
        t = time.perf_counter()
        make_tree(tree, args.files, args.per_folder)
        (tree / ".complete").write_text("")
        print(f"generated {args.files:,} files in {time.perf_counter() - t:.1f} s")

    # The shortcut is honest: a real scan of a small tree, then a re-scan, finds it unchanged.
    check_root = base / "check"
    shutil.rmtree(check_root, ignore_errors=True)
    make_tree(check_root / "photos", 300, 50)
    with BitLens(check_root / "library") as lib:
        lib.add_folder(check_root / "photos")
        first = lib.scan()
        again = lib.scan()
    real_scan_ok = first.added == 300 and again.unchanged == 300 and again.added == again.updated == again.missing == 0

    lib_dir = base / "library"
    shutil.rmtree(lib_dir, ignore_errors=True)
    library = BitLens(lib_dir)
    t = time.perf_counter()
    preload_rows(library, tree)
    preload_s = time.perf_counter() - t

    times, reports, floor = [], [], []
    for _ in range(args.runs):
        t = time.perf_counter()
        bare_walk(tree)
        floor.append(time.perf_counter() - t)
        t = time.perf_counter()
        report = library.scan()
        times.append(time.perf_counter() - t)
        reports.append(report)
    correct = all(r.unchanged == args.files and r.added == r.updated == r.missing == r.moved == 0 for r in reports)
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        library.scan()
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(18)
    library.close()

    med, floor_med = float(np.median(times)), float(np.median(floor))
    print(f"re-scan of {args.files:,} unchanged files in {args.files // args.per_folder} folders, {args.runs} runs, {os.cpu_count()} CPUs")
    print(f"{'run':>4}{'re-scan s':>11}{'bare scandir+stat s':>21}")
    for i, (s, f) in enumerate(zip(times, floor), 1):
        print(f"{i:>4}{s:>11.3f}{f:>21.3f}")
    print(
        f"median {med:.3f} s = {args.files / med:,.0f} files/s (target ≤ {TARGET_S} s); report correct: {correct}; "
        f"real first scan + re-scan of 300 files agree: {real_scan_ok}; rows preloaded in {preload_s:.1f} s"
    )
    summary = {
        "benchmark": "rescan_unchanged",
        "files": args.files,
        "folders": args.files // args.per_folder,
        "runs": args.runs,
        "median_s": round(med, 3),
        "min_s": round(min(times), 3),
        "files_per_s": round(args.files / med),
        "bare_walk_median_s": round(floor_med, 3),
        "ratio_to_bare_walk": round(med / floor_med, 2),
        "report_correct": bool(correct),
        "real_scan_check": bool(real_scan_ok),
        "target_s": TARGET_S,
        "meets_target": med <= TARGET_S,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
