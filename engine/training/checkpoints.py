"""Checkpoints in safetensors (no pickle): weights, optimizer state and JSON metadata."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional

import torch

from ..codes.hashing_file import read_checkpoint
from ..models.hashing import HashingNet


def save_checkpoint(
    path: Path, model: HashingNet, metadata: dict[str, Any], optimizer: Optional[torch.optim.Optimizer] = None, extra: Optional[dict[str, torch.Tensor]] = None
) -> None:
    """Write weights (+ optimizer moments, extra tensors) and metadata atomically: temp file, then rename."""
    from safetensors.torch import save_file

    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tensors.update({k: v.detach().cpu().contiguous() for k, v in (extra or {}).items()})
    if optimizer is not None:
        for index, state in optimizer.state_dict()["state"].items():
            for name, value in state.items():
                tensors[f"optim.{index}.{name}"] = torch.as_tensor(value).detach().cpu().contiguous()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    save_file(tensors, str(temporary), metadata={"bitlens": json.dumps(metadata)})
    os.replace(temporary, path)


def export_for_inference(source: Path, target: Path) -> None:
    """Copy a training checkpoint without the optimizer moments (a third of the size).

    A tuned image tower is left out too: it lives in the tuned backbone's weights file.
    """
    from safetensors.torch import save_file

    tensors, metadata = read_checkpoint(source)
    kept = {k: v.contiguous() for k, v in tensors.items() if not k.startswith(("optim.", "tower."))}
    temporary = target.with_name(target.name + ".tmp")
    save_file(kept, str(temporary), metadata={"bitlens": json.dumps(metadata)})
    os.replace(temporary, target)


def restore_optimizer(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor]) -> None:
    """Put saved Adam moments back into a freshly built optimizer."""
    state = optimizer.state_dict()
    restored: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        _, index, name = key.split(".", 2)
        restored.setdefault(int(index), {})[name] = value
    state["state"] = restored
    optimizer.load_state_dict(state)
