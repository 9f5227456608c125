"""Training the backbone's image tower together with the hashing network.

Two efforts beyond the head-only one need pixels rather than cached features:

- *finetune*: the last few transformer blocks of the image tower (plus its final norm
  and projection) learn from the weak tags. Everything before those blocks is frozen,
  so its output is computed once per photo and kept in memory; each training step then
  runs only the trained blocks. This is what makes fine-tuning affordable on a CPU.
- *scratch*: the whole image tower is re-initialised and trained from pixels (random
  horizontal flips as augmentation). Meant for the small offline backbone; from-scratch
  vision on a CPU is slow and weak, and BitLens says so.

The tower computes exactly what `Backbone.encode_images_with_tokens` computes (pooled
embedding, patch tokens through the output projection, pooled onto the 1×1/2×2/3×3
grids), so a tuned tower saved as backbone weights gives, at index time, the features
the hashing network was trained on.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..jobs import CancelToken
from ..models.backbones import Backbone, BackboneSpec
from ..models.tokens import pool_token_grid
from ..models.encoder import default_workers, prepare_image
from ..pixels.decode import DecodeError
from ..models.weights import sha256_file
from .errors import ModelError


class ImageTower(nn.Module):
    """An open_clip VisionTransformer split into a frozen stem and a trained tail.

    `trained_blocks=None` trains everything from pixels (the scratch effort); otherwise
    the last `trained_blocks` blocks, `ln_post` and `proj` are trained and the input to
    `forward` is the stem's output (see `stem`).
    """

    def __init__(self, visual: nn.Module, trained_blocks: Optional[int]) -> None:
        super().__init__()
        from open_clip.transformer import VisionTransformer

        if not isinstance(visual, VisionTransformer) or visual.proj is None or getattr(visual, "attn_pool", None) is not None:
            raise ModelError("this backbone's image tower is not a plain ViT: only the head effort can train on it")
        self.visual = visual
        blocks = visual.transformer.resblocks
        self.from_pixels = trained_blocks is None
        self.split = 0 if trained_blocks is None else max(0, len(blocks) - int(trained_blocks))
        self.batch_first = bool(getattr(visual.transformer, "batch_first", True))
        for name, parameter in visual.named_parameters():
            parameter.requires_grad_(self._trained(name))

    def _trained(self, name: str) -> bool:
        if self.from_pixels:
            return True
        if name.startswith("transformer.resblocks."):
            return int(name.split(".")[2]) >= self.split
        return name.startswith(("ln_post", "proj"))

    def trained_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.visual.parameters() if p.requires_grad]

    def _blocks(self, x: torch.Tensor, blocks) -> torch.Tensor:
        if not self.batch_first:
            x = x.transpose(0, 1)
        for block in blocks:
            x = block(x)
        return x if self.batch_first else x.transpose(0, 1)

    @torch.no_grad()
    def stem(self, pixels: torch.Tensor) -> torch.Tensor:
        """The frozen part's output for preprocessed pixels: (N, tokens, width)."""
        x = self.visual._embeds(pixels)
        return self._blocks(x, self.visual.transformer.resblocks[: self.split])

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised embeddings (N, D) and pooled patch tokens (N, 14, D), with gradients."""
        visual = self.visual
        x = visual._embeds(inputs) if self.from_pixels else inputs
        x = self._blocks(x, visual.transformer.resblocks[self.split :])
        pooled, tokens = visual._pool(x)
        embedding = F.normalize(pooled @ visual.proj, dim=-1)
        pooled_tokens = pool_token_grid(tokens @ visual.proj)
        if pooled_tokens is None:
            raise ModelError("this backbone's patch grid is not square: only the head effort can train on it")
        return embedding, pooled_tokens

    def trained_state(self) -> dict[str, torch.Tensor]:
        """The tensors this run changes (prefixed as in the CLIP state dict)."""
        return {f"visual.{k}": v for k, v in self.visual.state_dict().items() if self.from_pixels or self._trained(k)}


def reinitialise(visual: nn.Module, seed: int) -> None:
    """Fresh random weights for a whole image tower (the scratch effort)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for module in visual.modules():
            if module is not visual and hasattr(module, "reset_parameters"):
                module.reset_parameters()
        scale = visual.transformer.width**-0.5
        for name in ("class_embedding", "positional_embedding"):
            parameter = getattr(visual, name, None)
            if isinstance(parameter, nn.Parameter):
                nn.init.normal_(parameter, std=scale)
        nn.init.normal_(visual.proj, std=scale)


def _normalisation(preprocess) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean and std of a torchvision preprocessing pipeline's Normalize step."""
    for step in getattr(preprocess, "transforms", []):
        if type(step).__name__ == "Normalize":
            return torch.tensor(step.mean).view(1, 3, 1, 1), torch.tensor(step.std).view(1, 3, 1, 1)
    return torch.zeros(1, 3, 1, 1), torch.ones(1, 3, 1, 1)


class PixelInputs:
    """Every training photo's input to the trained part of the tower, held in memory.

    finetune: the frozen stem's output in float16; scratch: the preprocessed pixels as
    uint8 (a quarter of float32), normalised again per batch.
    """

    def __init__(
        self,
        tower: ImageTower,
        backbone: Backbone,
        paths: Sequence[str],
        batch_size: int = 64,
        progress: Optional[Callable[[int, int], None]] = None,
        cancel: Optional[CancelToken] = None,
    ) -> None:
        self.tower = tower
        self.device = backbone.device
        self.mean, self.std = (t.to(self.device) for t in _normalisation(backbone.preprocess))
        self.valid = np.ones(len(paths), dtype=bool)
        chunks: list[torch.Tensor] = []
        size = backbone.image_size

        def prepare(path: str) -> Optional[torch.Tensor]:
            try:
                return prepare_image(backbone, path)
            except (DecodeError, OSError):
                return None

        with ThreadPoolExecutor(default_workers(), thread_name_prefix="bitlens-train-decode") as pool:
            for start in range(0, len(paths), batch_size):
                if cancel is not None:
                    cancel.raise_if_cancelled()
                prepared = list(pool.map(prepare, paths[start : start + batch_size]))
                blank = torch.zeros(3, size, size)
                for offset, item in enumerate(prepared):
                    if item is None:
                        self.valid[start + offset] = False  # vanished or unreadable since indexing: left out
                pixels = torch.stack([blank if item is None else item for item in prepared]).to(self.device)
                if tower.from_pixels:
                    chunks.append(((pixels * self.std + self.mean).clamp(0, 1) * 255).round().to(torch.uint8).cpu())
                else:
                    chunks.append(tower.stem(pixels).to(torch.float16).cpu())
                if progress is not None:
                    progress(min(start + batch_size, len(paths)), len(paths))
        self.data = torch.cat(chunks).to(self.device) if chunks else torch.zeros(0)

    def batch(self, index: torch.Tensor, augment: bool) -> torch.Tensor:
        """The trained part's input for photos `index` (random flips when augmenting pixels)."""
        x = self.data[index]
        if not self.tower.from_pixels:
            return x.float()
        x = (x.float() / 255 - self.mean) / self.std
        if augment:
            flip = torch.rand(len(x), device=x.device) < 0.5
            x = torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)
        return x


def photo_paths(library, hashes: Sequence[str]) -> list[str]:
    """One readable path per content hash (copies share one)."""
    with library.store.raw() as db:
        found = dict(db.execute("SELECT content_hash, min(path) FROM images WHERE status = 'ok' GROUP BY content_hash"))
    return [found.get(h, "") for h in hashes]


def save_tuned_backbone(backbone: Backbone, tower: ImageTower, base: BackboneSpec, target: Path) -> BackboneSpec:
    """Write the whole CLIP state with the tuned tower as a weights file; the spec that loads it."""
    from safetensors.torch import save_file

    state = {k: v.detach().cpu().clone().contiguous() for k, v in backbone.model.state_dict().items()}
    state.update({k: v.detach().cpu().clone().contiguous() for k, v in tower.trained_state().items()})
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name + ".tmp")
    save_file(state, str(temporary))
    temporary.replace(target)
    return BackboneSpec(
        arch=base.arch,
        pretrained=None,
        weights=str(target),
        weights_sha256=sha256_file(target),
        config_sha256=base.config_sha256,
        base_pretrained=base.pretrained or base.base_pretrained,
    )
