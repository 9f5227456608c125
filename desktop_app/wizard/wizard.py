"""The training wizard: Data → Model → Train → Evaluate → Activate."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QWidget, QWizard

from ..jobs import JobRunner
from . import operations as wops
from .pages import ActivatePage, DataPage, EvaluatePage, ModelPage, TrainPage
from .session import TrainingSession


class TrainingWizard(QWizard):
    """Guides one training run; closing it leaves the run going in the background."""

    model_activated = Signal(int)
    training_started = Signal(object)  # TrainingSession

    DATA, MODEL, TRAIN, EVALUATE, ACTIVATE = range(5)

    def __init__(self, runner: JobRunner, parent: Optional[QWidget] = None, overrides: Optional[dict] = None, default_epochs: Optional[int] = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.overrides = overrides  # hashing-config overrides (tests use a small, fast network)
        self.default_epochs = default_epochs
        self.choice = wops.DataChoice()
        self.request: Optional[wops.TrainRequest] = None
        self.session: Optional[TrainingSession] = None
        self.setWindowTitle("Teach BitLens your tags")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        # "Cancel" would read as "cancel the training": closing only hides the window.
        self.setButtonText(QWizard.WizardButton.CancelButton, "Close")
        self.data_page, self.model_page, self.train_page = DataPage(), ModelPage(), TrainPage()
        self.evaluate_page, self.activate_page = EvaluatePage(), ActivatePage()
        for page_id, page in enumerate((self.data_page, self.model_page, self.train_page, self.evaluate_page, self.activate_page)):
            self.setPage(page_id, page)
        self.setButtonText(QWizard.WizardButton.FinishButton, "Close")
        self.resize(900, 620)

    def data_overview(self):
        return self.data_page.overview

    def start_training(self) -> TrainingSession:
        """Start a run with the Model page's request (one at a time)."""
        if self.session is not None and self.session.running:
            return self.session
        assert self.request is not None, "the Model page sets the request"
        self.session = TrainingSession(self.runner, self.request, self)
        self.session.start()
        self.training_started.emit(self.session)
        return self.session

    def closeEvent(self, event: QCloseEvent) -> None:
        # Closing only hides the window: the run goes on and the status bar shows it.
        self.hide()
        event.ignore()
