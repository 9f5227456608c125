"""Which precision the image tower runs at when a library is indexed.

On a machine (or a Ray cluster) without a GPU the default is the int8 ONNX Runtime
tower: 2.14× the photos per second of eager fp32 on a CPU, with the scenes-s0 mAP
unchanged to 0.01 points (docs/performance.md). With a GPU, torch runs the tower as
loaded. ``--precision fp32`` (or ``BITLENS_PRECISION=fp32``) keeps the torch tower on a
CPU too.
"""

from __future__ import annotations

import os
from typing import Callable, Optional

CHOICES = ("auto", "int8", "fp32")
ENV = "BITLENS_PRECISION"  # the default where a caller asks for "auto" (a user or a test suite can pin it)


class PrecisionError(ValueError):
    """A precision BitLens does not know, or int8 without ONNX Runtime."""


def onnx_available() -> bool:
    """Whether the int8 tower can run here (onnx to export it, onnxruntime to run it)."""
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None and importlib.util.find_spec("onnx") is not None


def resolve(requested: str, has_gpu: Callable[[], bool]) -> Optional[str]:
    """The spec precision for a request: "int8", or None for the torch tower as loaded.

    ``has_gpu`` is only called for "auto": it may import torch or ask a Ray cluster.
    """
    if requested == "auto":
        requested = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if requested not in CHOICES:
        raise PrecisionError(f"unknown precision '{requested}': use one of {', '.join(CHOICES)}")
    if requested == "fp32":
        return None
    if requested == "int8":
        if not onnx_available():
            raise PrecisionError("the int8 image tower needs `pip install onnx onnxruntime`; or use --precision fp32")
        return "int8"
    return "int8" if onnx_available() and not has_gpu() else None


def local_gpu(device: str) -> Callable[[], bool]:
    """A `has_gpu` for encoding on this machine with torch's device choice."""

    def check() -> bool:
        from .backbones import pick_device

        return pick_device(device) != "cpu"

    return check
