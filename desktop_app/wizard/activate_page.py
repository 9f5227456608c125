"""The wizard's Activate page: re-code the library with the new model."""

from __future__ import annotations

import html
from functools import partial

from PySide6.QtWidgets import (
    QHBoxLayout,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWizardPage,
)

from engine.jobs import ProgressEvent

from ..jobs import WRITE
from . import operations as wops
from .page_text import rich_label
from .plan import TrainingPlan


class ActivatePage(QWizardPage):
    """Re-hash the library with the new model; search uses the old codes until all are written."""

    def __init__(self, plan: TrainingPlan) -> None:
        super().__init__()
        self.plan = plan
        self.setTitle("Activate")
        self.setSubTitle("Switch search to the new model. Until every photo has its new code, search keeps using the current one.")
        self.explain = rich_label()
        self.activate_button = QPushButton("Activate the new model")
        self.activate_button.clicked.connect(self.activate)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.status = rich_label("")
        self.activated = False
        self.job = None
        row = QHBoxLayout()
        row.addWidget(self.activate_button)
        row.addWidget(self.progress, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.explain)
        layout.addLayout(row)
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.setFinalPage(True)

    def initializePage(self) -> None:
        session = self.plan.session
        self.explain.setText(
            "Activating writes a new code for every photo in the background (the photos themselves are not touched). "
            "You can keep searching meanwhile. If you finish without activating, the model stays in <b>Models…</b> "
            "and can be activated, renamed or deleted there."
            + (f"<br><br>New model: <b>{session.request.bits} bits</b>, trained for {len(session.epochs)} epoch(s)." if session else "")
            + (f"<br>Evaluation: <b>{html.escape(self.plan.verdict)}</b>" if self.plan.verdict else "")
        )

    def activate(self) -> None:
        session = self.plan.session
        if session is None or session.model_id is None or self.job is not None:
            return
        self.activate_button.setEnabled(False)
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.status.setText("Writing the new codes…")
        self.job = self.plan.runner.run_in_background(
            partial(wops.activate, model_id=session.model_id),
            lane=WRITE,
            label="Activating the new model",
            show_progress=True,
            on_progress=self._progress,
            on_success=self._done,
            on_failure=self._failed,
            on_finished=self._finished,
        )

    def _progress(self, event: ProgressEvent) -> None:
        if event.total:
            self.progress.setRange(0, event.total)
            self.progress.setValue(min(event.done, event.total))

    def _done(self, model_id: int) -> None:
        self.activated = True
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.status.setText("<b>The new model is active.</b> Search now uses it.")
        self.plan.model_activated.emit(model_id)

    def _failed(self, error: BaseException) -> None:
        self.status.setText(f"<b style='color:#b00020'>Activation failed:</b> {html.escape(str(error))}. The previous model is still active.")

    def _finished(self, job) -> None:
        self.job = None
        if job.outcome == "cancelled":
            self.status.setText("Activation was cancelled; the previous model is still active (codes written so far are kept for next time).")
        if not self.activated:
            self.activate_button.setEnabled(True)
            self.progress.setVisible(False)
