"""The one interface indexing and search use for any code model, and the ITQ one.

A code model turns backbone outputs into K-bit codes. Two kinds exist: `itq` (the
unsupervised projection fitted at first index) and `hashing` (the trained cross-modal
network, :mod:`engine.codes.hashing_file`). Both are used through `CodeModel`, so
indexing and search do not care which one is active.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ..models.projection import ItqProjection


class CodeModel:
    """What indexing and search need from any code model."""

    bits: int
    needs_tokens: bool = False
    needs_tags: bool = False

    def encode_images(self, embeddings: np.ndarray, tokens: Optional[np.ndarray] = None, tags: Optional[list[list[str]]] = None) -> np.ndarray:
        """{0,1} codes (N × K) for images (`tags`: each photo's tag names, for models that use them)."""
        raise NotImplementedError

    def encode_texts(self, embeddings: np.ndarray) -> np.ndarray:
        """{0,1} codes (N × K) for texts, each one text embedding."""
        raise NotImplementedError

    def project_images(self, embeddings: np.ndarray, tokens: Optional[np.ndarray] = None) -> np.ndarray:
        """Real-valued outputs (N × K) before binarisation: a bit is set where the value is > 0."""
        raise NotImplementedError

    def project_texts(self, embeddings: np.ndarray) -> np.ndarray:
        """Real-valued text outputs (N × K) before binarisation (query arithmetic adds these)."""
        raise NotImplementedError


class ItqCodes(CodeModel):
    """The unsupervised projection: the same hyperplanes for images and texts."""

    def __init__(self, projection: ItqProjection) -> None:
        self.projection = projection
        self.bits = projection.bits

    def encode_images(self, embeddings: np.ndarray, tokens: Optional[np.ndarray] = None, tags: Optional[list[list[str]]] = None) -> np.ndarray:
        return self.projection.encode(embeddings)

    def encode_texts(self, embeddings: np.ndarray) -> np.ndarray:
        return self.projection.encode(embeddings)

    def project_images(self, embeddings: np.ndarray, tokens: Optional[np.ndarray] = None) -> np.ndarray:
        return self.projection.project(embeddings)

    def project_texts(self, embeddings: np.ndarray) -> np.ndarray:
        return self.projection.project(embeddings)
