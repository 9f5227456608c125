"""Target codes from the tags alone: what each tagged photo's code should be.

Two photos of one kind of subject often share no tag ("owl" and "penguin"), but their
tags keep the same company (both co-occur with "birds", the album they were filed in).
Each photo's tag vector is expanded by the co-occurrence of its tags
(`losses.expand_tags`), and ITQ (PCA plus a rotation) turns the expanded vectors into
K-bit codes. The branches of the hashing network are then taught to reproduce these
codes from pixels, from tags and from both, as SSAH's label network supervises its image
and text networks, with the expansion in place of its clean labels.

The work is done in chunks of photos, so a 100,000-photo library never holds a dense
photos × vocabulary matrix, only V × V sums.
"""

from __future__ import annotations

from typing import Callable, Iterator, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..models.projection import itq_rotation, pca_basis
from .losses import cooccurrence_from_gram, expand_tags

CHUNK = 4096
LabelsOf = Callable[[list[int]], np.ndarray]  # photo indices -> their multi-hot tag rows


def _label_chunks(labels_of: LabelsOf, indices: Sequence[int], device) -> Iterator[tuple[list[int], torch.Tensor]]:
    """(photo indices, multi-hot rows) of the photos in `indices` that have tags, CHUNK photos at a time."""
    chosen = [int(i) for i in indices]
    for start in range(0, len(chosen), CHUNK):
        rows = chosen[start : start + CHUNK]
        labels = torch.from_numpy(labels_of(rows)).to(device)
        keep = labels.sum(dim=1) > 0
        if keep.any():
            yield [r for r, k in zip(rows, keep.tolist()) if k], labels[keep]


def training_cooccurrence(labels_of: LabelsOf, indices: Sequence[int], vocabulary: int, device) -> torch.Tensor:
    """`losses.tag_cooccurrence` of the photos in `indices`, summed in chunks (V × V, never photos × V)."""
    gram = torch.zeros(vocabulary, vocabulary, device=device)
    for _, labels in _label_chunks(labels_of, indices, device):
        gram += labels.T @ labels
    return cooccurrence_from_gram(gram)


def semantic_target_codes(
    labels_of: LabelsOf,
    indices: Sequence[int],
    count: int,
    vocabulary: int,
    expansion: Optional[torch.Tensor],
    strength: float,
    bits: int,
    seed: int = 0,
    iterations: int = 50,
    device="cpu",
) -> np.ndarray:
    """±1 codes (count × bits, int8) for the photos in `indices`; 0 rows for all others.

    `labels_of(chunk)` gives the multi-hot tag rows of those photo indices; photos in
    `indices` without tags get no target. `expansion` and `strength` are those of
    `losses.expand_tags`; without a matrix (or with strength 0) the codes come from the
    plain tags.
    """
    out = np.zeros((count, bits), np.int8)
    if vocabulary == 0:
        return out

    def expanded_chunks():
        for rows, labels in _label_chunks(labels_of, indices, device):
            yield rows, F.normalize(expand_tags(labels, expansion, strength), dim=1)

    # Sums over photos in float64; a chunk's own product in float32, three times faster
    # and exact enough for its at most CHUNK unit vectors.
    total = torch.zeros(vocabulary, dtype=torch.float64, device=device)
    gram = torch.zeros(vocabulary, vocabulary, dtype=torch.float64, device=device)
    n = 0
    for _, vectors in expanded_chunks():
        total += vectors.sum(dim=0, dtype=torch.float64)
        gram += (vectors.T @ vectors).double()
        n += len(vectors)
    if n == 0:
        return out
    mean = total / n
    rng = np.random.default_rng(seed)
    basis = pca_basis((gram / n - torch.outer(mean, mean)).cpu().numpy(), bits, rng)
    mean = mean.cpu().numpy()
    rows, projected = [], []
    for chunk_rows, vectors in expanded_chunks():
        rows.extend(chunk_rows)
        projected.append((vectors.cpu().numpy().astype(np.float64) - mean) @ basis)
    v = np.concatenate(projected)
    rotation = itq_rotation(v, iterations, rng)
    out[rows] = np.where(v @ rotation >= 0, 1, -1).astype(np.int8)
    return out


def code_target_loss(codes: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean squared distance of tanh codes from their ±1 targets, over rows that have one."""
    has = targets.abs().sum(dim=1) > 0
    if not has.any():
        return codes.sum() * 0
    return (codes[has] - targets[has].to(codes.dtype)).pow(2).mean()
