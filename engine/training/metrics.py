"""Retrieval metrics as the cross-modal hashing papers compute them (DCMH, DCHMT).

A query's database items are ranked by Hamming distance, ascending. **Ties are kept
in database order** (a stable sort), so results do not depend on chance; the
benchmark README prescribes the same. An item is relevant when it shares at least
one label with the query.
"""

from __future__ import annotations

import numpy as np


def hamming_matrix(query_codes: np.ndarray, database_codes: np.ndarray) -> np.ndarray:
    """All pairwise Hamming distances between {0,1} code matrices (Q × K, N × K) → Q × N."""
    q = np.asarray(query_codes, dtype=np.float32) * 2 - 1
    d = np.asarray(database_codes, dtype=np.float32) * 2 - 1
    bits = q.shape[1]
    return np.rint((bits - q @ d.T) / 2).astype(np.int32)


def relevance(query_labels: np.ndarray, database_labels: np.ndarray) -> np.ndarray:
    """Q × N booleans: True where query and item share at least one label."""
    return (np.asarray(query_labels, np.float32) @ np.asarray(database_labels, np.float32).T) > 0


def _ranked(distances: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    distances = np.asarray(distances)
    if distances.size and np.abs(distances).max() < 2**15 and np.array_equal(distances, np.rint(distances)):
        # Hamming distances are small integers: as int16, numpy's stable sort is a radix
        # sort, about 9× faster than merge-sorting them as floats, with the same order.
        distances = distances.astype(np.int16)
    order = np.argsort(distances, axis=1, kind="stable")
    return np.take_along_axis(relevant, order, axis=1)


def mean_average_precision(distances: np.ndarray, relevant: np.ndarray, top_k: int | None = None) -> float:
    """mAP@all (or @top_k): mean over queries with any relevant item of AP over the ranking."""
    ranked = _ranked(distances, relevant)
    if top_k is not None:
        ranked = ranked[:, :top_k]
    hits = np.cumsum(ranked, axis=1)
    positions = np.arange(1, ranked.shape[1] + 1)
    precision_at_hits = np.where(ranked, hits / positions, 0.0)
    counts = ranked.sum(axis=1)
    has_any = (relevant.sum(axis=1) > 0) if top_k is None else counts > 0
    if not has_any.any():
        return 0.0
    ap = precision_at_hits.sum(axis=1)[has_any] / counts[has_any]
    return float(ap.mean())


def precision_at_k(distances: np.ndarray, relevant: np.ndarray, k: int) -> float:
    """Mean fraction of relevant items among each query's first k results."""
    return float(_ranked(distances, relevant)[:, :k].mean())


def pr_curve(distances: np.ndarray, relevant: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall of "everything within Hamming radius r", for r = 0..bits.

    Averaged over all (query, item) pairs (micro average), the usual hashing PR curve.
    Precision at radii that retrieve nothing is NaN, so a plot shows the curve only
    where it exists.
    """
    precision = np.full(bits + 1, np.nan)
    recall = np.zeros(bits + 1)
    total_relevant = relevant.sum()
    for radius in range(bits + 1):
        inside = distances <= radius
        retrieved = inside.sum()
        found = (inside & relevant).sum()
        if retrieved:
            precision[radius] = found / retrieved
        recall[radius] = found / total_relevant if total_relevant else 0.0
    return precision, recall
