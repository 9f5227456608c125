"""Small bookkeeping verbs on registered models (the trainer and lifecycle do the heavy work)."""

from __future__ import annotations

from ..library.schema import Model
from .errors import ModelError

MAX_NAME_LENGTH = 120


def rename_model(library, model_id: int, name: str) -> str:
    """Give a model a new display name; returns the name as stored (whitespace trimmed)."""
    name = " ".join(name.split())
    if not name:
        raise ModelError("a model needs a name")
    if len(name) > MAX_NAME_LENGTH:
        raise ModelError(f"a model name can be at most {MAX_NAME_LENGTH} characters")
    with library.store.session() as session:
        model = session.get(Model, model_id)
        if model is None:
            raise ModelError(f"no model with id {model_id}")
        model.name = name
    return name
