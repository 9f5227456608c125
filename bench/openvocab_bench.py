"""Open-vocabulary figures of training settings, side by side in one process (offline).

`bitlens eval --regime R` scores every task and both code lengths, which takes 10–20 min
on a 2-core CPU. This script scores only the open-vocabulary query sets
(`engine/training/openvocab_eval.py`: written queries, held-out concepts, out-of-vocabulary
words, album tags and their near-miss forms), for several training settings and seeds on one
indexed library, so a setting is compared with the default trained beside it:

    .venv/bin/python bench/openvocab_bench.py --regime held-out --seeds 0 1 \\
        --variant tags:loss_weights.distillation=0 --variant balanced:loss_weights.distillation=2

Each variant is NAME:SECTION.KEY=VALUE[,SECTION.KEY=VALUE…] (empty after the colon: the
built-in config). `--work DIR` keeps the indexed library for the next run. The ground truth
only lays the folders out and scores. Last line: one JSON object of every row.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
BENCH = REPO.parent / "shared" / "benchmark" / "scenes-s0"
COLUMNS = ("zero_shot", "text_branch", "search")


def parse_variant(text: str) -> tuple[str, dict]:
    from engine.models.config import parse_overrides

    name, _, settings = text.partition(":")
    return name, parse_overrides([s for s in settings.split(",") if s])


def neighbour_check(gt: dict, queries, labels, embed, embeddings, codes, database_codes, draws: int = 3) -> None:
    """How precise the written queries' zero-shot neighbours are, and what precision the coding needs.

    The queries that are no tag are coded from their neighbours' trained codes. Here those
    neighbours are also drawn from the ground truth with a chosen share of relevant photos,
    to show what written-query mAP each neighbour precision gives (the ground truth only
    simulates and scores; nothing is trained on it).
    """
    import numpy as np

    from engine.search.expansion import majority_code
    from engine.search.openvocab import vocabulary_form
    from engine.training import querysets
    from engine.training.metrics import hamming_matrix, mean_average_precision
    from engine.training.openvocab_eval import search_text_codes, zero_shot_neighbours

    relevant = querysets.relevance_of(queries, {c["id"]: c["index"] for c in gt["concepts"]}, labels)
    texts = [q.text for q in queries]
    _, neighbours = zero_shot_neighbours(embeddings)
    coded = search_text_codes(codes, embed, texts, database_codes, neighbours)
    free = [i for i, t in enumerate(texts) if vocabulary_form(t, frozenset(codes.vocabulary)) is None]
    vectors = embed([texts[i] for i in free])
    found = np.mean([relevant[i, neighbours.rows_for(v)].mean() for i, v in zip(free, vectors)])
    print(
        f"written queries that are no tag: {len(free)} of {len(texts)}; precision of their {neighbours.k} zero-shot neighbours "
        f"{found:.3f} (a random photo: {relevant[free].mean():.3f}); mAP as search codes them "
        f"{mean_average_precision(hamming_matrix(coded, database_codes), relevant):.4f}"
    )
    own = codes.encode_texts(vectors)  # ties go to the query's own text-branch bit, as search breaks them
    rng = np.random.default_rng(0)
    for precision in (0.2, 0.4, 0.6, 0.8, 1.0):
        scores = []
        for _ in range(draws):
            simulated = coded.copy()
            for i, own_bits in zip(free, own):
                good, bad = np.flatnonzero(relevant[i]), np.flatnonzero(~relevant[i])
                hits = rng.binomial(neighbours.k, precision)
                rows = np.concatenate([rng.choice(good, hits, replace=False), rng.choice(bad, neighbours.k - hits, replace=False)])
                simulated[i] = majority_code(own_bits, database_codes[rows])
            scores.append(mean_average_precision(hamming_matrix(simulated, database_codes), relevant))
        print(f"  neighbours {precision:.0%} relevant (simulated, {draws} draws): written queries mAP {np.mean(scores):.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmark", default=str(BENCH))
    parser.add_argument("--regime", default="folders", choices=("rich", "folders", "held-out"))
    parser.add_argument("--bits", type=int, default=64)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--variant", action="append", default=[], metavar="NAME:OVERRIDES")
    parser.add_argument("--work", help="where the regime's library is built and kept (default: a temporary folder)")
    parser.add_argument(
        "--neighbour-check",
        action="store_true",
        help="also print, for the first variant, how precise the zero-shot neighbours of the written queries are, and "
        "what the written queries would score with neighbours of a given precision (drawn from the ground truth: a diagnostic)",
    )
    args = parser.parse_args()

    import numpy as np

    from engine.codes.hashing_file import load_hashing_codes
    from engine.library.library import Library
    from engine.library.schema import Model
    from engine.models.backbones import Backbone
    from engine.training.benchmark import TEXT_PROMPT, _library_features, standin_backbone
    from engine.training.lifecycle import train_model
    from engine.training.openvocab_eval import open_vocabulary_rows, query_sets, regime_folders
    from engine.training.regimes import layout, mirror

    benchmark = Path(args.benchmark).resolve()
    gt = json.loads((benchmark / "ground_truth.json").read_text(encoding="utf-8"))
    spec = standin_backbone(benchmark)
    work = Path(args.work or tempfile.mkdtemp(prefix="bitlens-openvocab-"))
    database = [im for im in gt["images"] if im["split"] == "database"]
    mirror(benchmark, database, work / "database", args.regime)
    library = Library(work / "library")
    started = time.perf_counter()
    library.index([work / "database"], backbone=spec, precision="fp32", ocr=False)
    print(f"indexed {len(database)} photos ({args.regime}) in {time.perf_counter() - started:.0f} s", flush=True)
    embeddings, tokens, tags = _library_features(library, work / "database", layout(database, args.regime), spec.key)
    labels = np.array([im["label_vector"] for im in database], dtype=bool)
    sets = query_sets(gt, tags, regime_folders(work / "database"), args.regime)
    encoder = Backbone(spec)

    def embed(texts: list[str]) -> np.ndarray:
        return encoder.encode_texts([TEXT_PROMPT.format(t) for t in texts])

    variants = [parse_variant(v) for v in args.variant] or [("default", {})]
    rows = []
    for seed in args.seeds:
        for name, overrides in variants:
            settings = json.loads(json.dumps(overrides))
            settings.setdefault("training", {})["seed"] = seed
            started = time.perf_counter()
            model_id = train_model(library, bits=args.bits, epochs=args.epochs, overrides=settings)
            seconds = time.perf_counter() - started
            with library.store.session() as session:
                model = session.get(Model, model_id)
                codes = load_hashing_codes(Path(model.checkpoint))
                history = json.loads(model.metrics or "{}").get("history", [{}])
            codes.needs_tags = codes.can_fuse
            database_codes = codes.encode_images(embeddings, tokens, tags)
            if args.neighbour_check and (seed, name) == (args.seeds[0], variants[0][0]):
                neighbour_check(gt, sets["written queries"], labels, embed, embeddings, codes, database_codes)
            for row in open_vocabulary_rows(gt, sets, labels, args.bits, embed, embeddings, codes, database_codes, radius=history[-1].get("close_radius")):
                rows.append({"variant": name, "seed": seed, "train_seconds": round(seconds, 1), **row})
                print(
                    f"{name:<12} seed {seed}  {row['query_set']:<38}"
                    + "".join(f"{c.replace('_', ' ')} {row[c]:.4f}  " for c in COLUMNS)
                    + f"(trained in {seconds:.0f} s)",
                    flush=True,
                )
    library.close()
    print(json.dumps({"regime": args.regime, "bits": args.bits, "rows": rows}))


if __name__ == "__main__":
    main()
