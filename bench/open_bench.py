"""Opening a big library: time until the first search can be answered, bytes per photo.

Usage: python bench/open_bench.py [--n 1000000] [--bits 64] [--runs 5] [--dir /tmp/bitlens-open-bench]

Builds (once, then reuses) a synthetic library of N photos with realistic rows (paths,
content hashes, sizes, dates, cameras, two tags each) and one active ITQ model with
random codes, without embeddings (an optional cache).  Then, in one process:

* reference — the previous loader: SELECT every code BLOB with its path and decode
* searcher, first open — Searcher(library): decode from SQLite and write the code copy
* searcher, warm open — Searcher(library) from the validated copy, + the first ranking

"Ready" is the Searcher constructed and one top-20 ranking (with paths) returned; the
backbone (for text queries) loads later, on the first text query.  Also reports the
SQLite file's bytes per photo and the searcher's in-RAM index bytes per photo.
Prints a table, then as its last line one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_READY_S = 1.0
TARGET_SQLITE_BYTES = 400
TARGET_RAM_BYTES = 16
CAMERAS = [("Canon", "Canon EOS 80D"), ("Apple", "iPhone 12"), ("SONY", "ILCE-7M3"), ("Google", "Pixel 7")]
TAG_WORDS = ["beach", "holiday", "family", "mountain", "snow", "city", "dog", "birthday", "garden", "wedding"]


def build(root: Path, n: int, bits: int) -> dict:
    """A library under root with n photos and codes for one active ITQ model."""
    from engine.library.codemodels import activate, save_itq
    from engine.facade import BitLens

    from engine.models.backbones import BackboneSpec
    from engine.models.projection import ItqProjection

    rng = np.random.default_rng(0)
    library = BitLens(root / "library")
    spec = BackboneSpec.from_args("tiny")
    dim = 256
    projection = ItqProjection(mean=np.zeros(dim, np.float32), matrix=rng.normal(size=(dim, bits)).astype(np.float32))
    with library.store.session() as session:
        model = save_itq(session, library.paths.models, spec, projection, fitted_on=n)
        activate(session, model.id)
        model_id = model.id
    t0 = time.perf_counter()
    db = sqlite3.connect(library.paths.database, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("BEGIN")
    folders = 200
    now = time.time()
    db.executemany(
        "INSERT INTO folders (id, path, added_at, reachable) VALUES (?, ?, ?, 1)",
        [(f + 1, f"/home/user/Pictures/{2005 + f % 20}/{2005 + f % 20}-{1 + f % 12:02d} album {f}", now) for f in range(folders)],
    )
    db.executemany("INSERT INTO tags (id, name) VALUES (?, ?)", [(i + 1, w) for i, w in enumerate(TAG_WORDS)])
    hashes = rng.integers(0, 2**63, size=(n, 2), dtype=np.int64)  # BLAKE2b-128: 32 hex digits
    codes = rng.integers(0, 256, size=(n, bits // 8), dtype=np.uint8)
    step = 100_000
    for start in range(0, n, step):
        stop = min(n, start + step)
        image_rows = []
        for i in range(start, stop):
            f = i % folders
            make, model_name = CAMERAS[i % len(CAMERAS)]
            image_rows.append(
                (
                    i + 1,
                    f + 1,
                    f"/home/user/Pictures/{2005 + f % 20}/{2005 + f % 20}-{1 + f % 12:02d} album {f}/IMG_{i:07d}.jpg",
                    2_000_000 + i % 5_000_000,
                    1_600_000_000_000_000_000 + i * 1_000_000,
                    "%016x%016x" % tuple(int(h) for h in hashes[i]),
                    4032,
                    3024,
                    "JPEG",
                    f"{2005 + f % 20}:07:14 12:{i % 60:02d}:00",
                    make,
                    model_name,
                    now,
                    now,
                )
            )
        db.executemany(
            "INSERT INTO images (id, folder_id, path, size, mtime_ns, content_hash, width, height, format, date_taken, "
            "camera_make, camera_model, status, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'ok', ?, ?)",
            image_rows,
        )
        db.executemany(
            "INSERT INTO image_tags (image_id, tag_id, source) VALUES (?, ?, ?)",
            [(i + 1, 1 + (i % len(TAG_WORDS)), "folder") for i in range(start, stop)]
            + [(i + 1, 1 + ((i * 7 + 3) % len(TAG_WORDS)), "xmp") for i in range(start, stop)],
        )
        db.executemany("INSERT INTO codes (image_id, model_id, code) VALUES (?, ?, ?)", [(i + 1, model_id, codes[i].tobytes()) for i in range(start, stop)])
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    library.close()
    return {"n": n, "bits": bits, "build_s": round(time.perf_counter() - t0, 1)}


def reference_load(database: Path, model_id: int, bits: int) -> int:
    """The loader before the code copy: every BLOB and path through Python objects."""
    db = sqlite3.connect(database)
    rows = db.execute(
        "SELECT c.image_id, c.code, i.folder_id, i.path FROM codes c JOIN images i ON i.id = c.image_id "
        "WHERE c.model_id = ? AND i.status = 'ok' ORDER BY c.image_id",
        (model_id,),
    ).fetchall()
    db.close()
    words = (bits + 63) // 64
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    folder_ids = np.fromiter((r[2] for r in rows), dtype=np.int64, count=len(rows))
    paths = [r[3] for r in rows]
    raw = b"".join(r[1].ljust(words * 8, b"\0") for r in rows)
    codes = np.frombuffer(raw, dtype="<u8").reshape(len(rows), words)
    return len(ids) + len(folder_ids) + len(paths) + codes.shape[0]


def sqlite_parts(database: Path, n: int) -> dict:
    """Bytes per photo of each table and index (SQLite's dbstat), where it is compiled in."""
    db = sqlite3.connect(database)
    try:
        rows = db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall()
    except sqlite3.Error:
        return {}
    finally:
        db.close()
    return {name: round(size / n, 1) for name, size in rows if size / n >= 0.5}


def index_bytes(searcher) -> dict:
    """Bytes the searcher keeps per photo for ranking and filtering, by part."""
    index = searcher.index
    parts = {
        "ids": searcher.ids.nbytes,
        "folder_ids": searcher.folder_ids.nbytes,
        "index_ids": index._ids.nbytes if index._ids is not searcher.ids else 0,  # noqa: SLF001
        "codes": index._cols.nbytes,  # noqa: SLF001
        "faiss_copy": sum(p.ntotal * p.code_size for p in index._faiss_parts),  # noqa: SLF001
    }
    n = max(len(searcher), 1)
    return {k: round(v / n, 2) for k, v in parts.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--bits", type=int, default=64)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir", default="/tmp/bitlens-open-bench")
    ap.add_argument("--rebuild", action="store_true")
    args = ap.parse_args(argv)

    from engine.facade import BitLens

    from engine.search.searcher import Searcher

    root = Path(args.dir) / f"n{args.n}-b{args.bits}"
    marker = root / "built-v2.json"
    if args.rebuild or not marker.is_file():
        import shutil

        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        marker.write_text(json.dumps(build(root, args.n, args.bits)))
    built = json.loads(marker.read_text())
    library = BitLens(root / "library")
    for old in library.paths.cache.glob("codes-*.npy"):
        old.unlink()  # start without a copy: the first open below decodes and writes it

    database = library.paths.database
    sqlite_bytes = sum(os.path.getsize(p) for p in (database, Path(f"{database}-wal")) if p.exists())
    with library.store.raw() as db:
        embeddings = db.execute("SELECT count(*) FROM embeddings").fetchone()[0]

    def ready(first_rank: bool = True):
        t = time.perf_counter()
        s = Searcher(library, device="cpu")
        if first_rank:
            results = s.rank(s.index.codes[len(s) // 2], 20)
            assert results[0].distance == 0 and results[0].path
        return s, time.perf_counter() - t

    first, first_s = ready()
    reference, warm = [], []
    for _ in range(args.runs):
        t = time.perf_counter()
        reference_load(database, first.model_id, args.bits)
        reference.append(time.perf_counter() - t)
        s, seconds = ready()
        assert s.codes_from_cache
        warm.append(seconds)
        del s
    t = time.perf_counter()
    s = Searcher(library, device="cpu")
    construct_s = time.perf_counter() - t
    rank_ms = []
    for i in range(20):
        t = time.perf_counter()
        s.rank(s.index.codes[i * 997 % len(s)], 20)
        rank_ms.append((time.perf_counter() - t) * 1e3)
    ram = index_bytes(s)
    ram_total = round(sum(ram.values()), 2)

    ref_med, warm_med = float(np.median(reference)), float(np.median(warm))
    print(f"open a {args.n:,}-photo library ({args.bits}-bit codes), {args.runs} runs, {os.cpu_count()} CPUs")
    print(f"{'path':<44}{'median s':>10}")
    print(f"{'reference: decode BLOBs + paths (old loader)':<44}{ref_med:>10.3f}")
    print(f"{'searcher, first open (decode, write copy)':<44}{first_s:>10.3f}")
    print(f"{'searcher, warm open + first top-20 (copy)':<44}{warm_med:>10.3f}")
    print(f"  of which constructing the searcher: {construct_s:.3f} s; a top-20 ranking with paths: {np.median(rank_ms):.2f} ms")
    parts = sqlite_parts(database, args.n)
    print(f"SQLite: {sqlite_bytes / args.n:.0f} bytes/photo ({sqlite_bytes / 2**20:.0f} MiB, {embeddings} embeddings stored): {parts}")
    print(f"in-RAM index: {ram_total} bytes/photo {ram}")
    summary = {
        "benchmark": "library_open",
        "n": args.n,
        "bits": args.bits,
        "runs": args.runs,
        "reference_median_s": round(ref_med, 3),
        "first_open_s": round(first_s, 3),
        "ready_median_s": round(warm_med, 3),
        "construct_s": round(construct_s, 3),
        "rank_top20_median_ms": round(float(np.median(rank_ms)), 2),
        "speedup": round(ref_med / warm_med, 1),
        "sqlite_bytes_per_photo": round(sqlite_bytes / args.n, 1),
        "sqlite_parts": parts,
        "ram_bytes_per_photo": ram_total,
        "ram_parts": ram,
        "build": built,
        "meets_ready_target": warm_med <= TARGET_READY_S,
        "meets_sqlite_target": sqlite_bytes / args.n <= TARGET_SQLITE_BYTES,
        "meets_ram_target": ram_total <= TARGET_RAM_BYTES,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
