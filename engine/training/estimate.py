"""What the wizard's Model page offers: devices, backbones on this machine, a measured time estimate."""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path
from typing import Optional

import numpy as np

from ..models.hashing import DEFAULT_CONFIG, HashingConfig

TIMED_STEPS = 3


def available_devices() -> list[tuple[str, str]]:
    """(device, label) pairs: automatic first, then each GPU by name, then the CPU."""
    import torch

    from ..models.backbones import pick_device

    devices = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            devices.append((f"cuda:{i}" if i else "cuda", f"GPU: {torch.cuda.get_device_name(i)}"))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append(("mps", "GPU: Apple (Metal)"))
    auto = pick_device("auto")
    chosen = next((label for device, label in devices if device == auto), "CPU")
    return [("auto", f"Automatic ({chosen})"), *devices, ("cpu", "CPU")]


def local_backbones() -> list[tuple[str, str]]:
    """open_clip (architecture, pretrained tag) pairs whose weights are already on this machine."""
    import open_clip

    from ..models.hub import cached_weights

    found = []
    for arch, tag in open_clip.list_pretrained():
        try:
            if cached_weights(arch, tag):
                found.append((arch, tag))
        except Exception:  # an odd registry entry must not hide the others
            continue
    return found


def estimate_head_seconds(
    photos: int,
    dim: int,
    tokens_per_image: int,
    vocabulary: int,
    bits: int,
    epochs: int,
    device: str = "auto",
    overrides: Optional[dict] = None,
) -> float:
    """Seconds a "head" run would take, from timing real training steps on synthetic features of the same shape.

    The trainer is run for one short epoch on random data (same network, batch size and
    losses as the real run); the time per step is scaled to the real number of steps.
    Validation and checkpoints are part of the timed epoch, so this errs on the long side.
    """
    from .data import TrainingData
    from .trainer import Trainer

    config = HashingConfig.load(DEFAULT_CONFIG, overrides)
    batch = int(config.training.get("batch_size", 256))
    n = max(2, min(batch, photos)) * TIMED_STEPS
    vocabulary = max(2, min(vocabulary, int(config.data.get("max_vocabulary", 2000))))
    rng = np.random.default_rng(0)
    embeddings = rng.standard_normal((n, dim)).astype(np.float32)
    tokens = rng.standard_normal((n, tokens_per_image, dim)).astype(np.float32) if tokens_per_image else None
    tag_lists = [sorted(set(rng.integers(0, vocabulary, 3).tolist())) for _ in range(n)]
    data = TrainingData(
        hashes=[str(i) for i in range(n)],
        embeddings=embeddings,
        tokens=tokens,
        vocabulary=[f"t{i}" for i in range(vocabulary)],
        tag_lists=tag_lists,
        vocabulary_embeddings=rng.standard_normal((vocabulary, dim)).astype(np.float32),
        train=np.arange(n - 2),
        validation=np.arange(n - 2, n),
    )
    with tempfile.TemporaryDirectory() as folder:
        config.training["batch_size"] = max(2, min(batch, photos))
        trainer = Trainer(data, config, bits, Path(folder) / "timing.safetensors", device=device)
        started = time.perf_counter()
        trainer.train(1)
        per_step = (time.perf_counter() - started) / TIMED_STEPS
    steps = math.ceil(photos / max(2, min(batch, photos))) * epochs
    return per_step * steps
