"""The one held-out score of a training run: which photos, which queries, what counts as relevant.

The trainer scores every epoch with it and `evaluation.py` scores the finished model (and
the model it would replace) with it, so the training chart's last point, the Models
dialog and the Evaluate page's "after" column are one and the same figure:

- photo → photo: each held-out photo, coded from its pixels alone, queries the tagged
  training photos coded as the library stores them (with their tags where the model
  fuses them); relevant = shares a tag; mAP and precision@10;
- tag → photo: each of the most frequent tags on the held-out photos (up to
  `MAX_TAG_QUERIES`), coded as search codes a typed tag ("a photo of …" through the text
  branch), ranks the held-out photos coded from their pixels; relevant = carries the tag.

The held-out photos are the tagged photos `data.build_training_data` set aside (seeded),
so the same library, tag sources, folders and config give the same ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from .data import TrainingData
from .metrics import hamming_matrix, mean_average_precision, precision_at_k, relevance

DATABASE_LIMIT = 3000  # tagged training photos the held-out photos query (a seeded sample beyond that)
MAX_TAG_QUERIES = 50  # tags asked as queries, the most frequent on the held-out photos first


@dataclass(frozen=True)
class HeldOut:
    """What every held-out score compares: photos (indices into the training data) and relevance."""

    queries: np.ndarray  # the held-out photos
    database: np.ndarray  # the tagged training photos they query
    relevant: np.ndarray  # queries × database: shares a tag
    query_tags: np.ndarray  # vocabulary indices of the tags asked as queries
    tag_relevant: np.ndarray  # query tags × held-out photos: the photo carries the tag

    @property
    def empty(self) -> bool:
        return len(self.queries) == 0 or len(self.database) == 0


@dataclass
class HeldOutScores:
    """One model's held-out figures, with the distances they came from."""

    image_map: float
    image_p10: float
    text_map: float
    distances: np.ndarray  # held-out photos × database photos (Hamming)
    text_distances: np.ndarray  # query tags × held-out photos (Hamming)
    database_codes: np.ndarray  # {0,1}, as the library stores them

    def figures(self) -> dict[str, float]:
        return {"image_map": self.image_map, "image_p10": self.image_p10, "text_map": self.text_map}


def held_out(data: TrainingData, seed: int = 0, usable: Optional[np.ndarray] = None) -> HeldOut:
    """The held-out comparison of a training split; `usable` (bool per photo) leaves photos out."""
    rng = np.random.default_rng(seed + 7)
    database = [i for i in data.train if data.tag_lists[i]]
    if len(database) > DATABASE_LIMIT:
        database = sorted(rng.choice(database, DATABASE_LIMIT, replace=False))
    database = np.asarray(database, dtype=np.int64)
    queries = np.asarray(data.validation, dtype=np.int64)
    if usable is not None:
        database, queries = database[usable[database]], queries[usable[queries]]
    labels_q, labels_db = data.labels(queries), data.labels(database)
    counts = labels_q.sum(axis=0)
    query_tags = np.asarray([j for j in np.argsort(-counts, kind="stable") if counts[j] > 0][:MAX_TAG_QUERIES], dtype=np.int64)
    return HeldOut(queries, database, relevance(labels_q, labels_db), query_tags, labels_q[:, query_tags].T > 0)


Inputs = Callable[[np.ndarray], tuple[np.ndarray, Optional[np.ndarray]]]


def cached_inputs(data: TrainingData) -> Inputs:
    """A code model's image inputs for photos: the cached backbone features (and patch tokens)."""
    return lambda ix: (data.embeddings[ix], None if data.tokens is None else data.tokens[ix])


def tag_names(data: TrainingData, ix: np.ndarray) -> list[list[str]]:
    """Each photo's tags from the vocabulary, as indexing hands them to a model that fuses them."""
    return [[data.vocabulary[j] for j in data.tag_lists[i]] for i in ix]


def score(codes, held: HeldOut, data: TrainingData, inputs: Optional[Inputs] = None) -> HeldOutScores:
    """A code model's (engine.codes.CodeModel) held-out figures; `inputs` default to the cached features."""
    inputs = inputs or cached_inputs(data)

    def image_codes(ix: np.ndarray, as_stored: bool) -> np.ndarray:
        embeddings, tokens = inputs(ix)
        return codes.encode_images(embeddings, tokens, tag_names(data, ix) if as_stored and codes.needs_tags else None)

    database_codes = image_codes(held.database, True)  # as the library stores them
    query_codes = image_codes(held.queries, False)  # from the pixels alone
    tag_codes = codes.encode_texts(data.vocabulary_embeddings[held.query_tags])  # "a photo of <tag>", as search codes it
    distances = hamming_matrix(query_codes, database_codes)
    text_distances = hamming_matrix(tag_codes, query_codes)
    return HeldOutScores(
        image_map=mean_average_precision(distances, held.relevant),
        image_p10=precision_at_k(distances, held.relevant, min(10, len(held.database))),
        text_map=mean_average_precision(text_distances, held.tag_relevant),
        distances=distances,
        text_distances=text_distances,
        database_codes=database_codes,
    )
