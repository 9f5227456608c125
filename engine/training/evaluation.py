"""Before/after retrieval quality on the photos a training run held out.

The trainer holds out a random tenth of the tagged photos (seeded, so the same split
comes back from the same library, sources and config). Here every model asked about
codes those photos from their pixels alone, and is scored on:

- photo → photo: each held-out photo queries the training photos (coded as the
  library would code them); relevant = shares a tag (mAP, precision@10, PR curve);
- tag → photo: each tag seen on a held-out photo, as a text query, ranks the
  held-out photos (the words find photos training never saw; mAP);
- other words → photo: common words that are no tag, coded as search codes them, rank
  the held-out photos; scored against CLIP's own ranking (`otherwords.py`): what training
  costs the words the user never tagged;
- examples: a few of the most frequent tags, with each model's first results.

Tags are weak labels, so these numbers measure agreement with the user's own tags,
which is what the user asked search to learn.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from ..jobs import CancelToken, ProgressCallback, ProgressEvent
from ..library.codemodels import backbone_of, load_code_model
from ..library.schema import TAG_SOURCES, Model
from ..search.searcher import TEXT_PROMPT
from .errors import ModelError
from .metrics import hamming_matrix, mean_average_precision, pr_curve, precision_at_k
from .openvocab_eval import search_text_codes, zero_shot_neighbours
from .otherwords import agreement_with_clip, clip_relevance, other_words

MAX_TAG_QUERIES = 50


@dataclass
class ModelScores:
    """One model's numbers on the held-out photos."""

    id: int
    name: str
    kind: str
    bits: int
    image_map: float
    image_p10: float
    text_map: float
    other_words_map: float  # agreement with CLIP for words that are no tag (otherwords.py)
    precision: list[float]  # PR curve of photo → photo, one point per Hamming radius (NaN: nothing retrieved)
    recall: list[float]


@dataclass
class Evaluation:
    """Scores of each model, on the same held-out photos and tag queries, plus example queries."""

    scores: list[ModelScores]
    held_out: int
    database: int
    tag_queries: int
    examples: list[dict] = field(default_factory=list)  # {"tag", "results": {model id: [(path, has tag)]}}

    def by_id(self, model_id: int) -> ModelScores:
        return next(s for s in self.scores if s.id == model_id)


def evaluate_models(
    library,
    trained_id: int,
    other_ids: Sequence[int] = (),
    sources: Optional[Sequence[str]] = None,
    folders: Optional[Sequence[str]] = None,
    examples: int = 3,
    top: int = 5,
    device: str = "cpu",
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
) -> Evaluation:
    """Score a trained model and others (the previously active one) on the trained model's held-out photos."""
    from ..models.backbones import Backbone
    from ..models.hashing import HashingConfig
    from .data import build_training_data

    cancel = cancel or CancelToken()
    with library.store.session() as session:
        rows = {}
        for model_id in (trained_id, *other_ids):
            model = session.get(Model, model_id)
            if model is None:
                raise ModelError(f"no model with id {model_id}")
            rows[model_id] = model
            session.expunge(model)
    spec = backbone_of(rows[trained_id])
    for model_id, model in rows.items():
        if backbone_of(model).key != spec.key:
            raise ModelError(f"model '{model.name}' uses another backbone, so it cannot be compared on the same features")
    config_json = json.loads(rows[trained_id].config)
    config = HashingConfig.load(overrides=config_json.get("hashing", {}))
    backbone: list = []

    def encode_texts(texts: list[str]) -> np.ndarray:
        if not backbone:
            backbone.append(Backbone(spec, device=device))
        return backbone[0].encode_texts(texts)

    def say(done: int, total: int, message: str) -> None:
        if progress is not None:
            progress(ProgressEvent("evaluate", done, total, message))

    say(0, len(rows) + 1, "collecting the held-out photos")
    data = build_training_data(
        library, spec.key, encode_texts, config.data, sources=sources or TAG_SOURCES, folders=folders, seed=int(config.training.get("seed", 0))
    )
    queries = np.asarray(data.validation, dtype=np.int64)
    database = np.asarray([i for i in data.train if data.tag_lists[i]], dtype=np.int64)
    if len(queries) == 0 or len(database) == 0:
        raise ModelError("there are too few tagged photos to hold some out for an evaluation")
    labels_q, labels_db = data.labels(queries), data.labels(database)
    relevant = (labels_q @ labels_db.T) > 0
    query_tags = [j for j in np.argsort(-labels_q.sum(axis=0), kind="stable") if labels_q[:, j].any()][:MAX_TAG_QUERIES]
    tag_relevant = labels_q[:, query_tags].T > 0  # tags × held-out photos
    tag_vectors = encode_texts([TEXT_PROMPT.format(data.vocabulary[j]) for j in query_tags])
    words = other_words(data.vocabulary)
    word_vectors = encode_texts([TEXT_PROMPT.format(w) for w in words])
    word_relevant = clip_relevance(word_vectors, data.embeddings[queries])
    pool = np.concatenate([database, queries])
    _, neighbours = zero_shot_neighbours(np.asarray(data.embeddings[pool], np.float32))
    example_tags = query_tags[:examples]
    paths = _paths_of(library, [data.hashes[i] for i in queries])

    def names(i: int) -> list[str]:
        return [data.vocabulary[j] for j in data.tag_lists[i]]

    scores, shown = [], {}
    for step, (model_id, model) in enumerate(rows.items(), start=1):
        cancel.raise_if_cancelled()
        say(step, len(rows) + 1, f"scoring {model.name}")
        codes = load_code_model(model, device=device)

        def image_codes(ix: np.ndarray, with_tags: bool) -> np.ndarray:
            tokens = None if data.tokens is None else data.tokens[ix]
            tags = [names(i) for i in ix] if with_tags and codes.needs_tags else None
            return codes.encode_images(data.embeddings[ix], tokens, tags)

        db_codes = image_codes(database, True)  # as the library stores them
        q_codes = image_codes(queries, False)  # from the pixels alone
        distances = hamming_matrix(q_codes, db_codes)
        precision, recall = pr_curve(distances, relevant, codes.bits)
        text_distances = hamming_matrix(codes.encode_texts(tag_vectors), q_codes)
        stored = np.concatenate([db_codes, image_codes(queries, True)])  # every photo as the library stores it
        if getattr(codes, "vocabulary", None):  # a trained model: words that are no tag vote over CLIP's neighbours
            word_codes = search_text_codes(codes, lambda texts: encode_texts([TEXT_PROMPT.format(t) for t in texts]), words, stored, neighbours)
        else:
            word_codes = codes.encode_texts(word_vectors)
        scores.append(
            ModelScores(
                id=model_id,
                name=model.name,
                kind=model.kind,
                bits=codes.bits,
                image_map=mean_average_precision(distances, relevant),
                image_p10=precision_at_k(distances, relevant, min(10, len(database))),
                text_map=mean_average_precision(text_distances, tag_relevant),
                other_words_map=agreement_with_clip(word_codes, stored[len(database) :], word_relevant),
                precision=[float(p) for p in precision],
                recall=[float(r) for r in recall],
            )
        )
        for row, tag in enumerate(example_tags):
            order = np.argsort(text_distances[row], kind="stable")[:top]
            shown.setdefault(int(tag), {})[model_id] = [(paths[int(k)], bool(tag_relevant[row, k])) for k in order]
    say(len(rows) + 1, len(rows) + 1, "done")
    examples_out = [{"tag": data.vocabulary[tag], "results": shown[int(tag)]} for tag in example_tags]
    return Evaluation(scores, held_out=len(queries), database=len(database), tag_queries=len(query_tags), examples=examples_out)


def _paths_of(library, hashes: list[str]) -> list[str]:
    """One library path for each content hash (copies share a hash: the first one found)."""
    found: dict[str, str] = {}
    with library.store.raw() as db:
        for start in range(0, len(hashes), 900):
            chunk = hashes[start : start + 900]
            marks = ",".join("?" * len(chunk))
            for digest, path in db.execute(f"SELECT content_hash, path FROM images WHERE status = 'ok' AND content_hash IN ({marks}) ORDER BY id", chunk):
                found.setdefault(digest, path)
    return [found.get(h, "") for h in hashes]
