"""open_clip backbones: which one (a spec the library stores) and loading it.

A spec is plain data (arch, pretrained tag or weights file) so a library can record
which backbone made its embeddings and a later process can load exactly that one.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence

import numpy as np

from .catalog import DEFAULT_ARCH, DEFAULT_TAGS
from .hub import resolve_pretrained
from .tokens import pool_token_grid
from .weights import WeightsUnavailable, sha256_file

if TYPE_CHECKING:
    from .onnx_tower import OnnxImageTower

CONFIG_DIR = Path(__file__).with_name("configs")
TINY = "tiny"
TINY_CONFIG = CONFIG_DIR / "bitlens-tiny.json"
# Seed for randomly initialised backbones: the same weights in every process, so
# codes written by `index` and queries encoded later by `search` agree.
RANDOM_INIT_SEED = 0


class _HideRandomInitWarning(logging.Filter):
    """open_clip warns about random weights; BitLens labels such backbones itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "No pretrained weights loaded" not in record.getMessage()


class BackboneError(RuntimeError):
    """A backbone cannot be built as asked (unknown name, bad config, tampered weights)."""


@dataclass(frozen=True)
class BackboneSpec:
    """Which open_clip backbone: an architecture plus where its weights come from."""

    arch: str
    pretrained: Optional[str] = None
    weights: Optional[str] = None
    weights_sha256: Optional[str] = None
    config_sha256: Optional[str] = None
    # For weights tuned by BitLens from a pretrained tag: whose preprocessing they keep.
    base_pretrained: Optional[str] = None
    # How the image tower runs: None is torch as loaded (fp32 on a CPU), "int8" is the
    # ONNX Runtime int8 tower (engine/models/onnx_tower.py). Part of the key: int8
    # embeddings are close to fp32 ones, not equal, and are never mixed with them.
    precision: Optional[str] = None

    @classmethod
    def from_args(cls, backbone: Optional[str], pretrained: Optional[str] = None, weights: Optional[str] = None) -> "BackboneSpec":
        """Build a spec from CLI-style arguments, filling in the documented defaults."""
        arch = backbone or DEFAULT_ARCH
        if weights:
            path = Path(weights).expanduser().resolve()
            if not path.is_file():
                raise BackboneError(f"weights file not found: {path}")
            weights = str(path)
            pretrained = None
        config_sha = None
        if arch.lower().endswith(".json"):
            config = Path(arch).expanduser().resolve()
            if not config.is_file():
                raise BackboneError(f"model config not found: {config}")
            arch = str(config)
            config_sha = sha256_file(config)
        elif arch == TINY:
            config_sha = sha256_file(TINY_CONFIG)
        elif not weights and not pretrained:
            if arch in DEFAULT_TAGS:
                pretrained = DEFAULT_TAGS[arch]  # the offered models (the default first) come with their weights tag
            else:
                import open_clip

                tags = open_clip.list_pretrained_tags_by_model(arch)
                if arch not in open_clip.list_models():
                    raise BackboneError(f"unknown backbone '{arch}': use an open_clip model name, 'tiny' or a config .json")
                if tags:
                    raise BackboneError(f"choose weights for {arch} with --pretrained (one of: {', '.join(tags)}) or --weights FILE")
        return cls(
            arch=arch,
            pretrained=pretrained,
            weights=weights,
            weights_sha256=sha256_file(weights) if weights else None,
            config_sha256=config_sha,
        )

    @property
    def random_init(self) -> bool:
        return self.pretrained is None and self.weights is None

    @property
    def key(self) -> str:
        """A stable identity: equal keys mean identical embeddings for identical pixels."""
        parts = [self.arch if not self.arch.endswith(".json") else f"config:{self.config_sha256}"]
        if self.arch == TINY:
            parts.append(f"config:{self.config_sha256}")
        if self.pretrained:
            parts.append(f"pretrained:{self.pretrained}")
        elif self.weights_sha256:
            parts.append(f"weights:{self.weights_sha256}")
        else:
            parts.append(f"random:{RANDOM_INIT_SEED}")
        if self.precision:
            parts.append(f"precision:{self.precision}")
        return "|".join(parts)

    @property
    def label(self) -> str:
        """How the backbone is named to a user, honest about random weights and int8."""
        return self._label() + (f", {self.precision} image tower" if self.precision else "")

    def _label(self) -> str:
        name = Path(self.arch).stem if self.arch.endswith(".json") else self.arch
        if self.pretrained:
            return f"{name} ({self.pretrained})"
        if self.weights and self.base_pretrained:
            return f"{name} (tuned from {self.base_pretrained}: {Path(self.weights).name})"
        if self.weights:
            return f"{name} (weights {Path(self.weights).name})"
        return f"{name} (random weights: for tests and offline use, low quality)"

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "BackboneSpec":
        return cls(**json.loads(text))


def pick_device(preference: str = "auto") -> str:
    """CUDA if present, then Apple MPS, else the CPU (or exactly what was asked)."""
    import torch

    if preference != "auto":
        return preference
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def _register_config(path: Path) -> str:
    """Make a config JSON known to open_clip; returns the model name it registered."""
    import open_clip

    name = path.stem
    if name not in open_clip.list_models():
        try:
            open_clip.add_model_config(str(path))
        except Exception as error:
            raise BackboneError(f"cannot read model config {path}: {error}") from error
    return name


def _preprocess_settings(name: str, tag: str) -> dict:
    """A pretrained tag's image preprocessing, as keyword arguments (a file path loses them)."""
    import open_clip

    cfg = open_clip.get_pretrained_cfg(name, tag)
    pairs = (("mean", "image_mean"), ("std", "image_std"), ("interpolation", "image_interpolation"), ("resize_mode", "image_resize_mode"))
    return {arg: cfg[key] for key, arg in pairs if key in cfg}


class Backbone:
    """A loaded open_clip model with its preprocessing and tokenizer, in eval mode."""

    def __init__(self, spec: BackboneSpec, device: str = "auto", onnx_dir: Optional[os.PathLike[str] | str] = None) -> None:
        import open_clip
        import torch

        self.spec = spec
        self.device = pick_device(device)
        self._onnx_dir = onnx_dir  # where an int8 spec's exported tower is cached (default: the user cache)
        self._int8: Optional[OnnxImageTower] = None
        if spec.arch == TINY:
            name = _register_config(TINY_CONFIG)
        elif spec.arch.endswith(".json"):
            config = Path(spec.arch)
            if not config.is_file():
                raise BackboneError(f"model config not found: {config}")
            if spec.config_sha256 and sha256_file(config) != spec.config_sha256:
                raise BackboneError(f"model config {config} changed since this library was indexed")
            name = _register_config(config)
        else:
            name = spec.arch
        kwargs: dict = {}
        pretrained: Optional[str] = None
        if spec.weights:
            if not os.path.isfile(spec.weights):
                raise WeightsUnavailable(f"weights file not found: {spec.weights}")
            if spec.weights_sha256 and sha256_file(spec.weights) != spec.weights_sha256:
                raise BackboneError(
                    f"weights file {spec.weights} does not match the sha256 recorded when it was chosen; "
                    "it was changed or replaced, so BitLens refuses to load it"
                )
            pretrained = spec.weights
            if spec.base_pretrained and not spec.arch.endswith(".json") and spec.arch != TINY:
                kwargs.update(_preprocess_settings(name, spec.base_pretrained))
        elif spec.pretrained:
            pretrained = resolve_pretrained(name, spec.pretrained)
            kwargs.update(_preprocess_settings(name, spec.pretrained))
        if pretrained is None:
            # Random init: a Hugging Face text tower (multilingual models) must not fetch its base weights.
            kwargs["pretrained_hf"] = False
        quiet = _HideRandomInitWarning()
        logging.getLogger().addFilter(quiet)
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(RANDOM_INIT_SEED)
                model, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=pretrained, **kwargs)
        except pickle.UnpicklingError as error:
            # torch's weights-only loader refused a .pt/.bin holding more than tensors; its own
            # message suggests weights_only=False, which is exactly what must not be done.
            raise BackboneError(
                f"cannot build backbone {spec.label}: the weights file holds Python objects besides tensors, "
                "which BitLens refuses to load because they could run code; use a .safetensors file"
            ) from error
        except (RuntimeError, ValueError, KeyError, EOFError, OSError) as error:
            # OSError: a Hugging Face text tower whose tokenizer/config is not downloaded (offline)
            raise BackboneError(f"cannot build backbone {spec.label}: {error}") from error
        except Exception as error:
            from safetensors import SafetensorError

            if isinstance(error, SafetensorError):
                raise BackboneError(f"cannot build backbone {spec.label}: the weights file is not valid safetensors ({error})") from error
            raise
        finally:
            logging.getLogger().removeFilter(quiet)
        self.model = model.to(self.device).eval()
        self.preprocess = preprocess
        try:
            self.tokenizer = open_clip.get_tokenizer(name)
        except (OSError, ValueError) as error:  # a Hugging Face tokenizer that is not downloaded
            raise BackboneError(f"cannot load the tokenizer of {spec.label}: {error}") from error
        self._text_cache = LRU()
        size = self.model.visual.image_size
        self.image_size = int(size[0] if isinstance(size, (tuple, list)) else size)
        self.embed_dim = int(self.encode_texts(["a photo"]).shape[1])

    def _autocast(self):
        import contextlib

        import torch

        if self.device == "cuda":
            return torch.autocast("cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    def int8_tower(self) -> OnnxImageTower:
        """The ONNX Runtime int8 image tower of an int8 spec (exported on first use, then cached on disk)."""
        if self._int8 is None:
            import torch

            from ..paths import library_paths
            from .onnx_tower import OnnxImageTower

            folder = self._onnx_dir or library_paths().cache / "onnx"
            # torch's thread count: Ray sets it to a worker's CPUs, so workers do not oversubscribe a node.
            self._int8 = OnnxImageTower(self, folder, int8=True, threads=torch.get_num_threads())
        return self._int8

    def encode_images(self, batch) -> np.ndarray:
        """L2-normalised image embeddings (float32, N × D) of a preprocessed batch tensor."""
        import torch

        if self.spec.precision == "int8":
            return self.int8_tower().encode_images(batch)
        with torch.inference_mode(), self._autocast():
            features = self.model.encode_image(batch.to(self.device), normalize=True)
        return features.float().cpu().numpy()

    @property
    def has_tokens(self) -> bool:
        """Whether the image tower is a plain ViT whose patch tokens can be projected."""
        from open_clip.transformer import VisionTransformer

        visual = self.model.visual
        if not isinstance(visual, VisionTransformer) or visual.proj is None or visual.attn_pool is not None:
            return False
        grid = visual.grid_size
        return grid[0] == grid[1]

    def encode_images_with_tokens(self, batch) -> tuple[np.ndarray, Optional[np.ndarray]]:
        """Image embeddings plus pooled multi-scale patch tokens (N × S × D), when the tower has them.

        The patch tokens go through the tower's own output projection (as MaskCLIP does),
        so they live in the same space as the embedding and the text features; then they
        are average-pooled onto 1×1, 2×2 and 3×3 grids (TOKEN_SCALES): a fixed, small
        summary of where things are, cheap to cache for training the hashing network.
        """
        import torch
        import torch.nn.functional as F

        visual = self.model.visual
        if self.spec.precision == "int8":
            return self.int8_tower().encode_images_with_tokens(batch)
        if not self.has_tokens:
            return self.encode_images(batch), None
        with torch.inference_mode(), self._autocast():
            visual.output_tokens = True
            try:
                pooled, tokens = visual(batch.to(self.device))
            finally:
                visual.output_tokens = False
            embeddings = F.normalize(pooled, dim=-1)
            tokens = tokens @ visual.proj
            pooled_tokens = pool_token_grid(tokens)
        return embeddings.float().cpu().numpy(), None if pooled_tokens is None else pooled_tokens.float().cpu().numpy()

    def encode_texts(self, texts: Sequence[str], trim: bool = True, cache: bool = True) -> np.ndarray:
        """L2-normalised text embeddings (float32, N × D).

        Repeated single texts are answered from a small LRU cache (``cache``).  With ``trim`` (the
        default) the padding after the longest end-of-text token in the batch is cut
        away before the text tower runs (see :meth:`_encode_tokens_trimmed`); the
        result is bit-identical in codes and equal in value up to float rounding.
        """
        texts = list(texts)
        use_cache = cache and trim and len(texts) == 1
        if use_cache:
            cached = self._text_cache.get(texts[0])
            if cached is not None:
                return cached[None, :].copy()
        import torch

        tokens = self.tokenizer(texts).to(self.device)
        with torch.inference_mode(), self._autocast(), _query_threads(self.device, len(texts)):
            if trim and self._can_trim_text:
                features = self._encode_tokens_trimmed(tokens)
            else:
                features = self.model.encode_text(tokens, normalize=True)
        out = features.float().cpu().numpy()
        if use_cache:
            self._text_cache.put(texts[0], out[0].copy())
        return out

    @property
    def _can_trim_text(self) -> bool:
        """Whether the text tower is open_clip's causal CLIP tower pooled at one token."""
        import open_clip

        model = self.model
        return (
            isinstance(model, open_clip.CLIP)
            and getattr(model, "attn_mask", None) is not None
            and model.text_pool_type in ("argmax", "eos")
            and not getattr(model.transformer, "grad_checkpointing", False)
        )

    def _encode_tokens_trimmed(self, tokens):
        """open_clip's ``CLIP.encode_text``, run only on the tokens up to the pooled one.

        The text attention is causal, so a position never sees the padding after it,
        and the embedding is read at the end-of-text token: cutting the sequence after
        the last pooled position in the batch changes nothing but the work (77 → ~8
        positions for a short query).
        """
        import torch
        import torch.nn.functional as F

        model = self.model
        if model.text_pool_type == "argmax":
            pooled_at = tokens.argmax(dim=-1)
        else:
            pooled_at = (tokens == model.text_eos_id).int().argmax(dim=-1)
        length = int(pooled_at.max()) + 1
        tokens = tokens[:, :length]
        cast_dtype = model.transformer.get_cast_dtype()
        x = model.token_embedding(tokens).to(cast_dtype)
        x = x + model.positional_embedding[:length].to(cast_dtype)
        x = model.transformer(x, attn_mask=model.attn_mask[:length, :length])
        x = model.ln_final(x)
        x = x[torch.arange(x.shape[0], device=x.device), pooled_at]
        if model.text_projection is not None:
            if isinstance(model.text_projection, torch.nn.Linear):
                x = model.text_projection(x)
            else:
                x = x @ model.text_projection
        return F.normalize(x, dim=-1)


def _query_threads(device: str, batch: int):
    """Run a one-text query on at most half the cores (this thread only; restored after).

    A trimmed query is ~8 positions: more threads buy little, and when the cores are busy
    (indexing in the background, other programs) every one of the ~150 small ops waits
    at a barrier for a descheduled thread.  Measured on 2 shared busy cores, ViT-B-32:
    1 thread 104 ms median, 2 threads 426 ms.  torch's thread count is per calling
    thread (OpenMP), so a concurrent indexing thread keeps its own.
    """
    import contextlib

    import torch

    if device != "cpu" or batch != 1:
        return contextlib.nullcontext()
    wanted = max(1, (os.cpu_count() or 2) // 2)
    previous = torch.get_num_threads()
    if wanted >= previous:
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def limited():
        torch.set_num_threads(wanted)
        try:
            yield
        finally:
            torch.set_num_threads(previous)

    return limited()


class LRU:
    """A small least-recently-used map (a query text or photo → its vector) for repeated queries."""

    def __init__(self, size: int = 256) -> None:
        from collections import OrderedDict

        self.size = size
        self._items: "OrderedDict[str, np.ndarray]" = OrderedDict()
        self.hits = 0

    def get(self, key: str) -> Optional[np.ndarray]:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
            self.hits += 1
        return value

    def put(self, key: str, value: np.ndarray) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)
