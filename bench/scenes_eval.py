"""Retrieval quality of BitLens's day-one codes on the scenes benchmark (offline).

Indexes `../shared/benchmark/scenes-s0` as a user would (pixels, folder names and
on-disk tags; the ground truth is used only to score), with the offline stand-in for
a web-pretrained CLIP, then reports mAP@all for the 60 text queries and the 500 query
images against the 5,000 database images, for the Hamming ranking and for the float
cosine ranking of the same embeddings. Last line: one JSON object of the figures.

    .venv/bin/python bench/scenes_eval.py [--bits 64] [--library DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
BENCH = REPO.parent / "shared" / "benchmark"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", type=int, default=64)
    parser.add_argument("--library", help="reuse an index here (default: a fresh temporary one)")
    args = parser.parse_args()

    from engine.codes.bits import EMBED_DTYPE
    from engine.facade import BitLens

    from engine.codes.bits import pack_bits
    from engine.training.benchmark import standin_backbone
    from engine.training.metrics import mean_average_precision

    scenes = BENCH / "scenes-s0"
    gt = json.loads((scenes / "ground_truth.json").read_text(encoding="utf-8"))
    spec = standin_backbone(scenes)
    home = args.library or tempfile.mkdtemp(prefix="bitlens-eval-")
    with BitLens(home) as library:
        started = time.perf_counter()
        report = library.index([scenes], backbone=spec, bits=args.bits, ocr=False)
        index_s = time.perf_counter() - started
        searcher = library.searcher()
        row_of = {p: i for i, p in enumerate(searcher.paths)}
        with library.store.raw() as db:
            vectors = dict(
                db.execute("SELECT i.path, e.vector FROM images i JOIN embeddings e ON e.content_hash = i.content_hash AND e.backbone_key = ?", (spec.key,))
            )

        images = gt["images"]
        rows = np.array([row_of[str(scenes / im["path"])] for im in images])
        labels = np.array([im["label_vector"] for im in images], dtype=bool)
        is_query = np.array([im["split"] == "query" for im in images])
        db_rows, q_rows = rows[~is_query], rows[is_query]
        db_labels, q_labels = labels[~is_query], labels[is_query]
        embeddings = np.stack([np.frombuffer(vectors[searcher.paths[r]], dtype=EMBED_DTYPE).astype(np.float32) for r in rows])
        db_emb, q_emb = embeddings[~is_query], embeddings[is_query]

        concept_index = {c["id"]: c["index"] for c in gt["concepts"]}
        text_rel, text_ham, text_cos = [], [], []
        started = time.perf_counter()
        for query in gt["text_queries"]:
            wanted = np.zeros(labels.shape[1], dtype=bool)
            wanted[[concept_index[c] for c in query["concepts"]]] = True
            text_rel.append((db_labels & wanted).any(axis=1))
            embedding = searcher.text_embedding(query["text"])
            code = pack_bits(searcher.code_model.encode_texts(embedding[None]))[0]
            text_ham.append(searcher.index.distances(code)[db_rows])
            text_cos.append(-(db_emb @ embedding))
        text_ms = (time.perf_counter() - started) / len(gt["text_queries"]) * 1000

        image_rel = (q_labels.astype(np.float32) @ db_labels.T.astype(np.float32)) > 0
        image_ham = np.stack([searcher.index.distances(searcher.index.codes[r])[db_rows] for r in q_rows])
        image_cos = -(q_emb @ db_emb.T)

        rng = np.random.default_rng(0)
        figures = {
            "bits": args.bits,
            "database": int(len(db_rows)),
            "text_queries": len(gt["text_queries"]),
            "image_queries": int(len(q_rows)),
            "text_map_hamming": round(mean_average_precision(np.array(text_ham), np.array(text_rel)), 4),
            "text_map_float": round(mean_average_precision(np.array(text_cos), np.array(text_rel)), 4),
            "text_map_random": round(
                float(np.mean([mean_average_precision(rng.random((len(text_rel), len(db_rows))), np.array(text_rel)) for _ in range(5)])), 4
            ),
            "image_map_hamming": round(mean_average_precision(image_ham, image_rel), 4),
            "image_map_float": round(mean_average_precision(image_cos, image_rel), 4),
            "index_seconds": round(index_s, 1),
            "index_photos_per_s": round(report.encoded / index_s, 1) if report.encoded else None,
            "text_query_ms": round(text_ms, 1),
        }
    print(f"scenes-s0, {figures['database']} database photos, {args.bits}-bit ITQ codes, stand-in CLIP")
    print(f"{'task':<22}{'Hamming':>10}{'float cosine':>14}")
    print(f"{'text → image mAP':<22}{figures['text_map_hamming']:>10.4f}{figures['text_map_float']:>14.4f}   (random {figures['text_map_random']:.4f})")
    print(f"{'image → image mAP':<22}{figures['image_map_hamming']:>10.4f}{figures['image_map_float']:>14.4f}")
    print(f"indexing: {figures['index_seconds']} s ({figures['index_photos_per_s']} photos/s); text query encode+rank: {figures['text_query_ms']} ms")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
