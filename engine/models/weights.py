"""Facts about a weights file, and the error for weights that cannot be had.

A leaf module (no network, no open_clip): the hub module (`hub.py`), the backbones,
the trained models and the CLI all use it, and it uses none of them.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path


class WeightsUnavailable(RuntimeError):
    """Pretrained weights are not on this machine and cannot be fetched now."""


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """The sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def weights_format(path: Path) -> str:
    """'safetensors' or 'torch' by the file's first bytes; raises WeightsUnavailable otherwise."""
    with open(path, "rb") as handle:
        head = handle.read(8)
        if len(head) == 8:
            (length,) = struct.unpack("<Q", head)
            if 2 <= length <= 100_000_000:
                try:
                    header = json.loads(handle.read(length))
                    if isinstance(header, dict):
                        return "safetensors"
                except (ValueError, UnicodeDecodeError):
                    pass
    if head[:4] == b"PK\x03\x04" or head[:1] == b"\x80":  # torch.save's zip, or a legacy pickle
        return "torch"
    raise WeightsUnavailable(f"{path.name} is not a weights file (neither safetensors nor a PyTorch checkpoint)")
