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

from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .tokens import TOKENS_PER_IMAGE
from .config import DEFAULT_CONFIG, HashingConfig, parse_overrides  # noqa: F401 - re-exported: the network's settings


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


def _length_groups(lengths: torch.Tensor) -> Optional[list[tuple[torch.Tensor, int]]]:
    """Two groups of rows (indices, padded width) that pad least, or None when one pass is as good.

    Rows are split at the length that minimises the padded positions of the two passes;
    a split that saves less than a quarter of them is not worth a second pass.
    """
    counts = lengths.clamp(min=1).cpu().numpy()
    order = np.argsort(counts, kind="stable")
    ordered = counts[order]
    total, longest = len(counts), int(ordered[-1])
    cost = np.arange(1, total + 1) * ordered + (total - np.arange(1, total + 1)) * longest  # split after position i
    best = int(np.argmin(cost[:-1])) if total > 1 else 0
    if total < 2 or cost[best] > 0.75 * total * longest:
        return None
    device = lengths.device
    short = torch.from_numpy(np.sort(order[: best + 1])).to(device)
    long = torch.from_numpy(np.sort(order[best + 1 :])).to(device)
    return [(short, int(ordered[best])), (long, longest)]


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


def _single_key(attention: nn.MultiheadAttention, keys: torch.Tensor) -> bool:
    """Whether `attention` over `keys` (B, S, dim) reduces to `_single_key_attention`: one key,
    and no dropout on the attention weights (which would zero that key's weight of 1)."""
    return keys.shape[1] == 1 and not (attention.training and attention.dropout > 0)


def _single_key_attention(attention: nn.MultiheadAttention, key: torch.Tensor) -> torch.Tensor:
    """`attention(query, key, key)` for a single key token (B, 1, dim), whatever the queries.

    Each query's softmax over one key is 1, so the output is that token's value projection
    (then the output projection), the same for every query: no query or key projections.
    """
    dim = key.shape[-1]
    return attention.out_proj(F.linear(key, attention.in_proj_weight[2 * dim :], attention.in_proj_bias[2 * dim :]))


def _single_token_encoder(encoder: nn.TransformerEncoder, x: torch.Tensor) -> torch.Tensor:
    """`encoder(x)` for a sequence of one token (B, 1, dim): each pre-norm layer is
    x + attention(norm1(x)) over its single key, then its feed-forward."""
    for layer in encoder.layers:
        x = x + layer.dropout1(_single_key_attention(layer.self_attn, layer.norm1(x)))
        x = x + layer.dropout2(layer.linear2(layer.dropout(layer.activation(layer.linear1(layer.norm2(x))))))
    return x if encoder.norm is None else encoder.norm(x)


class CrossAttentionLayer(nn.Module):
    """A transformer decoder layer without self-attention: each text token queries the image tokens, then a feed-forward."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.norm_query, self.norm_out = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.cross = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.feed_forward = nn.Sequential(nn.Linear(dim, dim * 2), nn.GELU(), nn.Dropout(dropout), nn.Linear(dim * 2, dim))
        self.dropout = nn.Dropout(dropout)

    def forward(self, tokens: torch.Tensor, image_tokens: torch.Tensor) -> torch.Tensor:
        if _single_key(self.cross, image_tokens):  # one image token: cross-scale attention is off
            attended = _single_key_attention(self.cross, image_tokens)
        else:
            attended = self.cross(self.norm_query(tokens), image_tokens, image_tokens, need_weights=False)[0]
        tokens = tokens + self.dropout(attended)
        return tokens + self.dropout(self.feed_forward(self.norm_out(tokens)))


class CrossAttentionStack(nn.Module):
    """`layers` CrossAttentionLayers, called like nn.TransformerDecoder (padding needs no mask: tokens do not mix)."""

    def __init__(self, dim: int, heads: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.layers = nn.ModuleList(CrossAttentionLayer(dim, heads, dropout) for _ in range(layers))

    def forward(self, tokens: torch.Tensor, image_tokens: torch.Tensor, tgt_key_padding_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        for layer in self.layers:
            tokens = layer(tokens, image_tokens)
        return tokens


class HashingNet(nn.Module):
    """Image, text and fused branches with K-bit hash heads, over CLIP features."""

    # A buffer (register_buffer), not a parameter: the vocabulary's CLIP text embeddings (V × in_dim).
    vocabulary_keys: torch.Tensor

    def __init__(self, config: HashingConfig, in_dim: int, bits: int, vocabulary: int, tokens_per_image: int = TOKENS_PER_IMAGE) -> None:
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
            # Only the k most similar vocabulary tags are mixed (0 = all): the softmax is so
            # sharp that 32 of them hold 99% of its weight, and k rows are cheap where V are not.
            self.identity_top_k = int(net.get("identity_top_k", 0))
        self._vocabulary_mix: Optional[tuple[torch.Tensor, torch.Tensor]] = None  # computed on first use in training
        self.text_summary = nn.Parameter(torch.zeros(1, 1, dim))
        self.text_encoder = _encoder(dim, heads, int(net["text_layers"]), dropout)
        self.text_norm = nn.LayerNorm(dim)
        # fusion: text tokens query image tokens
        self.fusion: nn.Module
        if bool(net.get("fusion_self_attention", True)):
            layer = nn.TransformerDecoderLayer(dim, heads, dim * 2, dropout, batch_first=True, norm_first=True)
            self.fusion = nn.TransformerDecoder(layer, int(net["fusion_layers"]))
        else:  # the text branch's encoder already let the tags attend to each other
            self.fusion = CrossAttentionStack(dim, heads, int(net["fusion_layers"]), dropout)
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
        self.label_net = nn.Sequential(nn.Linear(max(vocabulary, 1), dim), nn.ReLU(), nn.Linear(dim, bits)) if parts.get("label_network") else None
        self.discriminator = nn.Sequential(nn.Linear(bits, dim), nn.ReLU(), nn.Linear(dim, 1)) if parts.get("discriminator") else None

    # -- branches ----------------------------------------------------------------------

    def image_tokens(self, embedding: torch.Tensor, tokens: Optional[torch.Tensor]) -> torch.Tensor:
        """(B, 1 + S, dim) image tokens after cross-scale attention; token 0 is the summary."""
        x = embedding.unsqueeze(1)
        if self.use_tokens and tokens is not None:
            x = torch.cat([x, tokens], dim=1)
        x = self.image_in(x) + self.scale_embedding[: x.shape[1]]
        if all(_single_key(layer.self_attn, x) for layer in self.image_encoder.layers):  # cross-scale attention off
            return _single_token_encoder(self.image_encoder, x)
        return self.image_encoder(x)

    def image_feature(self, embedding: torch.Tensor, tokens: Optional[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        encoded = self.image_tokens(embedding, tokens)
        return self.image_norm(encoded[:, 0]), encoded

    def set_vocabulary(self, embeddings: torch.Tensor) -> None:
        """Give the network its vocabulary's CLIP text embeddings (V × D), the keys of the tag identities."""
        self._vocabulary_mix = None
        if self.use_identity:
            self.vocabulary_keys.copy_(F.normalize(embeddings.to(self.vocabulary_keys), dim=-1))

    def _top_mix(self, affinity: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Indices and softmax weights (..., k) of the k largest affinities (all V when k is 0)."""
        k = affinity.shape[-1] if self.identity_top_k <= 0 else min(self.identity_top_k, affinity.shape[-1])
        values, index = affinity.topk(k, dim=-1)
        return index, torch.softmax(values.float(), dim=-1)

    def _identities(self, index: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Weighted sums of tag identities: (..., k) indices and weights give (..., dim)."""
        k = index.shape[-1]
        mixed = F.embedding_bag(
            index.reshape(-1, k), self.tag_identity.weight, per_sample_weights=weights.reshape(-1, k).to(self.tag_identity.weight.dtype), mode="sum"
        )
        return mixed.reshape(*index.shape[:-1], -1)

    def vocabulary_mix(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Each vocabulary tag's identity mix, (V, k) indices and weights (fixed once keys are set).

        Training sees only vocabulary tags, so their mixing weights are computed once
        instead of a (tags × V) softmax every step; a free-text query takes the general path.
        """
        if self._vocabulary_mix is None or self._vocabulary_mix[0].device != self.vocabulary_keys.device:
            with torch.no_grad():
                keys = self.vocabulary_keys
                self._vocabulary_mix = self._top_mix(keys @ keys.T / self.identity_temperature)
        return self._vocabulary_mix

    def text_feature(
        self, tags: Optional[torch.Tensor], mask: torch.Tensor, tag_index: Optional[torch.Tensor] = None, projected: Optional[torch.Tensor] = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Summary feature and per-tag tokens of tag sets (B, T, D) with `mask` True = real tag.

        `tag_index` (B, T), when every tag is a vocabulary tag, takes the precomputed identity mix.
        `projected` (B, T, dim), when given, are the input tokens already computed
        (`text_in` of the tags plus their identities; see `_projected_tags`); `tags` may be None then.
        """
        if projected is not None:
            x = projected
        elif tags is None:
            raise ValueError("text_feature needs the tags' embeddings or their projected tokens")
        else:
            x = self.text_in(tags)
            if self.use_identity:
                if tag_index is not None:
                    mix_index, mix_weights = self.vocabulary_mix()
                    x = x + self._identities(mix_index[tag_index], mix_weights[tag_index]) * mask.unsqueeze(-1)
                else:
                    affinity = F.normalize(tags, dim=-1) @ self.vocabulary_keys.T / self.identity_temperature
                    x = x + self._identities(*self._top_mix(affinity))
        summary = self.text_summary.expand(len(x), 1, -1)
        x = torch.cat([summary, x], dim=1)
        padding = torch.cat([torch.zeros(len(x), 1, dtype=torch.bool, device=x.device), ~mask], dim=1)
        encoded = self.text_encoder(x, src_key_padding_mask=padding)
        return self.text_norm(encoded[:, 0]), encoded[:, 1:]

    def fused_feature(self, image_tokens: torch.Tensor, text_tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Text tokens attend to image tokens; the pixel–text score picks the image tokens that guide."""
        queried = self.fusion(text_tokens, image_tokens, tgt_key_padding_mask=~mask)
        if image_tokens.shape[1] == 1:  # the softmax over one image token is 1: it guides alone
            guided = image_tokens[:, 0]
        else:
            # pixel–text matching: cosine of every text token with every image token
            score = torch.einsum("btd,bpd->btp", F.normalize(text_tokens, dim=-1), F.normalize(image_tokens, dim=-1))
            weights = torch.softmax(score.masked_fill(~mask.unsqueeze(-1), -1e4).amax(dim=1) * self.match_scale.abs(), dim=-1)
            guided = torch.einsum("bp,bpd->bd", weights, image_tokens)
        m = mask.unsqueeze(-1).float()
        pooled = (queried * m).sum(1) / m.sum(1).clamp(min=1)
        return self.fused_norm(pooled + guided)

    # -- training and deployment -----------------------------------------------------------

    def _text_and_fused(self, image_tok, tags, mask, tag_index, projected=None) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Text and fused features of a batch, its photos grouped by how many tags they have.

        Tag sets are padded to the batch's longest, and most photos have a few tags where
        some have a dozen: one pass over the short sets and one over the long ones do the
        same sums as a single padded pass (padding is masked out) with about half the work.
        """
        groups = _length_groups(mask.sum(dim=1))
        if groups is None:
            all_feat, all_tok = self.text_feature(tags, mask, tag_index, projected)
            return all_feat, (self.fused_feature(image_tok, all_tok, mask) if self.use_fusion else None)
        text_feat: Optional[torch.Tensor] = None
        fused_feat: Optional[torch.Tensor] = None
        for rows, width in groups:
            sub_mask = mask[rows, :width]
            feat, tok = self.text_feature(
                None if tags is None else tags[rows, :width],
                sub_mask,
                None if tag_index is None else tag_index[rows, :width],
                None if projected is None else projected[rows, :width],
            )
            text_feat = feat.new_zeros(len(mask), feat.shape[1]) if text_feat is None else text_feat
            text_feat = text_feat.index_copy(0, rows, feat)
            if self.use_fusion:
                fused = self.fused_feature(image_tok.index_select(0, rows), tok, sub_mask)
                fused_feat = fused.new_zeros(len(mask), fused.shape[1]) if fused_feat is None else fused_feat
                fused_feat = fused_feat.index_copy(0, rows, fused)
        assert text_feat is not None  # _length_groups gives two non-empty groups or None
        return text_feat, fused_feat

    def _projected_tags(
        self, vocab_in: Optional[torch.Tensor], tag_index: Optional[torch.Tensor], mask: torch.Tensor, columns: Optional[torch.Tensor]
    ) -> Optional[torch.Tensor]:
        """The text branch's input tokens taken from the scored vocabulary's, or None.

        In training every tag of the batch is among the scored vocabulary tags, whose
        `text_in` the pixel–text matching computes anyway: a gather replaces projecting
        each photo's tags again (LayerNorm and a D × dim product per tag slot), and their
        identities are mixed once per vocabulary tag instead of once per tag slot.
        """
        if vocab_in is None or tag_index is None or (columns is None and len(vocab_in) != self.vocabulary):
            return None
        rows = tag_index if columns is None else torch.searchsorted(columns, tag_index).clamp(max=len(columns) - 1)
        found = tag_index if columns is None else columns[rows]
        if not bool(((found == tag_index) | ~mask).all()):  # a tag outside the scored ones: project them all
            return None
        if self.use_identity:
            mix_index, mix_weights = self.vocabulary_mix()
            if columns is not None:
                mix_index, mix_weights = mix_index[columns], mix_weights[columns]
            vocab_in = vocab_in + self._identities(mix_index, mix_weights)
        # index_select: its backward is an index_add, several times cheaper than advanced indexing's
        return vocab_in.index_select(0, rows.reshape(-1)).view(*rows.shape, -1)

    def forward(
        self,
        embedding,
        tokens,
        tags,
        mask,
        vocabulary_embeddings: Optional[torch.Tensor] = None,
        tag_index: Optional[torch.Tensor] = None,
        columns: Optional[torch.Tensor] = None,
    ) -> dict[str, torch.Tensor]:
        """Everything the losses need, with tanh codes.

        `columns`, when given, are the vocabulary tags the tag logits are computed for (a
        sample of a large vocabulary); `vocabulary_embeddings` are then those tags' embeddings.
        `tags` may be None when `tag_index` and those embeddings cover every tag.
        """
        image_feat, image_tok = self.image_feature(embedding, tokens)
        vocab_in = None if vocabulary_embeddings is None else self.text_in(vocabulary_embeddings)
        projected = self._projected_tags(vocab_in, tag_index, mask, columns)
        if projected is None and tags is None:
            raise ValueError("tag embeddings are needed unless every tag is among the scored vocabulary tags")
        text_feat, fused_feat = self._text_and_fused(image_tok, tags, mask, tag_index, projected)
        classifier_weight: torch.Tensor = self.tag_classifier.weight
        classifier_bias: torch.Tensor = self.tag_classifier.bias
        if columns is not None:
            classifier_weight, classifier_bias = classifier_weight.index_select(0, columns), classifier_bias.index_select(0, columns)
        out = {
            "image_code": torch.tanh(self.image_hash(image_feat)),
            "text_code": torch.tanh(self.text_hash(text_feat)),
            "image_tag_logits": F.linear(image_feat, classifier_weight, classifier_bias),
        }
        if fused_feat is not None:
            out["fused_code"] = torch.tanh(self.fused_hash(fused_feat))
            out["fused_tag_logits"] = F.linear(fused_feat, classifier_weight, classifier_bias)
        if vocab_in is not None:  # the vocabulary embeddings were given
            # pixel–text matching against the scored vocabulary tags: does any image token match tag v?
            vocab = F.normalize(vocab_in, dim=-1)
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
    def text_codes(self, tags: torch.Tensor, mask: torch.Tensor, tag_index: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Deployed text codes in {0,1}: a query is a set of one text embedding (`tag_index`: see text_feature)."""
        feature, _ = self.text_feature(tags, mask, tag_index)
        return (self.text_hash(feature) > 0).to(torch.uint8)

    @torch.no_grad()
    def fused_codes(self, embedding, tokens, tags, mask) -> torch.Tensor:
        """Codes from image plus tags (an option for database photos that have tags)."""
        _, image_tok = self.image_feature(embedding, tokens)
        _, text_tok = self.text_feature(tags, mask)
        feature = self.fused_feature(image_tok, text_tok, mask)
        return (self.fused_hash(feature) > 0).to(torch.uint8)
