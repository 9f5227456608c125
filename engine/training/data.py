"""Training data from the library: cached backbone features and the photos' weak tags.

Nothing here reads a benchmark's ground truth: the network learns from what the
folders expose (folder and file names, XMP/IPTC keywords, sidecars, user tags).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Optional, Sequence

import numpy as np

from ..library.features import FeatureCache
from ..codes.bits import EMBED_DTYPE
from ..library.pathtext import to_db
from ..library.schema import TAG_SOURCES
from .errors import TrainingDataError


MIN_TAGGED_PHOTOS = 20


def below_folders(folders: Optional[Sequence[str]]) -> tuple[str, list]:
    """An SQL condition on `images i` and its arguments: the photo lies below one of `folders` (none: no condition).

    A folder is a library folder or any sub-folder of one; a photo below it at any depth
    counts. Compared as an exact prefix ending in the separator, so "Trips" is neither
    "Trips 2019" nor, on a case-sensitive disk, "trips".
    """
    if not folders:
        return "", []
    # to_db: a folder whose name is not UTF-8 is stored escaped (library/pathtext.py)
    prefixes = [to_db(str(f).rstrip(os.sep) + os.sep) for f in folders]
    clause = " AND (" + " OR ".join("substr(i.path, 1, ?) = ?" for _ in prefixes) + ")"
    return clause, [value for prefix in prefixes for value in (len(prefix), prefix)]


@dataclass
class TrainingData:
    """Photos (distinct contents) with features and tag indices into a vocabulary."""

    hashes: list[str]
    embeddings: np.ndarray  # N × D
    tokens: Optional[np.ndarray]  # N × S × D, or None for towers without patch tokens
    vocabulary: list[str]
    tag_lists: list[list[int]]
    vocabulary_embeddings: np.ndarray  # V × D (CLIP text embeddings of the prompted tags)
    train: np.ndarray  # indices
    validation: np.ndarray  # indices of held-out tagged photos

    @property
    def dim(self) -> int:
        return int(self.embeddings.shape[1])

    @cached_property
    def _flat_tags(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The tag lists as one flat array with each photo's start and count (built once)."""
        counts = np.fromiter((len(t) for t in self.tag_lists), np.int64, len(self.tag_lists))
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        flat = np.fromiter((j for t in self.tag_lists for j in t), np.int64, int(counts.sum()))
        return flat, starts, counts

    def tag_rows(self, indices: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """The photos' tags padded to the longest (len(indices) × W, 0 under padding) and their counts."""
        flat, starts, counts = self._flat_tags
        indices = np.asarray(indices, dtype=np.int64)
        n = counts[indices]
        width = max(1, int(n.max())) if len(n) else 1
        columns = np.arange(width)
        valid = columns < n[:, None]
        if len(flat) == 0:
            return np.zeros((len(indices), width), np.int64), n
        position = np.minimum(starts[indices][:, None] + columns, len(flat) - 1)
        return np.where(valid, flat[position], 0), n

    def labels(self, indices: Sequence[int]) -> np.ndarray:
        """Multi-hot tag matrix (len(indices) × V) as float32."""
        rows, n = self.tag_rows(indices)
        out = np.zeros((len(rows), len(self.vocabulary)), np.float32)
        valid = np.arange(rows.shape[1]) < n[:, None]
        out[np.nonzero(valid)[0], rows[valid]] = 1.0
        return out

    def has_tags(self, indices: Sequence[int]) -> np.ndarray:
        return self._flat_tags[2][np.asarray(indices, dtype=np.int64)] > 0

    def sample_tag_sets(self, indices: Sequence[int], rng: np.random.Generator, max_tags: int) -> tuple[np.ndarray, np.ndarray]:
        """Training tag sets: (B × T) vocabulary indices and mask (True = a tag), T ≤ max_tags.

        Half of the photos with two or more tags get a random subset of random size (so
        one-word queries are in-distribution during training); the others keep their
        first `max_tags` tags. Drawn for the whole batch at once, without a Python loop.
        """
        rows, n = self.tag_rows(indices)
        batch, width = rows.shape
        subset = (n > 1) & (rng.random(batch) < 0.5)
        keys = rng.random((batch, width))
        keys[np.arange(width) >= n[:, None]] = 2.0  # padding sorts last
        order = np.where(subset[:, None], np.argsort(keys, axis=1), np.arange(width))
        shuffled = np.take_along_axis(rows, order, axis=1)
        size = np.where(subset, rng.integers(1, np.maximum(n, 1) + 1), n)
        size = np.minimum(size, max_tags)
        width = max(1, int(size.max())) if batch else 1
        mask = np.arange(width) < size[:, None]
        return np.where(mask, shuffled[:, :width], 0), mask


def build_training_data(
    library,
    backbone_key: str,
    encode_texts: Callable[[list[str]], np.ndarray],
    config_data: dict,
    sources: Sequence[str] = TAG_SOURCES,
    folders: Optional[Sequence[str]] = None,
    seed: int = 0,
) -> TrainingData:
    """Collect every ok photo's features and tags; hold out some tagged photos for validation."""
    marks = ",".join("?" * len(sources))
    folder_clause, folder_args = below_folders(folders)
    with library.store.raw() as db:
        rows = db.execute(
            "SELECT i.content_hash, e.vector FROM images i JOIN embeddings e ON e.content_hash = i.content_hash AND e.backbone_key = ? "
            f"WHERE i.status = 'ok'{folder_clause} ORDER BY i.id",
            [backbone_key, *folder_args],
        ).fetchall()
        tag_rows = db.execute(
            f"SELECT i.content_hash, t.name FROM image_tags it JOIN images i ON i.id = it.image_id JOIN tags t ON t.id = it.tag_id "
            f"WHERE i.status = 'ok' AND it.source IN ({marks}){folder_clause}",
            [*sources, *folder_args],
        ).fetchall()
    # copies share a content hash: one row per content, with the union of their tags
    features: dict[str, np.ndarray] = {}
    for digest, vector in rows:
        features.setdefault(digest, np.frombuffer(vector, dtype=EMBED_DTYPE))
    hashes = list(features)
    order = {h: i for i, h in enumerate(hashes)}
    if not hashes:
        raise TrainingDataError("the library has no indexed photos: index some folders first")
    tags_by_hash: dict[str, set[str]] = {}
    for digest, name in tag_rows:
        if digest in order:
            tags_by_hash.setdefault(digest, set()).add(name)
    counts = Counter(tag for tags in tags_by_hash.values() for tag in tags)
    min_count = int(config_data.get("min_tag_count", 2))
    # A tag on most photos (say the name of the top folder) tells photos apart no better than
    # a stop word does: leave it out, as a search engine ignores "the".
    max_count = float(config_data.get("max_tag_fraction", 0.5)) * len(hashes)
    vocabulary = [tag for tag, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if min_count <= n <= max_count]
    vocabulary = vocabulary[: int(config_data.get("max_vocabulary", 2000))]
    index = {tag: i for i, tag in enumerate(vocabulary)}
    tag_lists = [sorted(index[t] for t in tags_by_hash.get(h, ()) if t in index) for h in hashes]
    tagged = np.array([i for i, tags in enumerate(tag_lists) if tags])
    if len(tagged) < MIN_TAGGED_PHOTOS:
        raise TrainingDataError(
            f"only {len(tagged)} photos have tags that occur at least {min_count} times; training needs at least "
            f"{MIN_TAGGED_PHOTOS}. Add folders with meaningful names or keywords, or tag some photos."
        )
    rng = np.random.default_rng(seed)
    held_out = rng.permutation(tagged)[: int(round(len(tagged) * float(config_data.get("validation_fraction", 0.1))))]
    train = np.setdiff1d(np.arange(len(hashes)), held_out)
    embeddings = np.stack(list(features.values())).astype(np.float32)
    cache = FeatureCache(library.paths.cache, backbone_key)
    try:
        cached = cache.cached_token_hashes()
        tokens = cache.get_tokens(hashes, embeddings.shape[1]) if cached and all(h in cached for h in hashes) else None
        prompt = str(config_data.get("text_prompt", "{}"))
        vocabulary_embeddings = cache.tag_embeddings([prompt.format(t) for t in vocabulary], lambda texts: encode_texts(list(texts)))
    finally:
        cache.close()
    return TrainingData(hashes, embeddings, tokens, vocabulary, tag_lists, vocabulary_embeddings, train, np.sort(held_out))
