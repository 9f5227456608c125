"""A trained hashing network's checkpoint, read for use as a code model (safetensors: no code runs).

Writing checkpoints, and resuming training from them, is :mod:`engine.training.checkpoints`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from ..models.hashing import HashingConfig, HashingNet, tag_set_batch
from ..models.tokens import TOKENS_PER_IMAGE
from .coders import CodeModel


def read_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Tensors and metadata of a checkpoint (safetensors: loading runs no code)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        metadata = json.loads(handle.metadata()["bitlens"])
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    return tensors, metadata


def build_model(metadata: dict[str, Any]) -> HashingNet:
    """A network shaped as the metadata says (config, input size, bits, vocabulary)."""
    config = HashingConfig(
        **{k: v for k, v in metadata["config"].items() if k in ("network", "components", "loss_weights", "targets", "data", "training", "name")}
    )
    return HashingNet(
        config,
        in_dim=metadata["in_dim"],
        bits=metadata["bits"],
        vocabulary=len(metadata["vocabulary"]),
        tokens_per_image=metadata.get("tokens_per_image", TOKENS_PER_IMAGE),
    )


def load_model(path: Path, device: str = "cpu") -> tuple[HashingNet, dict[str, Any], dict[str, torch.Tensor]]:
    """Network with weights loaded, its metadata, and the optimizer tensors (for resuming)."""
    tensors, metadata = read_checkpoint(path)
    model = build_model(metadata)
    model.load_state_dict({k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")})
    optim = {k: v for k, v in tensors.items() if k.startswith("optim.")}
    return model.to(device).eval(), metadata, optim


class HashingCodes(CodeModel):
    """A trained network as a code model: image branch for photos, text branch for queries.

    With `database_codes` = "fused", a library photo that has tags from the training
    vocabulary is coded by the fused branch (its pixels and its tags); queries stay
    unimodal (text branch for words, image branch for a new photo).
    """

    needs_tokens = True

    def __init__(
        self,
        model: HashingNet,
        device: str = "cpu",
        vocabulary: Optional[list[str]] = None,
        vocabulary_embeddings: Optional[torch.Tensor] = None,
        database_codes: str = "image",
        max_tags: int = 12,
    ) -> None:
        self.model = model.to(device).eval()
        self.device = device
        self.bits = model.bits
        self.vocabulary = {t.casefold(): i for i, t in enumerate(vocabulary or [])}
        self.vocabulary_embeddings = None if vocabulary_embeddings is None else vocabulary_embeddings.to(device)
        # Without a trained fusion branch there are no fused codes to give.
        self.can_fuse = self.vocabulary_embeddings is not None and model.use_fusion
        self.needs_tags = database_codes == "fused" and self.can_fuse
        self.max_tags = max_tags

    def _tag_batch(self, tags: list[list[str]]) -> tuple[torch.Tensor, torch.Tensor]:
        # Callers come here only with a vocabulary (needs_tags implies one; encode_texts_sets checks).
        assert self.vocabulary_embeddings is not None
        sets = [[self.vocabulary[t.casefold()] for t in names if t.casefold() in self.vocabulary][: self.max_tags] for names in tags]
        return tag_set_batch(sets, self.vocabulary_embeddings)

    def encode_images(self, embeddings: np.ndarray, tokens: Optional[np.ndarray] = None, tags: Optional[list[list[str]]] = None) -> np.ndarray:
        out = []
        for start in range(0, len(embeddings), 1024):
            e = torch.from_numpy(np.ascontiguousarray(embeddings[start : start + 1024], np.float32)).to(self.device)
            t = None if tokens is None else torch.from_numpy(np.ascontiguousarray(tokens[start : start + 1024], np.float32)).to(self.device)
            codes = self.model.image_codes(e, t)
            if self.needs_tags and tags is not None:
                sets, mask = self._tag_batch(tags[start : start + 1024])
                tagged = mask.any(dim=1)
                if tagged.any():
                    codes[tagged] = self.model.fused_codes(e[tagged], None if t is None else t[tagged], sets[tagged], mask[tagged])
            out.append(codes.cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.bits), np.uint8)

    def encode_texts_sets(self, tags: list[list[str]]) -> np.ndarray:
        """Text codes of tag sets (each photo's tags from the vocabulary) through the text branch."""
        out = np.zeros((len(tags), self.bits), np.uint8)
        if self.vocabulary_embeddings is None:
            return out
        for start in range(0, len(tags), 1024):
            sets, mask = self._tag_batch(tags[start : start + 1024])
            out[start : start + len(sets)] = self.model.text_codes(sets, mask).cpu().numpy()
        return out

    @torch.no_grad()
    def project_images(self, embeddings: np.ndarray, tokens: Optional[np.ndarray] = None) -> np.ndarray:
        """The image head's outputs before the sign (encode_images' bits are where these are > 0)."""
        e = torch.from_numpy(np.ascontiguousarray(embeddings, np.float32)).to(self.device)
        t = None if tokens is None else torch.from_numpy(np.ascontiguousarray(tokens, np.float32)).to(self.device)
        feature, _ = self.model.image_feature(e, t)
        return self.model.image_hash(feature).float().cpu().numpy()

    @torch.no_grad()
    def project_texts(self, embeddings: np.ndarray) -> np.ndarray:
        """The text head's outputs before the sign, one query text per row."""
        e = torch.from_numpy(np.ascontiguousarray(embeddings, np.float32)).to(self.device).unsqueeze(1)
        mask = torch.ones(e.shape[:2], dtype=torch.bool, device=self.device)
        feature, _ = self.model.text_feature(e, mask)
        return self.model.text_hash(feature).float().cpu().numpy()

    def encode_texts(self, embeddings: np.ndarray) -> np.ndarray:
        e = torch.from_numpy(np.ascontiguousarray(embeddings, np.float32)).to(self.device).unsqueeze(1)
        mask = torch.ones(e.shape[:2], dtype=torch.bool, device=self.device)
        return self.model.text_codes(e, mask).cpu().numpy()


def load_hashing_codes(path: Path, device: str = "cpu") -> HashingCodes:
    """The trained network in a checkpoint, ready to code photos and queries (the file is trusted: verify it first)."""
    model, metadata, _ = load_model(path, device=device)
    tensors, _ = read_checkpoint(path)
    training = metadata["config"].get("training", {})
    return HashingCodes(
        model,
        device=device,
        vocabulary=metadata.get("vocabulary"),
        vocabulary_embeddings=tensors.get("vocabulary_embeddings"),
        database_codes=str(training.get("database_codes", "image")),
        max_tags=int(metadata["config"]["network"].get("max_tags", 12)),
    )
