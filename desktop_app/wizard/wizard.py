"""The training wizard: Data → Model → Train → Evaluate → Activate."""

from __future__ import annotations

from typing import Optional

from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QWidget, QWizard

from ..jobs import JobRunner
from .activate_page import ActivatePage
from .data_page import DataPage
from .evaluate_page import EvaluatePage
from .model_page import ModelPage
from .plan import TrainingPlan
from .train_page import TrainPage


class TrainingWizard(QWizard):
    """Guides one training run; closing it leaves the run going in the background."""

    DATA, MODEL, TRAIN, EVALUATE, ACTIVATE = range(5)

    def __init__(self, runner: JobRunner, parent: Optional[QWidget] = None, overrides: Optional[dict] = None, default_epochs: Optional[int] = None) -> None:
        super().__init__(parent)
        self.plan = TrainingPlan(runner, overrides, default_epochs, self)  # what the pages share
        self.setWindowTitle("Teach BitLens your tags")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        # "Cancel" would read as "cancel the training": closing only hides the window.
        self.setButtonText(QWizard.WizardButton.CancelButton, "Close")
        self.data_page, self.model_page, self.train_page = DataPage(self.plan), ModelPage(self.plan), TrainPage(self.plan)
        self.evaluate_page, self.activate_page = EvaluatePage(self.plan), ActivatePage(self.plan)
        for page_id, page in enumerate((self.data_page, self.model_page, self.train_page, self.evaluate_page, self.activate_page)):
            self.setPage(page_id, page)
        self.setButtonText(QWizard.WizardButton.FinishButton, "Close")
        self.resize(900, 620)

    def closeEvent(self, event: QCloseEvent) -> None:
        # Closing only hides the window: the run goes on and the status bar shows it.
        self.hide()
        event.ignore()
