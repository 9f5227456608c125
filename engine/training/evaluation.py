"""Before/after retrieval quality on the photos a training run held out.

The trainer holds out a random tenth of the tagged photos (seeded, so the same split
comes back from the same library, sources and config). Here every model asked about
codes those photos from their pixels alone, and is scored on:

- photo → photo and tag → photo: `heldout.py`, the very figures the trainer reported
  for its last epoch (mAP, precision@10), plus the photo → photo PR curve;
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
from .heldout import held_out, score, tag_names
from .metrics import pr_curve
from .openvocab_eval import search_text_codes, zero_shot_neighbours
from .otherwords import agreement_with_clip, clip_relevance, other_words


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
    held = held_out(data, int(config.training.get("seed", 0)))
    if held.empty:
        raise ModelError("there are too few tagged photos to hold some out for an evaluation")
    queries, database = held.queries, held.database
    words = other_words(data.vocabulary)
    word_vectors = encode_texts([TEXT_PROMPT.format(w) for w in words])
    word_relevant = clip_relevance(word_vectors, data.embeddings[queries])
    pool = np.concatenate([database, queries])
    _, neighbours = zero_shot_neighbours(np.asarray(data.embeddings[pool], np.float32))
    example_tags = [int(t) for t in held.query_tags[:examples]]
    paths = _paths_of(library, [data.hashes[i] for i in queries])

    scores, shown = [], {}
    for step, (model_id, model) in enumerate(rows.items(), start=1):
        cancel.raise_if_cancelled()
        say(step, len(rows) + 1, f"scoring {model.name}")
        codes = load_code_model(model, device=device)
        found = score(codes, held, data)
        precision, recall = pr_curve(found.distances, held.relevant, codes.bits)
        tokens = None if data.tokens is None else data.tokens[queries]
        held_stored = codes.encode_images(data.embeddings[queries], tokens, tag_names(data, queries) if codes.needs_tags else None)
        stored = np.concatenate([found.database_codes, held_stored])  # every photo as the library stores it
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
                image_map=found.image_map,
                image_p10=found.image_p10,
                text_map=found.text_map,
                other_words_map=agreement_with_clip(word_codes, held_stored, word_relevant),
                precision=[float(p) for p in precision],
                recall=[float(r) for r in recall],
            )
        )
        for row, tag in enumerate(example_tags):
            order = np.argsort(found.text_distances[row], kind="stable")[:top]
            shown.setdefault(tag, {})[model_id] = [(paths[int(k)], bool(held.tag_relevant[row, k])) for k in order]
    say(len(rows) + 1, len(rows) + 1, "done")
    examples_out = [{"tag": data.vocabulary[tag], "results": shown[tag]} for tag in example_tags]
    return Evaluation(scores, held_out=len(queries), database=len(database), tag_queries=len(held.query_tags), examples=examples_out)


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
