"""Code models as the library records them: their rows, files, sha256 checks and loading.

What a code model is and does lives one layer down, in :mod:`engine.codes`; this module
knows where a library keeps each one and refuses a file that is not the one it saved.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional


from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..models.backbones import BackboneSpec
from ..codes.coders import CodeModel, ItqCodes
from ..models.projection import ItqProjection
from ..models.weights import sha256_file
from .schema import Model


class ModelFileError(RuntimeError):
    """A model's checkpoint is missing or is not the file that was saved."""


def active_model(session: Session) -> Optional[Model]:
    return session.scalar(select(Model).where(Model.active.is_(True)))


def own_copy(recorded: Optional[str], models_dir: Optional[Path]) -> Optional[Path]:
    """The file of a recorded model path's name in this library's models folder, if it is there.

    Rows record absolute paths, which go stale when the library folder is moved, copied
    or restored elsewhere; the library's own copy is the one to use (or to delete).
    """
    if not recorded or models_dir is None:
        return None
    local = Path(models_dir) / Path(recorded).name
    return local if local.is_file() else None


def backbone_of(model: Model, models_dir: Optional[Path] = None) -> BackboneSpec:
    """The backbone a model's codes come from.

    A tuned backbone's weights live in the library's models folder: its own copy is used
    when the recorded path is gone (the sha256 is still checked when the backbone loads).
    """
    spec = BackboneSpec.from_json(json.loads(model.config)["backbone"])
    if spec.weights and not Path(spec.weights).is_file():
        local = own_copy(spec.weights, models_dir)
        if local is not None:
            from dataclasses import replace

            spec = replace(spec, weights=str(local))
    return spec


# Zero-shot companion codes kept beside a trained model's (docs/hashing.md, "Open vocabulary").
ZERO_SHOT_BITS = 64


def companion_of(model: Model) -> Optional[int]:
    """The trained model an ITQ model is the zero-shot companion of (None for a library's own ITQ)."""
    if model.kind != "itq":
        return None
    value = json.loads(model.config or "{}").get("companion_of")
    return int(value) if value is not None else None


def zero_shot_companion(session: Session, model_id: int) -> Optional[Model]:
    """The ITQ model that keeps CLIP's own geometry beside trained model `model_id`, if it has one."""
    for model in session.scalars(select(Model).where(Model.kind == "itq")):
        if companion_of(model) == model_id:
            return model
    return None


def save_itq(session: Session, models_dir: Path, spec: BackboneSpec, projection: ItqProjection, fitted_on: int, companion: Optional[int] = None) -> Model:
    """Store a fitted projection as a safetensors file plus a (not yet active) model row.

    `companion`: the trained model whose zero-shot companion this projection is.
    """
    from safetensors.numpy import save_file

    models_dir.mkdir(parents=True, exist_ok=True)
    model = Model(
        name=f"ITQ {projection.bits}-bit on {spec.label}" + (f" (zero-shot companion of model {companion})" if companion is not None else ""),
        kind="itq",
        backbone=spec.arch,
        pretrained=spec.pretrained,
        bits=projection.bits,
        config=json.dumps({"backbone": spec.to_json(), "fitted_on": fitted_on, **({"companion_of": companion} if companion is not None else {})}),
        created_at=time.time(),
        active=False,
    )
    session.add(model)
    session.flush()
    path = models_dir / f"model-{model.id}-itq{projection.bits}.safetensors"
    temporary = path.with_suffix(".tmp")
    save_file(projection.state_dict(), str(temporary))
    temporary.replace(path)  # never leave a half-written checkpoint under the final name
    model.checkpoint = str(path)
    model.checkpoint_sha256 = sha256_file(path)
    return model


def load_itq(model: Model, models_dir: Optional[Path] = None) -> ItqProjection:
    """Load a model's projection after checking its sha256 (safetensors: no code runs)."""
    from safetensors.numpy import load_file

    return ItqProjection.from_state_dict(load_file(str(verified_checkpoint(model, models_dir))))


def activate(session: Session, model_id: int) -> None:
    """Make one model the active one (the database allows only one)."""
    session.execute(update(Model).where(Model.active.is_(True)).values(active=False))
    session.flush()
    session.execute(update(Model).where(Model.id == model_id).values(active=True))


def checkpoint_path(model: Model, models_dir: Optional[Path] = None) -> Path:
    """Where this library's copy of a model's checkpoint is.

    The file of that name in the library's own models folder comes first (its sha256 is
    still checked before use), else the recorded path.
    """
    return own_copy(model.checkpoint, models_dir) or Path(model.checkpoint or "")


def verified_checkpoint(model: Model, models_dir: Optional[Path] = None) -> Path:
    """The model's checkpoint path, after checking that its sha256 is the recorded one."""
    path = checkpoint_path(model, models_dir)
    if not path.is_file():
        raise ModelFileError(f"the checkpoint of model '{model.name}' is missing: {path}")
    if sha256_file(path) != model.checkpoint_sha256:
        raise ModelFileError(f"the checkpoint of model '{model.name}' was changed on disk ({path}); refusing to load it")
    return path


def load_code_model(model: Model, device: str = "cpu", models_dir: Optional[Path] = None) -> CodeModel:
    """Load any kind of code model, verified, without executing code from the file."""
    if model.kind not in ("itq", "hashing"):
        raise ModelFileError(f"unknown model kind '{model.kind}'")
    path = verified_checkpoint(model, models_dir)
    try:
        if model.kind == "itq":
            return ItqCodes(load_itq(model, models_dir))
        from ..codes.hashing_file import load_hashing_codes  # torch: only when a trained model is used

        return load_hashing_codes(path, device=device)
    except ModelFileError:
        raise
    except Exception as error:  # safetensors, torch and JSON each fail their own way on a bad file
        raise ModelFileError(
            f"the checkpoint of model '{model.name}' cannot be loaded ({path}): it is not a valid BitLens model file "
            f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else 'no detail'})"
        ) from error
