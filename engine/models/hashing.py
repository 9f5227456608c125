"""The cross-modal transformer hashing network (WHCMT + CLIP text-guided fusion).

Inputs are cached backbone outputs, not pixels: an image is its CLIP embedding plus
its patch tokens pooled at several scales; a text is a set of CLIP text embeddings
(an image's tags, or one free-text query). Three branches:

- image branch: one transformer over [embedding, 1×1, 2×2, 3×3 tokens] with a scale
  embedding, i.e. attention across patches of different scales (WHCMT);
- text branch: a transformer over the set of tag embeddings (self-attention of tags,
  WHCMT), pooled by a learned summary token; a query is a set of one;
- fusion: text tokens query the image tokens (decoder-style cross-attention, the
  CLIP text-guided seed); a pixel–text matching score (cosine of each text token with
  each image token) weights the image tokens that guide the fused feature.

Each branch ends in a hash head: tanh while training, sign when deployed. Image
codes come from the image branch alone and text codes from the text branch alone;
the fused codes only teach them during training.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

DEFAULT_CONFIG = Path(__file__).with_name("configs") / "hashing-default.json"


@dataclass
class HashingConfig:
    """Architecture, components, loss weights and training settings, from JSON."""

    network: dict[str, Any]
    components: dict[str, bool]
    loss_weights: dict[str, float]
    targets: dict[str, float]
    data: dict[str, Any]
    training: dict[str, Any]
    name: str = "hashing"
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path = DEFAULT_CONFIG, overrides: Optional[dict] = None) -> "HashingConfig":
        """Read a config JSON; `overrides` is merged section by section (for ablations, CLI flags)."""
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        for section, values in (overrides or {}).items():
            if isinstance(values, dict):
                raw.setdefault(section, {}).update(values)
            else:
                raw[section] = values
        known = {k: raw.pop(k) for k in ("network", "components", "loss_weights", "targets", "data", "training", "name") if k in raw}
        return cls(**known, extra=raw)

    def to_dict(self) -> dict:
        return {"name": self.name, "network": self.network, "components": self.components, "loss_weights": self.loss_weights,
                "targets": self.targets, "data": self.data, "training": self.training, **self.extra}


def tag_set_batch(sets: list[list[int]], vocabulary_embeddings: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded (B, T, D) embeddings of tag-index sets and their (B, T) mask (True = a real tag)."""
    tags, mask, _ = tag_set_batch_with_index(sets, vocabulary_embeddings)
    return tags, mask


def tag_set_batch_with_index(sets: list[list[int]], vocabulary_embeddings: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """`tag_set_batch` plus the (B, T) vocabulary indices (0 under padding)."""
    width = max(1, max((len(s) for s in sets), default=1))
    index = np.zeros((len(sets), width), dtype=np.int64)
    mask = np.zeros((len(sets), width), dtype=bool)
    for row, chosen in enumerate(sets):
        index[row, : len(chosen)] = chosen
        mask[row, : len(chosen)] = True
    device = vocabulary_embeddings.device
    index_t, mask_t = torch.from_numpy(index).to(device), torch.from_numpy(mask).to(device)
    return vocabulary_embeddings[index_t] * mask_t.unsqueeze(-1), mask_t, index_t


class GradientReversal(torch.autograd.Function):
    """Identity forward, negated gradient backward: the codes learn to fool the discriminator."""

    @staticmethod
    def forward(ctx, x):  # noqa: ANN001 - autograd signature
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):  # noqa: ANN001
        return -grad


def _encoder(dim: int, heads: int, layers: int, dropout: float) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(dim, heads, dim * 2, dropout, batch_first=True, norm_first=True)
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


class HashingNet(nn.Module):
    """Image, text and fused branches with K-bit hash heads, over CLIP features."""

    def __init__(self, config: HashingConfig, in_dim: int, bits: int, vocabulary: int, tokens_per_image: int = 14) -> None:
        super().__init__()
        net, parts = config.network, config.components
        dim, heads, dropout = int(net["dim"]), int(net["heads"]), float(net["dropout"])
        self.bits, self.in_dim, self.vocabulary = bits, in_dim, vocabulary
        self.use_tokens = bool(parts.get("cross_scale_attention", True))
        self.use_fusion = bool(parts.get("fusion", True))
        # image branch
        self.image_in = nn.Sequential(nn.LayerNorm(in_dim), nn.Linear(in_dim, dim))
        self.scale_embedding = nn.Parameter(torch.zeros(1 + tokens_per_image, dim))
        self.image_encoder = _encoder(dim, heads, int(net["image_layers"]), dropout)
        self.image_norm = nn.LayerNorm(dim)
        # text branch
        self.text_in = nn.Sequential(nn.LayerNorm(in_dim), nn.Linear(in_dim, dim))
        # Tag identities: CLIP text embeddings of different tags are all alike (cosines of
        # 0.7-0.9), so each vocabulary tag also gets a learned vector. A text reaches them by
        # a sharp softmax over its CLIP similarity to the vocabulary, so a free-text query
        # ("a dog") lands on the identities of the tags it resembles ("dog", "puppy").
        self.use_identity = bool(parts.get("tag_identity", False)) and vocabulary > 0
        if self.use_identity:
            self.tag_identity = nn.Embedding(vocabulary, dim)
            nn.init.normal_(self.tag_identity.weight, std=0.02)
            self.register_buffer("vocabulary_keys", torch.zeros(vocabulary, in_dim))
            self.identity_temperature = float(net.get("identity_temperature", 0.02))
        self._vocabulary_mix: Optional[torch.Tensor] = None  # computed on first use in training
        self.text_summary = nn.Parameter(torch.zeros(1, 1, dim))
        self.text_encoder = _encoder(dim, heads, int(net["text_layers"]), dropout)
        self.text_norm = nn.LayerNorm(dim)
        # fusion: text tokens query image tokens
        layer = nn.TransformerDecoderLayer(dim, heads, dim * 2, dropout, batch_first=True, norm_first=True)
        self.fusion = nn.TransformerDecoder(layer, int(net["fusion_layers"]))
        self.fused_norm = nn.LayerNorm(dim)
        self.match_scale = nn.Parameter(torch.tensor(10.0))
        self.match_bias = nn.Parameter(torch.tensor(-5.0))
        # hash heads
        self.image_hash = nn.Linear(dim, bits)
        self.text_hash = nn.Linear(dim, bits)
        self.fused_hash = nn.Linear(dim, bits)
        # tag prediction (BCE) from image and fused features
        self.tag_classifier = nn.Linear(dim, max(vocabulary, 1))
        # optional seeds' parts
        self.prototypes = nn.Parameter(torch.randn(max(vocabulary, 1), bits) * 0.1) if parts.get("prototypes") else None
        self.label_net = (
            nn.Sequential(nn.Linear(max(vocabulary, 1), dim), nn.ReLU(), nn.Linear(dim, bits)) if parts.get("label_network") else None
        )
        self.discriminator = (
            nn.Sequential(nn.Linear(bits, dim), nn.ReLU(), nn.Linear(dim, 1)) if parts.get("discriminator") else None
        )

    # -- branches ----------------------------------------------------------------------

    def image_tokens(self, embedding: torch.Tensor, tokens: Optional[torch.Tensor]) -> torch.Tensor:
        """(B, 1 + S, dim) image tokens after cross-scale attention; token 0 is the summary."""
        x = embedding.unsqueeze(1)
        if self.use_tokens and tokens is not None:
            x = torch.cat([x, tokens], dim=1)
        x = self.image_in(x) + self.scale_embedding[: x.shape[1]]
        return self.image_encoder(x)

    def image_feature(self, embedding: torch.Tensor, tokens: Optional[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        encoded = self.image_tokens(embedding, tokens)
        return self.image_norm(encoded[:, 0]), encoded

    def set_vocabulary(self, embeddings: torch.Tensor) -> None:
        """Give the network its vocabulary's CLIP text embeddings (V × D), the keys of the tag identities."""
        self._vocabulary_mix = None
        if self.use_identity:
            self.vocabulary_keys.copy_(F.normalize(embeddings.to(self.vocabulary_keys), dim=-1))

    def vocabulary_mix(self) -> torch.Tensor:
        """V × V softmax weights that mix tag identities for each vocabulary tag (fixed once keys are set).

        Training sees only vocabulary tags, so their mixing weights are computed once
        instead of a (tags × V) softmax every step; a free-text query takes the general path.
        """
        if self._vocabulary_mix is None or self._vocabulary_mix.device != self.vocabulary_keys.device:
            with torch.no_grad():
                keys = self.vocabulary_keys
                self._vocabulary_mix = torch.softmax(keys @ keys.T / self.identity_temperature, dim=-1)
        return self._vocabulary_mix

    def text_feature(self, tags: torch.Tensor, mask: torch.Tensor, tag_index: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Summary feature and per-tag tokens of tag sets (B, T, D) with `mask` True = real tag.

        `tag_index` (B, T), when every tag is a vocabulary tag, takes the precomputed identity mix.
        """
        x = self.text_in(tags)
        if self.use_identity:
            if tag_index is not None:
                x = x + (self.vocabulary_mix() @ self.tag_identity.weight)[tag_index] * mask.unsqueeze(-1)
            else:
                affinity = F.normalize(tags, dim=-1) @ self.vocabulary_keys.T / self.identity_temperature
                x = x + torch.softmax(affinity, dim=-1) @ self.tag_identity.weight
        summary = self.text_summary.expand(len(x), 1, -1)
        x = torch.cat([summary, x], dim=1)
        padding = torch.cat([torch.zeros(len(x), 1, dtype=torch.bool, device=x.device), ~mask], dim=1)
        encoded = self.text_encoder(x, src_key_padding_mask=padding)
        return self.text_norm(encoded[:, 0]), encoded[:, 1:]

    def fused_feature(self, image_tokens: torch.Tensor, text_tokens: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Text tokens attend to image tokens; the pixel–text score picks the image tokens that guide."""
        queried = self.fusion(text_tokens, image_tokens, tgt_key_padding_mask=~mask)
        # pixel–text matching: cosine of every text token with every image token
        score = torch.einsum("btd,bpd->btp", F.normalize(text_tokens, dim=-1), F.normalize(image_tokens, dim=-1))
        weights = torch.softmax(score.masked_fill(~mask.unsqueeze(-1), -1e4).amax(dim=1) * self.match_scale.abs(), dim=-1)
        guided = torch.einsum("bp,bpd->bd", weights, image_tokens)
        m = mask.unsqueeze(-1).float()
        pooled = (queried * m).sum(1) / m.sum(1).clamp(min=1)
        return self.fused_norm(pooled + guided), score

    # -- training and deployment -----------------------------------------------------------

    def forward(self, embedding, tokens, tags, mask, vocabulary_embeddings: Optional[torch.Tensor] = None,
                tag_index: Optional[torch.Tensor] = None) -> dict[str, torch.Tensor]:
        """Everything the losses need, with tanh codes."""
        image_feat, image_tok = self.image_feature(embedding, tokens)
        text_feat, text_tok = self.text_feature(tags, mask, tag_index)
        out = {
            "image_code": torch.tanh(self.image_hash(image_feat)),
            "text_code": torch.tanh(self.text_hash(text_feat)),
            "image_tag_logits": self.tag_classifier(image_feat),
        }
        if self.use_fusion:
            fused_feat, _ = self.fused_feature(image_tok, text_tok, mask)
            out["fused_code"] = torch.tanh(self.fused_hash(fused_feat))
            out["fused_tag_logits"] = self.tag_classifier(fused_feat)
        if vocabulary_embeddings is not None:
            # pixel–text matching against the whole tag vocabulary: does any image token match tag v?
            vocab = F.normalize(self.text_in(vocabulary_embeddings), dim=-1)
            sims = torch.einsum("vd,bpd->bvp", vocab, F.normalize(image_tok, dim=-1)).amax(dim=-1)
            out["pixel_text_logits"] = sims * self.match_scale + self.match_bias
        if self.prototypes is not None:
            out["prototypes"] = torch.tanh(self.prototypes)
        return out

    @torch.no_grad()
    def image_codes(self, embedding: torch.Tensor, tokens: Optional[torch.Tensor]) -> torch.Tensor:
        """Deployed image codes in {0,1} (sign of the image head)."""
        feature, _ = self.image_feature(embedding, tokens)
        return (self.image_hash(feature) > 0).to(torch.uint8)

    @torch.no_grad()
    def text_codes(self, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Deployed text codes in {0,1}: a query is a set of one text embedding."""
        feature, _ = self.text_feature(tags, mask)
        return (self.text_hash(feature) > 0).to(torch.uint8)

    @torch.no_grad()
    def fused_codes(self, embedding, tokens, tags, mask) -> torch.Tensor:
        """Codes from image plus tags (an option for database photos that have tags)."""
        _, image_tok = self.image_feature(embedding, tokens)
        _, text_tok = self.text_feature(tags, mask)
        feature, _ = self.fused_feature(image_tok, text_tok, mask)
        return (self.fused_hash(feature) > 0).to(torch.uint8)
