"""Loss functions for weakly supervised cross-modal hashing; each is a plain function.

Codes are tanh outputs in [-1, 1]^K during training. The similarity of two codes is
their normalised inner product (h_a · h_b / K, in [-1, 1]); it equals 1 − 2·d_H/K for
binary codes, so preserving it preserves Hamming distances.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F


def tag_similarity(labels: torch.Tensor, idf: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Cosine of (IDF-weighted) multi-hot tag vectors: B × B in [0, 1]."""
    weighted = labels * idf if idf is not None else labels
    normed = F.normalize(weighted, dim=1)
    return (normed @ normed.T).clamp(0, 1)


def tag_cooccurrence(labels: torch.Tensor) -> torch.Tensor:
    """How alike two tags are by the photos they share: cosine of the tag columns, V × V in [0, 1].

    An album name ("birds") and the keywords of what is in its photos ("owl", "wing")
    co-occur; two keywords of the same kind of subject rarely do, but both co-occur with
    the album name. One step of this matrix links them, which is how weak tags of
    different photos of one subject come to look alike.
    """
    return cooccurrence_from_gram(labels.T @ labels)


def cooccurrence_from_gram(gram: torch.Tensor) -> torch.Tensor:
    """`tag_cooccurrence` from the V × V sums labelsᵀ·labels, which can be added up in chunks of photos."""
    norms = gram.diagonal().sqrt().clamp(min=1e-12)
    return (gram / norms[:, None] / norms[None, :]).clamp(0, 1)


def expansion_matrix(cooccurrence: torch.Tensor, first: float, second: float = 0.0) -> torch.Tensor:
    """What each tag adds to a photo's expanded tags: `first` × co-occurrence plus `second` × its square.

    The square links tags two steps apart: keywords of one subject that share no album
    but whose albums share other keywords.
    """
    matrix = first * cooccurrence
    if second > 0:
        matrix = matrix + second * (cooccurrence @ cooccurrence)
    return matrix


def expand_tags(labels: torch.Tensor, expansion: Optional[torch.Tensor], strength: float = 1.0) -> torch.Tensor:
    """Multi-hot tags plus `strength` × the mean row of `expansion` over a photo's tags.

    `expansion` is the co-occurrence matrix, or `expansion_matrix` of it (which already
    holds the strengths of one and two steps). Photos that share no tag but whose tags
    keep the same company become similar; a wrong tag, which keeps no company with the
    others, is diluted. With strength 0 (or no matrix) the labels come back unchanged.
    """
    if expansion is None or strength <= 0:
        return labels
    count = labels.sum(dim=1, keepdim=True).clamp(min=1)
    # labels @ expansion over the few tags each photo has (a dense product is B·V² work)
    if labels.device.type in ("cpu", "cuda"):  # sparse × dense: 3-8× faster than gathering rows
        company = torch.sparse.mm(labels.to_sparse(), expansion.to(labels.dtype))
    else:  # MPS has no sparse product
        rows, cols = labels.nonzero(as_tuple=True)
        company = torch.zeros_like(labels).index_add_(0, rows, expansion[cols] * labels[rows, cols, None])
    return labels + strength * company / count


def feature_similarity(features: torch.Tensor) -> torch.Tensor:
    """Backbone-feature similarity mapped to [0, 1] relative to the batch.

    Raw CLIP cosines sit in a narrow band; standardising them per batch and squashing
    with a sigmoid makes "closer than usual" ≈ 1 and "as far as usual" ≈ 0.5 → clipped
    below at 0 for clearly unrelated pairs.
    """
    normed = F.normalize(features, dim=1)
    cos = normed @ normed.T
    off_diagonal = cos[~torch.eye(len(cos), dtype=torch.bool, device=cos.device)]
    if off_diagonal.numel() < 2:
        return torch.ones_like(cos)
    z = (cos - off_diagonal.mean()) / off_diagonal.std().clamp(min=1e-6)
    return torch.sigmoid(2 * z - 2)


def similarity_targets(
    labels: torch.Tensor, has_tags: torch.Tensor, features: torch.Tensor, tag_weight: float = 0.7, idf: Optional[torch.Tensor] = None
) -> torch.Tensor:
    """Pairwise targets S in [0, 1]: tag overlap mixed with feature similarity.

    Where either photo has no tags, the pair's target comes from the features alone:
    a missing tag is unknown, not evidence that two photos are unrelated.
    """
    feats = feature_similarity(features)
    tags = tag_similarity(labels, idf)
    both = has_tags[:, None] & has_tags[None, :]
    mixed = tag_weight * tags + (1 - tag_weight) * feats
    return torch.where(both, mixed, feats)


def code_similarity(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Normalised inner products of code batches: A × B in [-1, 1]."""
    return a @ b.T / a.shape[1]


def pairwise_similarity_loss(
    a: torch.Tensor,
    b: torch.Tensor,
    targets: torch.Tensor,
    scale: float = 10.0,
    weight: Optional[torch.Tensor] = None,
    sharpness: float = 10.0,
) -> torch.Tensor:
    """Similarity preservation as a soft contrastive loss over the batch.

    For each code in `a`, the codes in `b` are ranked by code similarity (a softmax
    over scale · h_a·h_b/K, i.e. over negative Hamming distances); that ranking should
    match the one the targets give (a softmax over sharpness · S). Only the order
    matters, as it does for retrieval, so noisy absolute target values do no harm.
    `weight` (A × B, 0/1) leaves out pairs with no target (e.g. texts of untagged photos);
    rows with no pair left count for nothing.
    """
    return similarity_losses([(a, b, weight)], targets, scale, sharpness)[0]


def similarity_losses(
    pairs: Sequence[tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]],
    targets: torch.Tensor,
    scale: float = 10.0,
    sharpness: float = 10.0,
) -> torch.Tensor:
    """`pairwise_similarity_loss` of several (a, b, weight) pairs of B codes that share one
    B × B target matrix, as a vector: one batched pass instead of a dozen small ops per pair."""
    a = torch.stack([pair[0] for pair in pairs])
    b = torch.stack([pair[1] for pair in pairs])
    logits = scale * torch.bmm(a, b.transpose(1, 2)) / a.shape[-1]
    wanted = (sharpness * targets).expand_as(logits)
    keep = torch.stack([torch.ones_like(targets, dtype=torch.bool) if w is None else w > 0 for _, _, w in pairs])
    logits = logits.masked_fill(~keep, -1e4)
    wanted = wanted.masked_fill(~keep, -1e4)
    per_row = -(torch.softmax(wanted, dim=-1) * torch.log_softmax(logits, dim=-1)).sum(dim=-1)
    rows = keep.any(dim=-1).to(per_row.dtype)
    return (per_row * rows).sum(dim=-1) / rows.sum(dim=-1).clamp(min=1)


def distillation_loss(codes: Sequence[torch.Tensor], features: torch.Tensor, scale: float = 10.0, sharpness: float = 10.0) -> torch.Tensor:
    """The backbone's own neighbourhoods kept in the codes, whatever the tags say.

    For each code batch in `codes` (B × K each, rows aligned with `features`), every photo's
    batch neighbours ranked by code similarity should follow its ranking by backbone
    feature similarity (`feature_similarity`), for every pair of distinct photos, tagged
    or not. The tag targets pull photos that share a tag together; this term keeps what
    CLIP knows about photos no tag speaks of (a concept without an album), which is what
    a query that is no tag finds them by. Summed over the batches given.
    """
    others = 1.0 - torch.eye(len(features), device=features.device)
    return similarity_losses([(c, c, others) for c in codes], feature_similarity(features), scale, sharpness).sum()


def quantisation_loss(codes: torch.Tensor) -> torch.Tensor:
    """How far tanh outputs are from ±1: mean (|h| − 1)²."""
    return (codes.abs() - 1).pow(2).mean()


def bit_balance_loss(codes: torch.Tensor) -> torch.Tensor:
    """Each bit should split the batch in half: mean over bits of (batch mean)²."""
    return codes.mean(dim=0).pow(2).mean()


def tag_bce_loss(logits: torch.Tensor, labels: torch.Tensor, has_tags: torch.Tensor, pos_weight: float = 1.0) -> torch.Tensor:
    """Multi-label BCE over the tag vocabulary, for photos that have tags only.

    A photo has a handful of tags out of hundreds, so `pos_weight` > 1 keeps the few
    positives from being drowned by the many negatives.
    """
    if not has_tags.any():
        return logits.sum() * 0
    weight = torch.tensor(pos_weight, device=logits.device)
    return F.binary_cross_entropy_with_logits(logits[has_tags], labels[has_tags], pos_weight=weight)


def prototype_loss(codes: torch.Tensor, prototypes: torch.Tensor, labels: torch.Tensor, has_tags: torch.Tensor, scale: float = 10.0) -> torch.Tensor:
    """WSIH's concept prototypes: a code should be near the prototype codes of its tags."""
    if not has_tags.any():
        return codes.sum() * 0
    logits = scale * code_similarity(codes[has_tags], prototypes)
    return F.binary_cross_entropy_with_logits(logits, labels[has_tags])


def adversarial_loss(discriminator, image_codes: torch.Tensor, text_codes: torch.Tensor) -> torch.Tensor:
    """SSAH's modality discriminator: tell image codes (1) from text codes (0).

    Called on codes passed through gradient reversal, so minimising it trains the
    discriminator while pushing the two modalities' code distributions together.
    """
    logits = torch.cat([discriminator(image_codes), discriminator(text_codes)]).squeeze(-1)
    truth = torch.cat([torch.ones(len(image_codes)), torch.zeros(len(text_codes))]).to(logits.device)
    return F.binary_cross_entropy_with_logits(logits, truth)
