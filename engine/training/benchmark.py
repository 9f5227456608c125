"""Retrieval quality on a scenes-format benchmark, against baselines in the same run.

The benchmark folder is indexed as a user's folder would be (pixels, folder and file
names, on-disk keywords); `ground_truth.json` is read only to pick the split and to
score. The database split is exposed to the library through a mirror of symbolic
links (album folders and sidecars kept), and the query split through a second one, so
both are read by the same scanner and encoder as real photos.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..library.features import FeatureCache
from ..library.indexing import tags_of
from ..codes.bits import EMBED_DTYPE
from ..library.library import Library
from ..models.backbones import Backbone, BackboneSpec
from ..models.projection import fit_itq
from ..models.views import VIEW_COUNT, encode_photo_views
from ..search.expansion import DEFAULT_EXPANSION, expand_bits
from .metrics import hamming_matrix, mean_average_precision, pr_curve, precision_at_k, relevance
from .openvocab_eval import format_open_vocabulary, open_vocabulary_rows, query_sets, regime_folders
from .regimes import layout, mirror

TEXT_PROMPT = "a photo of {}"
TASKS = ("image_to_text", "text_to_image", "image_to_image", "query_to_image")
# Each seed's component switched against the default config (on ones off, optional ones on).
ABLATIONS = {
    "+ cross-scale attention (WHCMT)": {"components": {"cross_scale_attention": True}},
    "no fusion branch (text-guided fusion)": {"components": {"fusion": False}},
    "no pixel-text matching": {"components": {"pixel_text_matching": False}},
    "no tag BCE": {"components": {"tag_bce": False}},
    "no tag identities": {"components": {"tag_identity": False}},
    "no target codes from tags (SSAH-style)": {"components": {"target_codes": False}},
    "no second co-occurrence step": {"targets": {"tag_expansion_second": 0.0}},
    "no tag co-occurrence expansion": {"targets": {"tag_expansion": 0.0, "tag_expansion_second": 0.0}},
    "+ tag prototypes (WSIH)": {"components": {"prototypes": True}},
    "+ label network (SSAH)": {"components": {"label_network": True}},
    "+ modality discriminator (SSAH)": {"components": {"discriminator": True}},
}


def standin_files(benchmark: str | Path) -> tuple[Path, Path]:
    """Config and weights of the offline stand-in CLIP that sits beside a scenes benchmark (`../backbone/`)."""
    folder = Path(benchmark).resolve().parent / "backbone"
    return folder / "scenes-clip-tiny.json", folder / "scenes-clip-tiny.safetensors"


def standin_backbone(benchmark: str | Path) -> BackboneSpec:
    """The stand-in CLIP beside a scenes benchmark, as a backbone spec."""
    config, weights = standin_files(benchmark)
    return BackboneSpec.from_args(str(config), weights=str(weights))


def _library_features(library: Library, root: Path, paths: list[str], key: str) -> tuple[np.ndarray, Optional[np.ndarray], list[list[str]]]:
    """Embeddings, tokens and tag names of photos (by path relative to `root`), in that order."""
    with library.store.raw() as db:
        rows = {p: (i, h) for p, i, h in db.execute("SELECT path, id, content_hash FROM images WHERE status = 'ok'")}
        vectors = dict(db.execute("SELECT content_hash, vector FROM embeddings WHERE backbone_key = ?", (key,)))
    ids, hashes = zip(*(rows[str(root / p)] for p in paths))
    embeddings = np.stack([np.frombuffer(vectors[h], dtype=EMBED_DTYPE) for h in hashes]).astype(np.float32)
    cache = FeatureCache(library.paths.cache, key)
    try:
        cached = cache.cached_token_hashes()
        tokens = cache.get_tokens(list(hashes), embeddings.shape[1]) if all(h in cached for h in hashes) else None
    finally:
        cache.close()
    return embeddings, tokens, tags_of(library.store, list(ids))


def _view_features(backbone: Backbone, root: Path, paths: list[str], count: int = VIEW_COUNT) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """Embeddings (N × V × D) and pooled tokens (N × V × S × D, or None) of each photo's views, as search encodes a photo from outside."""
    embeddings, tokens = [], []
    for path in paths:
        e, t = encode_photo_views(backbone, root / path, count)
        embeddings.append(e)
        tokens.append(t)
    return np.stack(embeddings), None if tokens[0] is None else np.stack(tokens)


def _mean_over_views(project, embeddings: np.ndarray, tokens: Optional[np.ndarray]) -> np.ndarray:
    """{0,1} codes from a code model's outputs averaged over each photo's views (as search does)."""
    n, v = embeddings.shape[:2]
    flat = [embeddings.reshape(n * v, -1)] + ([] if tokens is None else [tokens.reshape(n * v, *tokens.shape[2:])])
    values = project(*flat)
    return (values.reshape(n, v, -1).mean(axis=1) > 0).astype(np.uint8)


def _text_of_tags(backbone: Backbone, tags: list[list[str]], cache: dict[str, np.ndarray]) -> np.ndarray:
    """A bag-of-tags text embedding per photo for the baselines: the mean of its tags' CLIP embeddings."""
    todo = sorted({t for names in tags for t in names if t not in cache})
    for start in range(0, len(todo), 256):
        chunk = todo[start : start + 256]
        for tag, vector in zip(chunk, backbone.encode_texts([TEXT_PROMPT.format(t) for t in chunk])):
            cache[tag] = vector
    out = np.zeros((len(tags), backbone.embed_dim), np.float32)
    for row, names in enumerate(tags):
        if names:
            mean = np.mean([cache[t] for t in names], axis=0)
            out[row] = mean / max(np.linalg.norm(mean), 1e-12)
    return out


def _last_epoch(model) -> dict:
    """The final epoch's loss and validation figures of a registered model."""
    history = json.loads(model.metrics or "{}").get("history", [])
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in (history[-1] if history else {}).items()}


def _scores(distances: dict[str, np.ndarray], relevant: dict[str, np.ndarray]) -> dict[str, float]:
    return {task: round(mean_average_precision(distances[task], relevant[task]), 4) for task in distances}


def run_benchmark(
    benchmark: str | Path,
    bits_list: Sequence[int] = (64,),
    epochs: Optional[int] = None,
    backbone: Optional[str] = None,
    weights: Optional[str] = None,
    work: Optional[str | Path] = None,
    out: Optional[str | Path] = None,
    progress=None,
    variants: Optional[dict[str, dict]] = None,
    effort: str = "head",
    regime: str = "rich",
) -> dict:
    """Index, train per code length (and per variant), score every task; write JSON and a PR curve.

    `regime`: how much the folders say (`regimes.py`: rich, folders, held-out).
    """
    from .lifecycle import train_model
    from ..codes.hashing_file import load_hashing_codes
    from ..library.codemodels import backbone_of
    from ..library.schema import Model

    benchmark = Path(benchmark).resolve()
    gt = json.loads((benchmark / "ground_truth.json").read_text(encoding="utf-8"))
    spec = standin_backbone(benchmark) if backbone is None else BackboneSpec.from_args(backbone, weights=weights)
    work = Path(work or tempfile.mkdtemp(prefix="bitlens-bench-"))
    database = [im for im in gt["images"] if im["split"] == "database"]
    queries = [im for im in gt["images"] if im["split"] == "query"]
    mirror(benchmark, database, work / "database", regime)
    mirror(benchmark, queries, work / "queries", regime)
    db_paths, q_paths = layout(database, regime), layout(queries, regime)
    started = time.perf_counter()
    library = Library(work / "library")
    library.index([work / "database"], backbone=spec, progress=progress, precision="fp32", ocr=False)
    query_library = Library(work / "query-library")
    query_library.index([work / "queries"], backbone=spec, progress=progress, precision="fp32", ocr=False)
    index_seconds = time.perf_counter() - started
    encoder = Backbone(spec)

    db_emb, db_tok, db_tags = _library_features(library, work / "database", db_paths, spec.key)
    q_emb, q_tok, q_tags = _library_features(query_library, work / "queries", q_paths, spec.key)
    q_views = _view_features(encoder, work / "queries", q_paths)
    tag_cache: dict[str, np.ndarray] = {}
    db_text, q_text = _text_of_tags(encoder, db_tags, tag_cache), _text_of_tags(encoder, q_tags, tag_cache)
    text_queries = encoder.encode_texts([TEXT_PROMPT.format(q["text"]) for q in gt["text_queries"]])

    labels_db = np.array([im["label_vector"] for im in database], dtype=bool)
    labels_q = np.array([im["label_vector"] for im in queries], dtype=bool)
    concept_index = {c["id"]: c["index"] for c in gt["concepts"]}
    wanted = np.zeros((len(gt["text_queries"]), labels_db.shape[1]), dtype=bool)
    for row, query in enumerate(gt["text_queries"]):
        wanted[row, [concept_index[c] for c in query["concepts"]]] = True
    db_has_text = np.array([bool(t) for t in db_tags])
    q_has_text = np.array([bool(t) for t in q_tags])
    relevant = {
        "image_to_text": relevance(labels_q, labels_db[db_has_text]),
        "text_to_image": relevance(labels_q[q_has_text], labels_db),
        "image_to_image": relevance(labels_q, labels_db),
        "query_to_image": relevance(wanted, labels_db),
    }

    def evaluate(img_db, img_q, txt_db, txt_q, txt_queries) -> dict[str, np.ndarray]:
        return {
            "image_to_text": hamming_matrix(img_q, txt_db[db_has_text]),
            "text_to_image": hamming_matrix(txt_q[q_has_text], img_db),
            "image_to_image": hamming_matrix(img_q, img_db),
            "query_to_image": hamming_matrix(txt_queries, img_db),
        }

    def i2i(distances: np.ndarray) -> float:  # image→image mAP of one ranking
        return round(mean_average_precision(distances, relevant["image_to_image"]), 4)

    rng = np.random.default_rng(0)
    open_sets = query_sets(gt, db_tags, regime_folders(work / "database"), regime)

    def embed(texts: list[str]) -> np.ndarray:
        return encoder.encode_texts([TEXT_PROMPT.format(t) for t in texts])

    results: dict = {
        "benchmark": str(benchmark),
        "regime": regime,
        "backbone": spec.label,
        "database": len(database),
        "image_queries": len(queries),
        "text_queries": len(text_queries),
        "index_seconds": round(index_seconds, 1),
        "effort": effort,
        "rows": [],
    }
    cosine = {
        "image_to_text": -(q_emb @ db_text[db_has_text].T),
        "text_to_image": -(q_text[q_has_text] @ db_emb.T),
        "image_to_image": -(q_emb @ db_emb.T),
        "query_to_image": -(text_queries @ db_emb.T),
    }
    results["rows"].append({"method": "float cosine (backbone)", "bits": None, **_scores(cosine, relevant)})
    random_scores = {task: rng.random(rel.shape) for task, rel in relevant.items()}
    results["rows"].append({"method": "random", "bits": None, **_scores(random_scores, relevant)})
    curves = {}
    for bits in bits_list:
        planes = np.random.default_rng(bits).standard_normal((db_emb.shape[1], bits))
        lsh = lambda x: (x @ planes > 0).astype(np.uint8)  # noqa: E731 - a one-line hash function
        distances = evaluate(lsh(db_emb), lsh(q_emb), lsh(db_text), lsh(q_text), lsh(text_queries))
        results["rows"].append({"method": "LSH (backbone)", "bits": bits, **_scores(distances, relevant)})
        itq = fit_itq(db_emb, bits=bits)
        distances = evaluate(itq.encode(db_emb), itq.encode(q_emb), itq.encode(db_text), itq.encode(q_text), itq.encode(text_queries))
        results["rows"].append({"method": "ITQ (untrained codes)", "bits": bits, **_scores(distances, relevant)})
        results["rows"].append(
            {
                "method": f"ITQ (untrained codes), photo queries from {VIEW_COUNT} views",
                "bits": bits,
                "image_to_image": i2i(hamming_matrix(_mean_over_views(itq.project, q_views[0], None), itq.encode(db_emb))),
            }
        )
        if bits == bits_list[0]:
            curves["ITQ"] = pr_curve(distances["query_to_image"], relevant["query_to_image"], bits)
        for variant, overrides in (variants or {"trained": {}}).items():
            started = time.perf_counter()
            model_id = train_model(library, bits=bits, epochs=epochs, overrides=overrides, progress=progress, effort=effort)
            train_seconds = time.perf_counter() - started
            with library.store.session() as session:
                model = session.get(Model, model_id)
                codes = load_hashing_codes(Path(model.checkpoint))
                tuned = backbone_of(model)
                last = _last_epoch(model)
            v_db_emb, v_db_tok, v_q_emb, v_q_tok, v_q_views = db_emb, db_tok, q_emb, q_tok, q_views
            if tuned.key != spec.key:
                # a tuned image tower: both splits are encoded again with it, as activation would
                library.index([work / "database"], backbone=tuned, progress=progress, precision="fp32", ocr=False)
                query_library.index([work / "queries"], backbone=tuned, progress=progress, precision="fp32", ocr=False)
                v_db_emb, v_db_tok, _ = _library_features(library, work / "database", db_paths, tuned.key)
                v_q_emb, v_q_tok, _ = _library_features(query_library, work / "queries", q_paths, tuned.key)
                v_q_views = _view_features(Backbone(tuned), work / "queries", q_paths)

            def sets(tags):  # noqa: E306 - each text is a set of tag embeddings for the text branch
                return codes.encode_texts_sets(tags)

            db_image = codes.encode_images(v_db_emb, v_db_tok)
            q_image = codes.encode_images(v_q_emb, v_q_tok)
            txt_db, txt_q = sets(db_tags), sets(q_tags)
            txt_queries = codes.encode_texts(text_queries)
            distances = evaluate(db_image, q_image, txt_db, txt_q, txt_queries)
            row = {
                "method": f"{variant}: image codes",
                "bits": bits,
                **_scores(distances, relevant),
                "train_seconds": round(train_seconds, 1),
                "effort": effort,
                "last_epoch": last,
            }
            results["rows"].append(row)
            codes.needs_tags = codes.can_fuse
            db_fused = codes.encode_images(v_db_emb, v_db_tok, db_tags)
            q_fused = codes.encode_images(v_q_emb, v_q_tok, q_tags)
            distances = evaluate(db_fused, q_image, txt_db, txt_q, txt_queries)
            results["rows"].append({"method": f"{variant}: fused database codes", "bits": bits, **_scores(distances, relevant)})
            if variant == next(iter(variants or {"trained": {}})) and tuned.key == spec.key:
                radius = last.get("close_radius")
                results.setdefault("open_vocabulary", []).extend(
                    open_vocabulary_rows(gt, open_sets, labels_db, bits, embed, db_emb, codes, db_fused, radius=radius)
                )
            # a photo from outside the library: expanded by its nearest library codes, then also
            # coded from several views (both as search does; docs/search.md)
            expanded = expand_bits(q_image, db_fused, DEFAULT_EXPANSION)
            results["rows"].append(
                {"method": f"{variant}: fused database codes, expanded photo queries", "bits": bits, "image_to_image": i2i(hamming_matrix(expanded, db_fused))}
            )
            q_viewed = _mean_over_views(codes.project_images, *v_q_views)
            results["rows"].append(
                {
                    "method": f"{variant}: fused database codes, photo queries from {VIEW_COUNT} views",
                    "bits": bits,
                    "image_to_image": i2i(hamming_matrix(q_viewed, db_fused)),
                }
            )
            results["rows"].append(
                {
                    "method": f"{variant}: fused database codes, {VIEW_COUNT} views, expanded (as search does)",
                    "bits": bits,
                    "image_to_image": i2i(hamming_matrix(expand_bits(q_viewed, db_fused, DEFAULT_EXPANSION), db_fused)),
                }
            )
            distances["image_to_image"] = hamming_matrix(q_fused, db_fused)
            results["rows"].append(
                {"method": f"{variant}: fused codes, photo queries with their tags", "bits": bits, "image_to_image": i2i(distances["image_to_image"])}
            )
            if tuned.key != spec.key:
                library.index([work / "database"], backbone=spec, precision="fp32", ocr=False)  # the next run starts from the base backbone again
            if bits == bits_list[0] and variant == next(iter(variants or {"trained": {}})):
                curves["trained (fused database)"] = pr_curve(distances["query_to_image"], relevant["query_to_image"], bits)
                results["precision_at_100_query_to_image"] = round(precision_at_k(distances["query_to_image"], relevant["query_to_image"], 100), 4)
    library.close()
    query_library.close()
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
        draw_pr_curves(curves, out / "pr_curve.png", f"text query -> image, {bits_list[0]} bits")
    return results


def format_table(results: dict) -> str:
    """The results as a plain-text table (mAP@all per task)."""
    header = f"{'method':<52}{'bits':>5}" + "".join(f"{t.replace('_to_', '→'):>16}" for t in TASKS)
    lines = [
        f"{results['benchmark']}: {results['database']} database photos, {results['image_queries']} photo and "
        f"{results['text_queries']} text queries, backbone {results['backbone']}",
        header,
    ]
    for row in results["rows"]:
        cells = "".join(f"{row[t]:>16.4f}" if t in row else f"{'':>16}" for t in TASKS)
        lines.append(f"{row['method']:<52}{row['bits'] if row['bits'] else '':>5}{cells}")
    if results.get("open_vocabulary"):
        lines += [
            "",
            f"open vocabulary ({results.get('regime', 'rich')} tags), mAP@all, trained database codes as search uses them:",
            format_open_vocabulary(results["open_vocabulary"]),
        ]
    return "\n".join(lines)


def draw_pr_curves(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: Path, title: str) -> None:
    """A small precision–recall chart (Hamming-radius sweep) as a PNG, drawn with Pillow."""
    from PIL import Image, ImageDraw

    width, height, margin = 640, 480, 60
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = margin, margin // 2 + 10, width - 20, height - margin
    draw.rectangle([left, top, right, bottom], outline="black")
    for step in range(0, 11, 2):
        x = left + (right - left) * step / 10
        y = bottom - (bottom - top) * step / 10
        draw.line([x, bottom, x, bottom + 5], fill="black")
        draw.text((x - 8, bottom + 8), f"{step / 10:.1f}", fill="black")
        draw.line([left - 5, y, left, y], fill="black")
        draw.text((left - 32, y - 6), f"{step / 10:.1f}", fill="black")
    draw.text((width // 2 - 20, height - 22), "recall", fill="black")
    draw.text((8, top - 22), "precision", fill="black")
    draw.text((left + 10, 6), title, fill="black")
    colours = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd"]
    for (name, (precision, recall)), colour in zip(curves.items(), colours):
        points = [(left + (right - left) * r, bottom - (bottom - top) * p) for p, r in zip(precision, recall) if not np.isnan(p)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        legend_y = top + 10 + 16 * list(curves).index(name)
        draw.line([right - 190, legend_y + 6, right - 170, legend_y + 6], fill=colour, width=3)
        draw.text((right - 165, legend_y), name, fill="black")
    image.save(path)
