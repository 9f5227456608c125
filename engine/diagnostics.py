"""What a problem report holds: versions, device, library counts and recent errors.

Never photo content (no pixels, thumbnails, embeddings, tags or codes). Paths and
file names are replaced by placeholders unless the user agrees to include them.
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
import time
from importlib import metadata
from typing import Any, Iterable, Optional

from . import __version__

# Absolute paths (POSIX, ~, Windows drive or UNC), and bare file names with a photo/weights extension.
_PATH = re.compile(r"""(?<![\w.\-])(?:[A-Za-z]:[\\/]|\\\\|~[\\/]|/)[^\s'"<>|,;:()\[\]{}]*(?:[ ][^\s'"<>|,;:/\\()\[\]{}]+(?=[\\/]))?[^\s'"<>|,;:()\[\]{}]*""")
_FILE = re.compile(
    r"""[^\s'"<>|,;:/\\()\[\]{}]+\.(?:jpe?g|png|gif|bmp|tiff?|webp|heic|heif|avif|dng|cr2|cr3|nef|arw|orf|rw2|raf|xmp|safetensors|bin|pt|pth|json|sqlite|db)\b""",
    re.IGNORECASE,
)


def scrub(text: str) -> str:
    """Replace anything that looks like a path or a photo's file name by a placeholder."""
    return _FILE.sub("<file>", _PATH.sub("<path>", text))


def _version(distribution: str) -> Optional[str]:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def versions(load_torch: bool = True) -> dict[str, Any]:
    """BitLens, Python, OS, torch, open_clip, Qt and the compute device (imports torch when asked)."""
    info: dict[str, Any] = {
        "bitlens": __version__,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "open_clip": _version("open_clip_torch"),
        "torch": _version("torch"),
        "numpy": _version("numpy"),
        "pyside6": _version("PySide6") or _version("PySide6-Essentials"),
        "frozen": bool(getattr(sys, "frozen", False)),
    }
    qt_core = sys.modules.get("PySide6.QtCore")  # only when Qt is already part of this process
    if qt_core is not None:
        info["qt"] = qt_core.qVersion()
    if load_torch:
        import torch

        from .models.backbones import pick_device

        info["torch"] = torch.__version__
        device = pick_device("auto")
        info["device"] = device
        if device == "cuda":
            info["device_name"] = torch.cuda.get_device_name(0)
            info["cuda"] = torch.version.cuda
        info["threads"] = torch.get_num_threads()
    return info


def report(
    status: Optional[dict] = None,
    errors: Iterable[str] = (),
    settings: Optional[dict[str, Any]] = None,
    include_paths: bool = False,
    version_info: Optional[dict[str, Any]] = None,
) -> dict[str, Any]:
    """The diagnostics as a dict; every string is scrubbed of paths unless include_paths."""
    clean = (lambda text: text) if include_paths else scrub

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return clean(value)
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(item) for item in value]
        return value

    body = {
        "created": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "paths_included": include_paths,
        "versions": version_info if version_info is not None else versions(load_torch=False),
        "environment": {key: os.environ[key] for key in ("HF_HUB_OFFLINE", "HF_ENDPOINT", "CUDA_VISIBLE_DEVICES", "QT_QPA_PLATFORM") if key in os.environ},
        "library": status or {},
        "settings": settings or {},
        "recent_errors": list(errors)[-50:],
    }
    return walk(body)


def write_report(path: str | os.PathLike[str], body: dict[str, Any]) -> None:
    """Write the report as readable JSON (so the user can see what it holds before sending it)."""
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(body, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
