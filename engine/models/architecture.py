"""Which open_clip architecture a weights file is, read from its tensor names and shapes.

A user with a weights file should not have to know that it is a "ViT-B-32": the file says
so itself. The image tower's patch size and width, its number of blocks and positions, the
text tower's width, blocks and context length and the embedding size are read from the
tensor shapes (the safetensors header, or a torch file loaded onto the meta device: no
tensor data is read) and matched against every open_clip model config, BitLens's own
"tiny", and model-config .json files lying beside the weights file.

Some architectures differ only in what shapes do not show (ViT-B-32 and ViT-B-32-quickgelu
share every tensor): then the simpler name wins when the others are its variants, else the
answer names the candidates and asks for one.
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from .backbones import TINY, TINY_CONFIG, BackboneError

Shapes = dict[str, tuple[int, ...]]
# Fields of an architecture's signature; None in a config's signature: not known from the config (timm or Hugging Face towers).
FIELDS = ("prefix", "vision", "text", "embed_dim", "decoder")


class ArchitectureUnknown(BackboneError):
    """A weights file whose architecture cannot be told (no config fits, or several do)."""


@dataclass(frozen=True)
class Architecture:
    """The architecture found for a weights file: what to pass as --backbone, and names with the same tensors."""

    arch: str
    same_shapes: tuple[str, ...] = ()


def read_shapes(path: str | Path) -> Shapes:
    """Tensor name → shape of a weights file, without reading its tensors (safetensors header; torch files onto the meta device)."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise ArchitectureUnknown(f"no such file: {file}")
    with open(file, "rb") as handle:
        start = handle.read(8)
        if len(start) == 8:
            size = struct.unpack("<Q", start)[0]
            if 2 <= size <= 100_000_000:
                header = handle.read(size)
                if header[:1] == b"{":
                    try:
                        table = json.loads(header)
                    except ValueError:
                        table = None
                    if isinstance(table, dict):
                        return {name: tuple(info["shape"]) for name, info in table.items() if name != "__metadata__" and isinstance(info, dict)}
    return _torch_shapes(file)


def _torch_shapes(file: Path) -> Shapes:
    import torch

    try:
        loaded = torch.load(str(file), map_location="meta", weights_only=True)
    except Exception as error:  # not a torch file, or one holding more than tensors
        raise ArchitectureUnknown(
            f"{file.name} is not a weights file BitLens can read (a .safetensors file, or a torch file of tensors only): {type(error).__name__}"
        ) from None
    if isinstance(loaded, dict) and isinstance(loaded.get("state_dict"), dict):
        loaded = loaded["state_dict"]  # an open_clip training checkpoint
    if not isinstance(loaded, dict):
        raise ArchitectureUnknown(f"{file.name} holds no named tensors")
    return {re.sub(r"^module\.", "", name): tuple(value.shape) for name, value in loaded.items() if hasattr(value, "shape")}


def _count(shapes: Shapes, pattern: str) -> int:
    """How many distinct indices fill the {} of a key pattern (blocks of a tower)."""
    found = re.compile(re.escape(pattern).replace(r"\{\}", r"(\d+)"))
    return len({match.group(1) for name in shapes if (match := found.match(name))})


def file_signature(shapes: Shapes) -> dict[str, Any]:
    """What a file's tensors say about its architecture (the FIELDS)."""
    custom = any(name.startswith("text.") for name in shapes)
    prefix = "text." if custom else ""
    vision: Any = "other"
    if any(name.startswith("visual.trunk.") for name in shapes):
        vision = ("timm",)
    elif "visual.layer1.0.conv1.weight" in shapes and "visual.attnpool.positional_embedding" in shapes:
        vision = (
            "rn",
            tuple(_count(shapes, f"visual.layer{i}.{{}}.conv1.weight") for i in range(1, 5)),
            shapes["visual.conv1.weight"][0] * 2,
            shapes["visual.attnpool.positional_embedding"][0] - 1,
        )
    elif "visual.conv1.weight" in shapes and "visual.positional_embedding" in shapes:
        conv = shapes["visual.conv1.weight"]
        fc = shapes.get("visual.transformer.resblocks.0.mlp.c_fc.weight", (0,))
        vision = (
            "vit",
            conv[0],
            conv[-1],
            _count(shapes, "visual.transformer.resblocks.{}.ln_1.weight"),
            shapes["visual.positional_embedding"][0] - (1 if "visual.class_embedding" in shapes else 0),
            fc[0],
        )
    text: Any = "other"
    tokens = shapes.get(f"{prefix}token_embedding.weight")
    if tokens is not None and f"{prefix}positional_embedding" in shapes:
        text = ("clip", tokens[0], tokens[1], shapes[f"{prefix}positional_embedding"][0], _count(shapes, f"{prefix}transformer.resblocks.{{}}.ln_1.weight"))
    elif any(name.startswith("text.transformer.") for name in shapes):
        text = ("hf",)
    embed_dim = None
    if f"{prefix}text_projection" in shapes:
        embed_dim = shapes[f"{prefix}text_projection"][-1]
    elif f"{prefix}text_projection.weight" in shapes:
        embed_dim = shapes[f"{prefix}text_projection.weight"][0]
    elif "visual.proj" in shapes:
        embed_dim = shapes["visual.proj"][-1]
    decoder = any(name.startswith("text_decoder.") for name in shapes)
    return {"prefix": prefix, "vision": vision, "text": text, "embed_dim": embed_dim, "decoder": decoder}


def config_signature(config: dict) -> dict[str, Any]:
    """What an open_clip model config says its tensors look like (None where the config alone cannot say)."""
    vision_cfg = config.get("vision_cfg", {})
    text_cfg = config.get("text_cfg", {})
    hf_text = bool(text_cfg.get("hf_model_name"))
    decoder = "multimodal_cfg" in config
    custom = bool(config.get("custom_text")) or hf_text or decoder
    size = vision_cfg.get("image_size", 224)
    height, width_px = (size, size) if isinstance(size, int) else tuple(size)
    width = vision_cfg.get("width", 768)
    layers = vision_cfg.get("layers", 12)
    vision: Any
    if vision_cfg.get("timm_model_name"):
        vision = None  # a timm tower: its shapes are timm's, not in the config
    elif isinstance(layers, (list, tuple)):
        vision = ("rn", tuple(layers), width, (height // 32) * (width_px // 32))
    else:
        patch = vision_cfg.get("patch_size", 16)
        vision = ("vit", width, patch, layers, (height // patch) * (width_px // patch), int(width * vision_cfg.get("mlp_ratio", 4.0)))
    context = text_cfg.get("context_length", 77) + (1 if text_cfg.get("embed_cls") else 0)  # CoCa adds a class token
    text: Any = None if hf_text else ("clip", text_cfg.get("vocab_size", 49408), text_cfg.get("width", 512), context, text_cfg.get("layers", 12))
    return {"prefix": "text." if custom else "", "vision": vision, "text": text, "embed_dim": config.get("embed_dim"), "decoder": decoder}


def _fits(found: dict[str, Any], expected: dict[str, Any]) -> Optional[bool]:
    """None if a field differs; else whether every field was checked (False: a timm or Hugging Face tower was taken on trust)."""
    complete = True
    for field in FIELDS:
        want = expected[field]
        if want is None:
            complete = False
            if field == "vision" and found["vision"] != ("timm",):
                return None
            if field == "text" and found["text"] != ("hf",):
                return None
            continue
        if field == "embed_dim" and found[field] is None:
            continue
        if found[field] != want:
            return None
    return complete


def _candidates(weights: Path) -> list[tuple[str, dict]]:
    """(name to pass as --backbone, config) of every architecture a file could be."""
    import open_clip

    configs: list[tuple[str, dict]] = []
    for sibling in sorted(weights.parent.glob("*.json")):
        try:
            config = json.loads(sibling.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(config, dict) and {"embed_dim", "vision_cfg", "text_cfg"} <= set(config):
            configs.append((str(sibling.resolve()), config))
    configs.append((TINY, json.loads(TINY_CONFIG.read_text(encoding="utf-8"))))
    # open_clip's own configs only: those BitLens registered in this process (tiny, a config .json) are not names another process knows
    builtin = {file.stem for file in (Path(open_clip.__file__).parent / "model_configs").glob("*.json")}
    configs.extend((name, open_clip.get_model_config(name)) for name in open_clip.list_models() if name in builtin)
    return configs


def _preferred(names: list[str], hint: Optional[str]) -> Optional[str]:
    """The one name to use among architectures with the same tensors, if one stands out."""
    from .catalog import CHOICES

    if hint and hint in names:
        return hint
    for name in names:
        if name.endswith(".json") or name == TINY:
            return name  # a config beside the file, or BitLens's own
    for choice in CHOICES:
        if choice.arch in names:
            return choice.arch
    shortest = min(names, key=len)
    if all(name.startswith(shortest) for name in names):
        return shortest  # the others are its variants (-quickgelu and the like), which no tensor shows
    return None


def infer_architecture(weights: str | Path, hint: Optional[str] = None) -> Architecture:
    """The architecture of a weights file; ArchitectureUnknown (naming the candidates) when none or several fit.

    `hint`: a name the user typed, taken when it is one of several that fit.
    """
    path = Path(weights).expanduser()
    shapes = read_shapes(path)
    found = file_signature(shapes)
    if found["vision"] == "other" or found["text"] == "other":
        raise ArchitectureUnknown(f"{path.name} does not hold an open_clip CLIP model's tensors (no image and text towers found)")
    exact: list[str] = []
    trusted: list[str] = []
    for name, config in _candidates(path):
        fit = _fits(found, config_signature(config))
        if fit is not None:
            (exact if fit else trusted).append(name)
    names = exact or trusted
    if not names:
        raise ArchitectureUnknown(f"no known architecture has the tensors of {path.name}: put its model-config .json beside it, or type the architecture")
    chosen = _preferred(names, hint)
    if chosen is None or (not exact and len(names) > 1 and chosen != hint):
        shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        raise ArchitectureUnknown(f"{path.name} fits several architectures ({shown}): type the one it is")
    return Architecture(chosen, tuple(name for name in names if name != chosen))
