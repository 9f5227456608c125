"""The open library as the window's dialogs use it, instead of the whole window."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from engine.paths import library_paths

from . import operations as ops
from . import settings as s
from .first_run import ModelChoice
from .jobs import JobRunner


class LibraryContext:
    """The runner that works on the open library, its folder, how to index it and the device searches run on."""

    def __init__(self, runner: JobRunner, settings: s.Settings, model_override: Optional[ModelChoice] = None) -> None:
        self.runner = runner
        self.settings = settings
        self.model_override = model_override  # this run's command-line choice of model

    @property
    def location(self) -> Optional[str]:
        """The library folder as given (None: $BITLENS_HOME or the default)."""
        return self.runner.library_location

    @property
    def root(self) -> Path:
        return library_paths(self.location).root

    @property
    def device(self) -> str:
        return self.settings.get(s.DEVICE)

    def options(self) -> ops.IndexOptions:
        """How to index, from the settings and this run's command-line choice of model."""
        choice = self.model_override or ModelChoice(self.settings.get(s.BACKBONE), self.settings.get(s.PRETRAINED), self.settings.get(s.WEIGHTS))
        return ops.IndexOptions(
            choice.backbone,
            choice.pretrained,
            choice.weights,
            self.settings.get(s.CODE_BITS),
            self.settings.get(s.DEVICE),
            cluster=self.settings.get(s.COMPUTE_ON),
            read_text=self.settings.get(s.READ_TEXT) == "on",
        )
