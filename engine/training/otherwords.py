"""What training costs for words that are not tags, measured on the user's own library.

A user's library has no ground truth for a word it was never tagged with, but CLIP's
own float similarity is what search answered before training, and what open vocabulary
promises to keep (`engine/search/openvocab.py`). So the figure is agreement with CLIP:
for common English words that are no tag of the library, the photos CLIP ranks in its
top `CLIP_SHARE` of the held-out photos count as relevant, and a model's ranking of the
held-out photos (coded as search codes the word) is scored by mAP against them. An
untrained ITQ model scores high by construction (its codes approximate CLIP's angles);
a trained model that forgets CLIP falls towards chance (the share itself).

The words come from the text tower's own vocabulary (open_clip's BPE merges, ordered by
frequency): whole words of 4–12 letters among the most frequent ones, seeded, minus the
library's tags in either grammatical number.
"""

from __future__ import annotations

import functools
import gzip
from typing import Iterable

import numpy as np

from ..search.openvocab import number_forms
from .metrics import hamming_matrix, mean_average_precision

WORD_COUNT = 50  # words asked per evaluation
CLIP_SHARE = 0.1  # the share of held-out photos CLIP's ranking marks relevant
_FREQUENT = (200, 6000)  # the merge ranks words are drawn from: common, but past the function words


@functools.lru_cache(maxsize=1)
def _frequent_words() -> tuple[str, ...]:
    from open_clip.tokenizer import default_bpe

    with gzip.open(default_bpe(), "rt", encoding="utf-8") as handle:
        merges = handle.read().split("\n")[1:]
    words = []
    for line in merges[_FREQUENT[0] : _FREQUENT[1]]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].endswith("</w>"):
            continue
        word = (parts[0] + parts[1])[: -len("</w>")]
        if word.isascii() and word.isalpha() and 4 <= len(word) <= 12:
            words.append(word)
    return tuple(dict.fromkeys(words))


def other_words(tags: Iterable[str], count: int = WORD_COUNT, seed: int = 0) -> list[str]:
    """`count` common English words that are no tag (in either number), the same for the same tags."""
    taken = {form for tag in tags for form in number_forms(tag.casefold())}
    pool = [w for w in _frequent_words() if not taken.intersection(number_forms(w))]
    rng = np.random.default_rng(seed)
    return [pool[i] for i in sorted(rng.choice(len(pool), size=min(count, len(pool)), replace=False))]


def clip_relevance(word_embeddings: np.ndarray, photo_embeddings: np.ndarray, share: float = CLIP_SHARE) -> np.ndarray:
    """(W, N) bool: the photos in CLIP's top `share` for each word (at least one)."""
    words = np.asarray(word_embeddings, np.float32)
    photos = np.asarray(photo_embeddings, np.float32)
    photos = photos / np.maximum(np.linalg.norm(photos, axis=1, keepdims=True), 1e-12)
    similarity = words @ photos.T
    keep = max(1, int(round(share * photos.shape[0])))
    top = np.argsort(-similarity, axis=1, kind="stable")[:, :keep]
    relevant = np.zeros(similarity.shape, dtype=bool)
    np.put_along_axis(relevant, top, True, axis=1)
    return relevant


def agreement_with_clip(word_codes: np.ndarray, photo_codes: np.ndarray, relevant: np.ndarray) -> float:
    """mAP of the words' Hamming rankings of the photos ({0,1} codes) against CLIP's own top photos."""
    return mean_average_precision(hamming_matrix(word_codes, photo_codes), relevant)
