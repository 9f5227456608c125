"""The wizard's Train page: the run's live loss curve and validation scores; cancel or train again."""

from __future__ import annotations

import html

from PySide6.QtWidgets import (
    QHBoxLayout,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWizardPage,
)

from engine.jobs import ProgressEvent

from .charts import LineChart
from .page_text import duration, rich_label
from .plan import TrainingPlan


class TrainPage(QWizardPage):
    """The live loss curve and validation scores; cancel; runs on while the wizard is closed."""

    def __init__(self, plan: TrainingPlan) -> None:
        super().__init__()
        self.plan = plan
        self.setTitle("Train")
        self.setSubTitle("You can close this window: training goes on in the background, with its progress in the status bar.")
        self.loss_chart = LineChart("Training loss", "step", "loss")
        self.loss_chart.add_series("loss per step", "#9ecae1")
        self.loss_chart.add_series("epoch mean", "#1f77b4", markers=True)
        # the same figures the Evaluate page and the Models dialog show (engine/training/heldout.py)
        self.val_chart = LineChart("Held-out photos (as Evaluate scores them)", "epoch", "mAP")
        self.val_chart.add_series("photo → photo", "#2ca02c", markers=True)
        self.val_chart.add_series("tag → photo", "#ff7f0e", markers=True)
        self.val_chart.empty_text = "Scores appear after each epoch"
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)  # the line below says how far, in steps and time
        self.status = rich_label("")
        self.cancel_button = QPushButton("Cancel training")
        self.cancel_button.clicked.connect(self._cancel)
        self.retry_button = QPushButton("Train again")
        self.retry_button.clicked.connect(self._start)
        charts = QHBoxLayout()
        charts.addWidget(self.loss_chart, 3)
        charts.addWidget(self.val_chart, 2)
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        row.addWidget(self.retry_button)
        layout = QVBoxLayout(self)
        layout.addLayout(charts, 1)
        layout.addLayout(row)
        layout.addWidget(self.status)
        self.session = None
        self._epoch_steps: list[tuple[int, float]] = []

    def initializePage(self) -> None:
        session = self.plan.session
        if session is not None and (session.running or (session.state == "ok" and session.request == self.plan.request)):
            self._attach(session)  # the same run: show it, do not start another
        else:
            self._start()

    def _start(self) -> None:
        if self.plan.session is not None and self.plan.session.running:
            return
        self._attach(self.plan.start_training())

    def _attach(self, session) -> None:
        if self.session is not None and self.session is not session:
            old = self.session
            old.step.disconnect(self._step)
            old.epoch.disconnect(self._epoch)
            old.progressed.disconnect(self._progress)
            old.ended.disconnect(self._ended)
        self.session = session
        self.loss_chart.set_points("loss per step", [(s, l) for s, l in session.steps])
        self.loss_chart.set_points("epoch mean", [])
        for name in ("photo → photo", "tag → photo"):
            self.val_chart.set_points(name, [])
        for record in session.epochs:
            self._epoch(record)
        session.step.connect(self._step)
        session.epoch.connect(self._epoch)
        session.progressed.connect(self._progress)
        session.ended.connect(self._ended)
        self._update_buttons()
        if session.running:
            self.status.setText("Preparing: reading features and tags…")
            if session.last_event is not None:
                self._progress(session.last_event)
        else:
            self._ended(session.state)

    def _step(self, step: int, loss: float) -> None:
        self.loss_chart.append("loss per step", step, loss)

    def _epoch(self, record: dict) -> None:
        steps = self.session.steps if self.session else []
        x = steps[-1][0] if steps else record["epoch"]
        self.loss_chart.append("epoch mean", x, record["loss"])
        if "image_map" in record:
            self.val_chart.append("photo → photo", record["epoch"], record["image_map"])
        if "text_map" in record:
            self.val_chart.append("tag → photo", record["epoch"], record["text_map"])

    def _progress(self, event: ProgressEvent) -> None:
        if event.total:
            self.progress.setRange(0, event.total)
            self.progress.setValue(min(event.done, event.total))
        else:
            self.progress.setRange(0, 0)
        data = event.data or {}
        if event.stage == "train":
            eta = data.get("eta_s")
            text = f"Training: {event.message}, step {event.done:,} of {event.total:,}, loss {data.get('loss', float('nan')):.4f}"
            if eta is not None:
                text += f" — {duration(eta)} left"
            self.status.setText(text)
        elif event.stage == "encode":
            self.status.setText(f"Caching photo features first: {event.done:,} of {event.total or 0:,}")
        elif event.stage != "epoch":
            self.status.setText(event.message or event.stage)

    def _ended(self, state: str) -> None:
        session = self.session
        self._update_buttons()
        if state == "ok":
            self.progress.setRange(0, 1)
            self.progress.setValue(1)
            last = session.epochs[-1] if session.epochs else {}
            first = session.epochs[0] if session.epochs else {}
            text = f"<b>Done</b> in {duration(session.ended_at - session.started_at)}."
            if first and last:
                text += f" Loss {first['loss']:.4f} → {last['loss']:.4f} over {len(session.epochs)} epoch(s)."
            self.status.setText(text + " Next: see whether search got better.")
        elif state == "failed":
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.status.setText(f"<b style='color:#b00020'>{html.escape(session.error)}</b>")
        elif state == "cancelled":
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.status.setText("<b>Training was cancelled.</b> Nothing changed: the current model stays active and search works as before.")
        self.completeChanged.emit()

    def _update_buttons(self) -> None:
        running = self.session is not None and self.session.running
        self.cancel_button.setVisible(running)
        self.retry_button.setVisible(not running and self.session is not None and self.session.state in ("failed", "cancelled"))

    def _cancel(self) -> None:
        if self.session is not None:
            self.session.cancel()
            self.status.setText("Cancelling…")

    def isComplete(self) -> bool:
        return self.session is not None and self.session.state == "ok"
