"""Backbone weights on this computer, for an application: the hub's verbs without its details.

Weights are shared by every library on the machine (the Hugging Face cache), so these are
functions, not `BitLens` methods.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

from ..jobs import CancelToken, ProgressCallback


@dataclass(frozen=True)
class WeightsRow:
    """One backbone's weights as the Model files dialog lists them."""

    name: str  # ARCH/TAG
    recommended: bool
    cached: Optional[str]  # the file on this computer, if downloaded


def default_weights_cached() -> bool:
    """Whether the default model's pretrained weights are already on this computer.

    The default's hub files are known without open_clip, so this is a cache lookup that
    imports no torch: the first-run dialog can open as soon as the window has read the library.
    """
    from ..models import hub
    from ..models.catalog import DEFAULT_NAME

    return hub.cached_file(hub.resolve_model(DEFAULT_NAME)) is not None


def hub_reachable() -> bool:
    """Whether the model hub answers now, the way a download would reach it (proxy included); offline at once."""
    from ..models import hub

    return hub.reachable()


def download_weights(name: str, progress: Optional[ProgressCallback] = None, cancel: Optional[CancelToken] = None) -> str:
    """Download (or find) the weights called `name` (ARCH/TAG; the default model's when empty): resumable, sha256-checked."""
    from ..models import hub
    from ..models.catalog import DEFAULT_NAME

    return str(hub.download(hub.resolve_model(name or DEFAULT_NAME), progress=progress, cancel=cancel))


def import_weights(path: str, name: str) -> str:
    """Copy a local weights file into the shared cache as `name`'s weights; returns where it went."""
    from ..models import hub

    return str(hub.import_file(path, hub.resolve_model(name)))


def list_weights() -> list[WeightsRow]:
    """The recommended architecture's weights plus everything already downloaded."""
    from ..models import hub

    rows = []
    for model in hub.available_models():
        cached = hub.cached_file(model)
        if model.arch == hub.RECOMMENDED[0] or cached is not None:
            rows.append(WeightsRow(model.name, model.recommended, str(cached) if cached else None))
    return rows


def check_weights_file(arch: str, weights: str) -> str:
    """Check that a weights file loads as the given architecture (the default's when empty); returns its absolute path."""
    from ..models.backbones import Backbone, BackboneSpec

    spec = BackboneSpec.from_args(arch or None, None, weights)
    Backbone(spec, device="cpu")  # refuses files that do not fit the architecture
    return os.path.abspath(weights)


def weights_architecture(weights: str, typed: str = "") -> str:
    """The architecture of a weights file (what --backbone takes), read from its tensor shapes; no model is built.

    `typed`: what the user typed, taken when it is one of several architectures that fit.
    ArchitectureUnknown, naming the candidates, when none or several fit.
    """
    from ..models.architecture import infer_architecture

    return infer_architecture(weights, hint=typed.strip() or None).arch


def compute_device(device: str = "auto") -> str:
    """The device the backbone would run on for this setting ("cuda", "mps" or "cpu")."""
    from ..models.backbones import pick_device

    return pick_device(device)
