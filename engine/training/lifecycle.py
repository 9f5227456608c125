"""A trained model's life in the library: train, register, activate (re-hash), remove."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional, Sequence

from sqlalchemy import delete, select

from ..jobs import CancelToken, ProgressCallback, Reporter
from ..library.codemodels import activate, backbone_of, checkpoint_path, companion_of, own_copy, zero_shot_companion
from ..library.indexing import encode_missing, write_codes
from ..library.report import ScanReport
from ..library.schema import Code, Embedding, Model
from ..models.backbones import Backbone
from ..models.hashing import DEFAULT_CONFIG, HashingConfig
from ..models.weights import sha256_file
from .budget import default_epochs
from .checkpoints import export_for_inference
from .data import build_training_data
from .errors import ModelError
from .trainer import Trainer


# head: the hashing network on cached features; finetune: plus the image tower's last
# blocks; scratch: plus a re-initialised image tower trained from pixels (see tower.py).
EFFORTS = ("head", "finetune", "scratch")


def train_model(
    library,
    bits: int = 64,
    epochs: Optional[int] = None,
    effort: str = "head",
    device: str = "auto",
    config_path: str | Path = DEFAULT_CONFIG,
    overrides: Optional[dict] = None,
    sources: Optional[Sequence[str]] = None,
    folders: Optional[Sequence[str]] = None,
    resume: bool = False,
    name: Optional[str] = None,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
) -> int:
    """Train a hashing model on the library's tags; register it (inactive); return its id.

    The active model is never touched here: a cancelled or failed run leaves the
    library exactly as it was, apart from a resumable checkpoint. Holds the library's
    writer lock (another process that writes gets a clear "in use" message).
    """
    with library.writing("train"):
        return _train_model(library, bits, epochs, effort, device, config_path, overrides, sources, folders, resume, name, progress, cancel)


def _train_model(library, bits, epochs, effort, device, config_path, overrides, sources, folders, resume, name, progress, cancel) -> int:
    if effort not in EFFORTS:
        raise ModelError(f"effort '{effort}' is not available in this version (available: {', '.join(EFFORTS)})")
    if bits not in (16, 32, 64, 128):
        raise ModelError("code length must be 16, 32, 64 or 128 bits")
    config = HashingConfig.load(config_path, overrides)
    spec = library.current_backbone()
    if spec is None:
        raise ModelError("index some photos first: training starts from the library's backbone features")
    backbone = Backbone(spec, device=device)
    # Photos indexed before patch tokens were cached (or whose cache was cleared) get them now.
    encode_missing(library.store, library.paths.cache, spec, lambda: backbone, ScanReport(), Reporter(progress), cancel)
    from ..library.schema import TAG_SOURCES

    data = build_training_data(
        library, spec.key, backbone.encode_texts, config.data, sources=sources or TAG_SOURCES, folders=folders, seed=int(config.training.get("seed", 0))
    )
    runs = library.paths.models / "runs"
    checkpoint = runs / f"training-{effort}-{bits}bit.safetensors"
    if not resume:
        checkpoint.unlink(missing_ok=True)
    tower = pixels = None
    if effort != "head":
        tower, pixels = _tower_inputs(library, backbone, data, config, effort, progress, cancel)
    trainer = Trainer(data, config, bits, checkpoint, device=device, progress=progress, cancel=cancel, tower=tower, pixels=pixels)
    state = trainer.train(int(epochs or default_epochs(len(trainer.train_index), config.training)), resume=resume)
    stamp = int(time.time() * 1000)
    final = library.paths.models / f"hashing-{bits}bit-{stamp}.safetensors"
    model_spec, tuned = spec, None
    if tower is not None:
        # The tuned tower becomes a backbone of its own (own key, own cached features):
        # activating the model re-encodes the library with it.
        from .tower import save_tuned_backbone

        model_spec = save_tuned_backbone(backbone, tower, spec, library.paths.models / f"backbone-{effort}-{stamp}.safetensors")
        tuned = model_spec.weights
    export_for_inference(checkpoint, final)
    with library.store.session() as session:
        model = Model(
            name=name or f"Trained {bits}-bit ({len(data.vocabulary)} tags, {len(data.hashes)} photos)",
            kind="hashing",
            backbone=model_spec.arch,
            pretrained=model_spec.pretrained,
            bits=bits,
            config=json.dumps(
                {
                    "backbone": model_spec.to_json(),
                    "hashing": config.to_dict(),
                    "effort": effort,
                    "epochs": state.epochs_done,
                    "vocabulary_size": len(data.vocabulary),
                    "photos": len(data.hashes),
                    "tuned_from": spec.to_json() if tuned else None,
                    "tuned_backbone": tuned,
                }
            ),
            checkpoint=str(final),
            checkpoint_sha256=sha256_file(final),
            metrics=json.dumps({**state.metrics, "history": state.history}),
            active=False,
            created_at=time.time(),
        )
        session.add(model)
        session.flush()
        model_id = model.id
    # only once the model is registered: a crash before this leaves the run resumable
    checkpoint.unlink(missing_ok=True)
    return model_id


def _tower_inputs(library, backbone: Backbone, data, config: HashingConfig, effort: str, progress, cancel):
    """The trainable image tower and every training photo's input to it."""
    from .tower import ImageTower, PixelInputs, photo_paths, reinitialise

    if effort == "scratch":
        reinitialise(backbone.model.visual, int(config.training.get("seed", 0)))
    tower = ImageTower(backbone.model.visual, None if effort == "scratch" else int(config.training.get("finetune_blocks", 2)))
    reporter = Reporter(progress)
    pixels = PixelInputs(
        tower,
        backbone,
        photo_paths(library, data.hashes),
        cancel=cancel,
        progress=lambda done, total: reporter("prepare", done, total, "reading photos for the image tower"),
    )
    return tower, pixels


def activate_model(library, model_id: int, progress: Optional[ProgressCallback] = None, cancel: Optional[CancelToken] = None, device: str = "cpu") -> None:
    """Re-hash the library with a model, then make it active in one step.

    The new codes are written beside the old ones; searches keep using the active
    model's codes until every photo has a new code and the switch commits.
    """
    with library.writing("activate a model"):
        _activate_model(library, model_id, progress, cancel, device)


def _activate_model(library, model_id: int, progress, cancel, device: str) -> None:
    with library.store.session() as session:
        model = session.get(Model, model_id)
        if model is None:
            raise ModelError(f"no model with id {model_id}")
        spec = backbone_of(model, library.paths.models)
    current = library.current_backbone()
    if current is None or current.key != spec.key:
        encode_missing(library.store, library.paths.cache, spec, lambda: Backbone(spec, device="auto"), ScanReport(), Reporter(progress), cancel)
    write_codes(library.store, library.paths.cache, model_id, ScanReport(), Reporter(progress), cancel, device=device)
    with library.store.session() as session:
        activate(session, model_id)


def _base_backbone(model: Model) -> str:
    """The key of the backbone a model was made from (a tuned backbone's own base)."""
    from ..models.backbones import BackboneSpec

    tuned_from = json.loads(model.config or "{}").get("tuned_from")
    return BackboneSpec.from_json(tuned_from).key if tuned_from else backbone_of(model).key


def list_models(library) -> list[dict]:
    """Every model with its kind, bits, backbone, date, metrics, size on disk and state.

    `other_backbone`: the model was made with another backbone than the active model's
    (the library changed model since): activating it changes the library back to that backbone.
    """
    with library.store.session() as session:
        rows = []
        models = list(session.scalars(select(Model).order_by(Model.id)))
        active = next((m for m in models if m.active), None)
        library_base = _base_backbone(active) if active is not None else None
        for model in models:
            if companion_of(model) is not None:
                continue  # part of its trained model: listed, kept and removed with it
            path = checkpoint_path(model, library.paths.models)
            metrics = json.loads(model.metrics) if model.metrics else {}
            metrics.pop("history", None)
            rows.append(
                {
                    "id": model.id,
                    "name": model.name,
                    "kind": model.kind,
                    "bits": model.bits,
                    "backbone": backbone_of(model).label,
                    "created_at": model.created_at,
                    "active": bool(model.active),
                    "other_backbone": library_base is not None and _base_backbone(model) != library_base,
                    "metrics": metrics,
                    "size_bytes": path.stat().st_size if path.is_file() else None,
                }
            )
        return rows


def remove_model(library, model_id: int) -> None:
    """Delete a model, its codes and its checkpoint; the active model cannot be removed.

    Files are deleted only inside this library's own models folder: a copied or moved
    library's rows may still name another library's files.
    """
    with library.writing("remove a model"):
        _remove_model(library, model_id)


def _remove_model(library, model_id: int) -> None:
    with library.store.session() as session:
        model = session.get(Model, model_id)
        if model is None:
            raise ModelError(f"no model with id {model_id}")
        if model.active:
            raise ModelError("this is the active model: activate another one before removing it")
        checkpoint = model.checkpoint
        tuned = json.loads(model.config or "{}").get("tuned_backbone")
        tuned_key = backbone_of(model).key if tuned else None
        companion = zero_shot_companion(session, model_id)
        companion_file = None if companion is None else companion.checkpoint
        for doomed in [model_id] + ([] if companion is None else [companion.id]):
            session.execute(delete(Code).where(Code.model_id == doomed))
            session.execute(delete(Model).where(Model.id == doomed))
        if tuned_key:
            # the tuned backbone belonged to this model alone: its embeddings go with it
            session.execute(delete(Embedding).where(Embedding.backbone_key == tuned_key))
    for path in (own_copy(checkpoint, library.paths.models), own_copy(tuned, library.paths.models), own_copy(companion_file, library.paths.models)):
        if path is not None:
            path.unlink(missing_ok=True)
    if tuned:
        from ..library.features import FeatureCache

        FeatureCache.remove(library.paths.cache, tuned_key)
