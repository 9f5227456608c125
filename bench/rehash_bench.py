"""Re-hashing a library after training: `activate_model`'s code writing for N photos.

Builds a real library database with N synthetic photos (rows, cached embeddings and
pooled patch tokens of a 256-d backbone, one tag each), trains a hashing model on them
for one epoch (the speed of writing codes does not depend on how well it trained),
registers it, then times `write_codes` — what activation spends its time on — for
image-only and for fused database codes.

    .venv/bin/python bench/rehash_bench.py --photos 100000

Prints a table; the last line is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def build_library(home: Path, n: int, dim: int):
    from engine.library.features import FeatureCache
    from engine.facade import BitLens

    from engine.models.backbones import BackboneSpec

    from training_bench import synthetic_data

    library = BitLens(home)
    spec = BackboneSpec.from_args("tiny")
    data = synthetic_data(n, dim)
    now = time.time()
    with library.store.raw() as db:
        db.execute("BEGIN")
        db.execute("INSERT INTO folders (id, path, reachable, added_at) VALUES (1, '/photos', 1, ?)", (now,))
        db.executemany(
            "INSERT INTO images (id, folder_id, path, size, mtime_ns, content_hash, status, first_seen, last_seen) VALUES (?, 1, ?, 1000, 0, ?, 'ok', ?, ?)",
            ((i + 1, f"/photos/IMG_{i:07d}.jpg", h, now, now) for i, h in enumerate(data.hashes)),
        )
        db.executemany(
            "INSERT INTO embeddings (content_hash, backbone_key, vector) VALUES (?, ?, ?)",
            ((h, spec.key, v.astype(np.float16).tobytes()) for h, v in zip(data.hashes, data.embeddings)),
        )
        db.executemany("INSERT INTO tags (id, name) VALUES (?, ?)", ((i + 1, t) for i, t in enumerate(data.vocabulary)))
        db.executemany(
            "INSERT INTO image_tags (image_id, tag_id, source) VALUES (?, ?, 'folder')", ((i + 1, tags[0] + 1) for i, tags in enumerate(data.tag_lists) if tags)
        )
        db.execute("COMMIT")
    cache = FeatureCache(library.paths.cache, spec.key)
    for start in range(0, n, 10000):
        cache.put_tokens(zip(data.hashes[start : start + 10000], data.tokens[start : start + 10000]))
    cache.close()
    return library, spec, data


def register_model(library, spec, data, database_codes: str) -> int:
    from engine.library.schema import Model
    from engine.models.hashing import HashingConfig
    from engine.models.weights import sha256_file
    from engine.training.checkpoints import export_for_inference
    from engine.training.trainer import Trainer

    config = HashingConfig.load(overrides={"training": {"database_codes": database_codes}})
    run = library.paths.models / "run.safetensors"
    Trainer(data, config, 64, run, device="cpu").train(1)
    final = library.paths.models / f"bench-{database_codes}.safetensors"
    export_for_inference(run, final)
    with library.store.session() as session:
        model = Model(
            name=f"bench {database_codes}",
            kind="hashing",
            backbone=spec.arch,
            pretrained=None,
            bits=64,
            config=json.dumps({"backbone": spec.to_json(), "hashing": config.to_dict()}),
            checkpoint=str(final),
            checkpoint_sha256=sha256_file(final),
            active=False,
            created_at=time.time(),
        )
        session.add(model)
        session.flush()
        return model.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=100000)
    parser.add_argument("--dim", type=int, default=256)
    args = parser.parse_args()

    from engine.jobs import Reporter
    from engine.library.indexing import write_codes
    from engine.library.report import ScanReport

    figures: dict = {"photos": args.photos, "dim": args.dim}
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        library, spec, data = build_library(Path(tmp) / "lib", args.photos, args.dim)
        figures["build_s"] = round(time.perf_counter() - started, 1)
        for mode in ("image", "fused"):
            model_id = register_model(library, spec, data, mode)
            started = time.perf_counter()
            report = ScanReport()
            write_codes(library.store, library.paths.cache, model_id, report, Reporter(None))
            seconds = time.perf_counter() - started
            assert report.coded == args.photos, report.coded
            figures[f"rehash_{mode}_s"] = round(seconds, 2)
            print(f"re-hash {args.photos} photos, {mode} database codes: {seconds:.2f} s ({args.photos / seconds:,.0f} photos/s)")
        library.close()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
