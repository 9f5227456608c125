"""The hashing network's settings: architecture, components, losses and training, as JSON data.

No torch here, so the app can read a config (the training wizard's defaults) without loading it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

DEFAULT_CONFIG = Path(__file__).with_name("configs") / "hashing-default.json"


@dataclass
class HashingConfig:
    """Architecture, components, loss weights and training settings, from JSON."""

    network: dict[str, Any]
    components: dict[str, bool]
    loss_weights: dict[str, float]
    targets: dict[str, float]
    data: dict[str, Any]
    training: dict[str, Any]
    name: str = "hashing"
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path = DEFAULT_CONFIG, overrides: Optional[dict] = None) -> "HashingConfig":
        """Read a config JSON; `overrides` is merged section by section (for ablations, CLI flags)."""
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        for section, values in (overrides or {}).items():
            if isinstance(values, dict):
                raw.setdefault(section, {}).update(values)
            else:
                raw[section] = values
        known = {k: raw.pop(k) for k in ("network", "components", "loss_weights", "targets", "data", "training", "name") if k in raw}
        return cls(**known, extra=raw)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "network": self.network,
            "components": self.components,
            "loss_weights": self.loss_weights,
            "targets": self.targets,
            "data": self.data,
            "training": self.training,
            **self.extra,
        }


# How much training keeps the backbone's own sense of which photos look alike
# (`loss_weights.distillation`, engine/training/losses.distillation_loss), as the wizard and
# `bitlens train --keep` offer it. More keeps concepts that no tag names findable by words and
# costs some accuracy on the library's own tag words (docs/results.md, "Open vocabulary").
KEEP_LEVELS = {"tags": 0.0, "balanced": 2.0, "backbone": 4.0}


def default_keep(overrides: Optional[dict] = None) -> str:
    """The keep level the built-in config (with `overrides`) trains with: the one nearest its weight."""
    weight = float(HashingConfig.load(overrides=overrides).loss_weights.get("distillation", 0.0))
    return min(KEEP_LEVELS, key=lambda level: abs(KEEP_LEVELS[level] - weight))


def keep_overrides(level: str, overrides: Optional[dict] = None) -> dict:
    """`overrides` (not changed) plus the distillation weight of a keep level."""
    if level not in KEEP_LEVELS:
        raise ValueError(f"unknown keep level '{level}' (one of {', '.join(KEEP_LEVELS)})")
    merged = {section: dict(values) if isinstance(values, dict) else values for section, values in (overrides or {}).items()}
    merged.setdefault("loss_weights", {})["distillation"] = KEEP_LEVELS[level]
    return merged


def parse_overrides(items: list[str]) -> dict:
    """Config overrides from SECTION.KEY=VALUE strings (VALUE is JSON, or a plain word)."""
    overrides: dict = {}
    for item in items:
        key, sep, value = item.partition("=")
        section, dot, name = key.partition(".")
        if not sep or not dot:
            raise ValueError(f"wants SECTION.KEY=VALUE, got '{item}'")
        try:
            overrides.setdefault(section, {})[name] = json.loads(value)
        except json.JSONDecodeError:
            overrides.setdefault(section, {})[name] = value  # a plain word, e.g. training.database_codes=image
    return overrides
