"""The single writer's ceiling: how many photos/s `encode_missing` can commit when encoding is free.

Usage: python bench/writer_bench.py [--photos 20000] [--dim 512] [--batch 32] [--no-tokens]

A cluster scales encoding; the commits stay on one machine, one SQLite writer. This bench
fills a library with N image rows (SQL, no files), then runs the real `encode_missing`
with an encoder (the `open_encoder` hook the Ray cluster uses) that returns random
embeddings and pooled tokens at once: what remains is the library's embedding rows
(fp16, `dim` values) and the feature cache's tokens (14 × dim fp16), one transaction
per batch. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


class InstantEncoder:
    """The encoder interface with no model: random unit vectors, as fast as numpy makes them."""

    message = "encoding (instant)"

    def __init__(self, dim: int, tokens: bool, batch: int) -> None:
        self.dim, self.has_tokens, self.batch = dim, tokens, batch
        self.rng = np.random.default_rng(0)

    def encode(self, paths, cancel=None):
        from engine.models.tokens import TOKENS_PER_IMAGE
        from engine.models.encoder import EncodedBatch

        for start in range(0, len(paths), self.batch):
            n = min(self.batch, len(paths) - start)
            vectors = self.rng.standard_normal((n, self.dim)).astype(np.float16)
            tokens = self.rng.standard_normal((n, TOKENS_PER_IMAGE, self.dim)).astype(np.float16) if self.has_tokens else None
            yield EncodedBatch(list(range(start, start + n)), vectors, tokens)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=20000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--no-tokens", action="store_true")
    args = parser.parse_args()

    from engine.jobs import Reporter
    from engine.library.indexing import encode_missing
    from engine.facade import BitLens

    from engine.library.report import ScanReport
    from engine.models.backbones import BackboneSpec

    work = Path(tempfile.mkdtemp(prefix="bitlens-writer-bench-"))
    try:
        with BitLens(work / "library") as library:
            now = time.time()
            with library.store.raw() as db:
                db.execute("INSERT INTO folders (id, path, added_at, reachable) VALUES (1, '/photos', ?, 1)", (now,))
                db.executemany(
                    "INSERT INTO images (folder_id, path, size, mtime_ns, content_hash, status, first_seen, last_seen) VALUES (1, ?, 1, 1, ?, 'ok', ?, ?)",
                    ((f"/photos/{i:08d}.jpg", f"{i:032x}", now, now) for i in range(args.photos)),
                )
                db.commit()
            spec = BackboneSpec(arch="writer-bench")
            encoder = InstantEncoder(args.dim, not args.no_tokens, args.batch)
            started = time.perf_counter()
            encode_missing(
                library.store, library.paths.cache, spec, lambda: None, ScanReport(), Reporter(None), None, batch_size=args.batch, open_encoder=lambda: encoder
            )
            seconds = time.perf_counter() - started
            db_bytes = library.paths.database.stat().st_size
        cache_bytes = sum(p.stat().st_size for p in (work / "library" / "cache").rglob("*") if p.is_file())
        figures = {
            "photos": args.photos,
            "dim": args.dim,
            "batch": args.batch,
            "tokens": not args.no_tokens,
            "seconds": round(seconds, 2),
            "photos_per_s": round(args.photos / seconds),
            "library_bytes_per_photo": db_bytes // args.photos,
            "feature_cache_bytes_per_photo": cache_bytes // args.photos,
        }
        print(
            f"{args.photos} photos committed in {seconds:.1f} s: {figures['photos_per_s']} photos/s "
            f"({figures['library_bytes_per_photo']} B/photo in the library, {figures['feature_cache_bytes_per_photo']} B/photo in the feature cache)"
        )
        print(json.dumps(figures))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
