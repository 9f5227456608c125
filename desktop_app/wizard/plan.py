"""What the training wizard's pages share: the runner, the choices made so far, and the run."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QObject, Signal

from ..jobs import JobRunner
from . import operations as wops
from .session import TrainingSession


class TrainingPlan(QObject):
    """Filled in page by page (data choice, then the request); starts one training run at a time."""

    model_activated = Signal(int)
    training_started = Signal(object)  # TrainingSession

    def __init__(self, runner: JobRunner, overrides: Optional[dict] = None, default_epochs: Optional[int] = None, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.overrides = overrides  # hashing-config overrides (tests use a small, fast network)
        self.default_epochs = default_epochs
        self.choice = wops.DataChoice()  # set by the Data page
        self.data_overview = None  # engine.training.tag_stats.TagOverview of that choice; None while the Data page counts
        self.request: Optional[wops.TrainRequest] = None  # set by the Model page
        self.session: Optional[TrainingSession] = None
        self.verdict = ""  # the Evaluate page's one-line verdict on the new model ("" before it is known)

    def start_training(self) -> TrainingSession:
        """Start a run with the Model page's request (one at a time)."""
        if self.session is not None and self.session.running:
            return self.session
        assert self.request is not None, "the Model page sets the request"
        self.session = TrainingSession(self.runner, self.request, self)
        self.session.start()
        self.training_started.emit(self.session)
        return self.session
