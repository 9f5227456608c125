"""Engine calls of the training wizard, the Models dialog and the tag editor (run in background jobs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

from ..torch_loader import import_torch

if TYPE_CHECKING:
    from PySide6.QtGui import QImage

    from ..jobs import JobContext

EFFORT_TEXT = {
    "head": (
        "Quick: train the hashing head on cached features",
        "Trains only the small hashing network on the features already computed when the library was indexed. "
        "Minutes on a CPU for a few thousand photos; the backbone is not changed.",
    ),
    "finetune": (
        "Fine-tune: also adapt the last blocks of the backbone",
        "Re-runs the backbone over the photos and adjusts its last blocks together with the hashing network. "
        "Better fit to your tags, much slower: a GPU is strongly advised. The library is re-encoded when you activate.",
    ),
    "scratch": (
        "From scratch: train the small model completely",
        "Trains the small backbone and the hashing network from random weights on your own photos. "
        "Only sensible with many tagged photos and a GPU; hours rather than minutes.",
    ),
}
EFFORT_ORDER = ("head", "finetune", "scratch")


def available_efforts() -> tuple[str, ...]:
    """The efforts this engine version can train (others are shown but refused with a message)."""
    from engine.facade import training_efforts

    return training_efforts()


@dataclass
class DataChoice:
    """What the Data page chose: folders (empty = all) and tag sources."""

    folders: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)


@dataclass
class ModelPageInfo:
    """What the Model page offers: the library's backbone, others on disk, devices, sizes for the estimate."""

    backbone: Optional[str]
    backbone_key: Optional[str]
    others: list[str]
    devices: list[tuple[str, str]]
    efforts: tuple[str, ...]
    active_bits: Optional[int]
    dim: int = 0
    tokens_per_image: int = 0


def data_overview(ctx: "JobContext", choice: DataChoice):
    """Counts, top tags and warnings for the chosen folders and sources (no torch)."""
    return ctx.library.tag_overview(choice.sources, choice.folders or None)


def model_page_info(ctx: "JobContext") -> ModelPageInfo:
    """The library's backbone, other backbones with local weights, devices and feature sizes."""
    import_torch()
    from engine.facade import available_devices, local_backbones

    library = ctx.library
    spec = library.current_backbone()
    status = library.status()
    others = []
    try:
        others = [f"{arch} ({tag})" for arch, tag in local_backbones()]
    except Exception:  # the registry is a nicety here; training does not need it
        others = []
    shape = library.feature_shape()
    active = status.get("active_model")
    return ModelPageInfo(
        backbone=spec.label if spec else None,
        backbone_key=spec.key if spec else None,
        others=[o for o in others if spec is None or not o.startswith(f"{spec.arch} ({spec.pretrained})")],
        devices=available_devices(),
        efforts=available_efforts(),
        active_bits=active["bits"] if active else None,
        dim=shape.dim,
        tokens_per_image=shape.tokens_per_image,
    )


def estimate(ctx: "JobContext", photos: int, dim: int, tokens: int, vocabulary: int, bits: int, epochs: int, device: str, overrides: Optional[dict]) -> float:
    """Seconds a head-only run would take here, measured on synthetic features of the same shape."""
    import_torch()
    from engine.facade import estimate_head_seconds

    return estimate_head_seconds(photos, dim, tokens, vocabulary, bits, epochs, device=device, overrides=overrides)


@dataclass(frozen=True)
class TrainRequest:
    bits: int
    epochs: int
    effort: str
    device: str
    choice: DataChoice
    overrides: Optional[dict] = None
    name: Optional[str] = None


def train(ctx: "JobContext", request: TrainRequest) -> dict:
    """Train and register (inactive) a model; returns its id and the model that was active before."""
    import_torch()
    before = ctx.library.status().get("active_model")
    model_id = ctx.library.train_model(
        bits=request.bits,
        epochs=request.epochs,
        effort=request.effort,
        device=request.device,
        overrides=request.overrides,
        sources=request.choice.sources or None,
        folders=request.choice.folders or None,
        name=request.name,
        progress=ctx.progress,
        cancel=ctx.cancel,
    )
    return {"model_id": model_id, "previous_id": before["id"] if before else None}


@dataclass
class EvaluationShown:
    """The engine's evaluation (engine.training.evaluation.Evaluation) and thumbnails of its example results."""

    evaluation: Any
    thumbnails: dict[str, "QImage"] = field(default_factory=dict)  # path → thumbnail (photos that could not be read are missing)


def evaluate(ctx: "JobContext", model_id: int, previous_id: Optional[int], choice: DataChoice, thumbnail_side: int = 96) -> EvaluationShown:
    """Before/after scores on the held-out photos, with the example results' thumbnails (the grid's disk cache)."""
    import_torch()
    from ..thumbnails import make_thumbnail

    evaluation = ctx.library.evaluate_models(
        model_id,
        [previous_id] if previous_id is not None else [],
        sources=choice.sources or None,
        folders=choice.folders or None,
        progress=ctx.progress,
        cancel=ctx.cancel,
    )
    shown = EvaluationShown(evaluation)
    cache = ctx.library.paths.cache / "thumbnails"
    for example in evaluation.examples:
        for results in example["results"].values():
            for path, _hit in results:
                if path and path not in shown.thumbnails:
                    ctx.check()
                    try:
                        shown.thumbnails[path] = make_thumbnail(cache, path, thumbnail_side)
                    except Exception:  # moved or unreadable since: the page shows a blank tile with its name
                        continue
    return shown


def activate(ctx: "JobContext", model_id: int) -> int:
    """Re-hash the library with a model, then switch to it (search uses the old codes until then)."""
    import_torch()
    ctx.library.activate_model(model_id, progress=ctx.progress, cancel=ctx.cancel)
    return model_id


def list_models(ctx: "JobContext") -> list[dict]:
    import_torch()
    return ctx.library.models()


def rename_model(ctx: "JobContext", model_id: int, name: str) -> str:
    return ctx.library.rename_model(model_id, name)


def remove_model(ctx: "JobContext", model_id: int) -> int:
    import_torch()
    ctx.library.remove_model(model_id)
    return model_id


def add_user_tag(ctx: "JobContext", paths: list[str], tag: str) -> int:
    return ctx.library.add_user_tag(paths, tag)


def remove_user_tag(ctx: "JobContext", paths: list[str], tag: str) -> int:
    return ctx.library.remove_user_tag(paths, tag)
