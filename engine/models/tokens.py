"""Patch tokens pooled onto fixed grids: what the hashing network reads beside the pooled embedding."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    import torch

# Grids the patch tokens are pooled onto: 1 + 4 + 9 = 14 tokens per photo.
TOKEN_SCALES = (1, 2, 3)
TOKENS_PER_IMAGE = sum(s * s for s in TOKEN_SCALES)


def pool_token_grid(tokens: torch.Tensor) -> Optional[torch.Tensor]:
    """(N, P, D) patch tokens on a square grid → (N, 14, D) tokens pooled at TOKEN_SCALES."""
    import torch
    import torch.nn.functional as F

    n, p, d = tokens.shape
    side = int(round(p**0.5))
    if side * side != p:
        return None  # not a square patch grid (e.g. a register token): no spatial pooling
    grid = tokens.transpose(1, 2).reshape(n, d, side, side).float()
    pooled = [F.adaptive_avg_pool2d(grid, scale).flatten(2).transpose(1, 2) for scale in TOKEN_SCALES]
    return torch.cat(pooled, dim=1)
