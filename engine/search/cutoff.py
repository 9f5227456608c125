"""The relevance cutoff: how far (in bits) a result may be from the query and still count.

Two unrelated K-bit codes differ in about K/2 bits. With independent fair bits the standard
deviation would be sqrt(K)/2 and the default radius, K/2 - sqrt(K), two of them below chance.
Real code bits are correlated, so the spread is wider: on the scenes benchmark (stand-in CLIP,
ITQ 64-bit, 800 photos, 60 text queries; bench/cutoff_bench.py) radius 24 kept 14% of the
photos per query and left no query empty, radius 16 kept 1.8%. The slider / --radius N set
it per search.

A trained model knows better: training holds some tagged photos out, and the radius that
best separates their tags' codes from photos sharing a tag and from the rest
(`calibrated_radius`) is stored with the model and becomes its default.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np


def default_radius(bits: int) -> int:
    """The default cutoff for K-bit codes: 16 → 4, 32 → 10, 64 → 24, 128 → 52."""
    if bits <= 0:
        raise ValueError(f"bits must be positive, got {bits}")
    return max(0, int(math.floor(bits / 2 - math.sqrt(bits))))


def parse_radius(text: str, bits: int, default: Optional[int] = None) -> int:
    """A user's radius: a whole number of bits, or 'auto' for the default (the model's own, if given)."""
    if text.strip().lower() in ("auto", "default", ""):
        return default_radius(bits) if default is None else default
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"radius must be a whole number of bits or 'auto', not '{text}'") from None
    if not 0 <= value <= bits:
        raise ValueError(f"radius must be between 0 and {bits} for {bits}-bit codes, not {value}")
    return value


def calibrated_radius(distances: np.ndarray, relevant: np.ndarray, bits: int) -> tuple[int, float, float]:
    """The radius that best separates related from unrelated pairs, with its precision and recall.

    `distances` (Q, N): Hamming distances of Q queries to N photos; `relevant` (Q, N): which
    pairs belong together (e.g. held-out photos' tags and the photos sharing a tag). Every
    pair counts once ("everything within r bits" over all queries); the radius with the
    highest F1 wins, the smaller one on a tie. With no related pair at all, the
    code-length default.
    """
    distances = np.asarray(distances).ravel().astype(np.int64)
    relevant = np.asarray(relevant).ravel().astype(bool)
    total = int(relevant.sum())
    if total == 0 or distances.size == 0:
        return default_radius(bits), float("nan"), float("nan")
    found = np.cumsum(np.bincount(distances[relevant], minlength=bits + 1)[: bits + 1])
    retrieved = np.cumsum(np.bincount(distances, minlength=bits + 1)[: bits + 1])
    precision = np.divide(found, retrieved, out=np.zeros(bits + 1), where=retrieved > 0)
    recall = found / total
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(bits + 1), where=(precision + recall) > 0)
    best = int(np.argmax(f1))
    return best, float(precision[best]), float(recall[best])
