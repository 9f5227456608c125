"""Codes before any training: ITQ (iterative quantisation) on the library's own embeddings.

Gong & Lazebnik's ITQ: centre, PCA to K dimensions, then learn the rotation that
brings the projected points closest to the corners of the hypercube. Because CLIP
puts images and texts in one space, the same projection codes both; texts are
centred with the image mean, the same choice as the benchmark's reference run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_BITS = 64
ALLOWED_BITS = (16, 32, 64, 128)


@dataclass
class ItqProjection:
    """x → sign((x − mean) · W · R): the whole unsupervised hash function."""

    mean: np.ndarray  # (D,)
    matrix: np.ndarray  # (D, K) = PCA basis times the learned rotation

    @property
    def bits(self) -> int:
        return int(self.matrix.shape[1])

    def project(self, embeddings: np.ndarray) -> np.ndarray:
        """Real-valued projections (N × K) before binarisation."""
        return (np.asarray(embeddings, dtype=np.float32) - self.mean) @ self.matrix

    def encode(self, embeddings: np.ndarray) -> np.ndarray:
        """{0,1} codes (N × K, uint8): bit set where the projection is positive."""
        return (self.project(embeddings) > 0).astype(np.uint8)

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean.astype(np.float32), "matrix": self.matrix.astype(np.float32)}

    @classmethod
    def from_state_dict(cls, state: dict[str, np.ndarray]) -> "ItqProjection":
        return cls(mean=np.asarray(state["mean"], np.float32), matrix=np.asarray(state["matrix"], np.float32))


def fit_itq(embeddings: np.ndarray, bits: int = DEFAULT_BITS, iterations: int = 50, seed: int = 0) -> ItqProjection:
    """Learn an ITQ projection of `bits` bits from image embeddings (N × D, any N ≥ 1)."""
    if bits not in ALLOWED_BITS:
        raise ValueError(f"code length must be one of {ALLOWED_BITS}, not {bits}")
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2 or len(x) == 0:
        raise ValueError("ITQ needs at least one embedding")
    rng = np.random.default_rng(seed)
    mean = x.mean(axis=0)
    centred = x - mean
    # Eigen-decomposition of the D × D covariance works for any N, even N < K.
    basis = pca_basis(centred.T @ centred / max(len(x) - 1, 1), bits, rng)
    rotation = itq_rotation(centred @ basis, iterations, rng)
    return ItqProjection(mean=mean.astype(np.float32), matrix=(basis @ rotation).astype(np.float32))


def pca_basis(covariance: np.ndarray, bits: int, rng: np.random.Generator) -> np.ndarray:
    """The D × bits basis of a covariance's leading eigenvectors (ITQ's first step).

    With fewer dimensions than bits, random unit directions fill up the rest.
    """
    dim = covariance.shape[0]
    _, vectors = np.linalg.eigh(covariance)
    basis = vectors[:, ::-1][:, : min(bits, dim)]
    if bits > dim:
        extra = rng.standard_normal((dim, bits - dim))
        basis = np.concatenate([basis, extra / np.linalg.norm(extra, axis=0)], axis=1)
    return basis


def itq_rotation(v: np.ndarray, iterations: int, rng: np.random.Generator) -> np.ndarray:
    """ITQ's K × K rotation of centred, projected data `v` (N × K) that least changes it by sign()."""
    bits = v.shape[1]
    rotation, _ = np.linalg.qr(rng.standard_normal((bits, bits)))
    for _ in range(iterations):
        b = np.where(v @ rotation >= 0, 1.0, -1.0)
        u, _, wt = np.linalg.svd(v.T @ b)
        rotation = u @ wt
    return rotation
