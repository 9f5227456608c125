"""The status bar: library numbers on the right, the running job's progress and Cancel."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QSizePolicy, QStatusBar

from engine.jobs import ProgressEvent

from .jobs import Job

if TYPE_CHECKING:
    from .operations import ResultPage

STAGES = {
    "scan": "Scanning",
    "encode": "Encoding photos",
    "codes": "Writing codes",
    "ocr": "Reading text in photos",
    "download": "Downloading the model",
    "train": "Training",
    "epoch": "Training",
    "evaluate": "Evaluating",
}


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def describe_page(page: "ResultPage") -> str:
    """The status line for a result page: the number of photos in the grid, and of how many matches."""
    count = len(page.ids)
    if page.distances is not None and count < page.searched:
        shown = f"Top {count:,} of {page.searched:,} matching photos"
    else:
        shown = "No photos" if not count else f"{count:,} photo{'' if count == 1 else 's'}"
    order = {"date": " (newest first)", "date-asc": " (oldest first)"}.get(page.query.sort, " (nearest first)" if page.distances is not None else "")
    return f"{shown} — {page.query.describe()}" + (order if count else "")


def describe_status(status: dict) -> str:
    """One line of library numbers: photos, folders, missing, unreadable, model."""
    parts = [plural(status.get("photos", 0), "photo"), plural(status.get("folders", 0), "folder")]
    if status.get("missing"):
        parts.append(f"{status['missing']:,} missing")
    if status.get("errors"):
        parts.append(f"{status['errors']:,} unreadable")
    parts.append(describe_model(status.get("active_model")))
    return "  ·  ".join(parts)


def describe_model(model: Optional[dict]) -> str:
    """The model searches use, named as the user knows it: trained on their tags, or CLIP as it comes."""
    if not model:
        return "no model yet"
    backbone = model["backbone"].split(" (")[0]  # the name; its weights are in the tooltip
    if model.get("kind") == "hashing":  # trained in the wizard: its name says on how many tags and photos
        return f"model: {model.get('name') or 'trained'} on {backbone}"
    return f"model: {backbone}, {model['bits']} bits, not trained"


def short_progress(event: ProgressEvent) -> str:
    """A few words for the sidebar: "scanning", "encoding 40%"."""
    stage = {"scan": "scanning", "encode": "encoding", "codes": "writing codes", "ocr": "reading text"}.get(event.stage, event.stage)
    return f"{stage} {100 * event.done // event.total}%" if event.total else stage


def describe_progress(event: ProgressEvent) -> str:
    stage = STAGES.get(event.stage, event.stage.capitalize())
    eta = (event.data or {}).get("eta_s")
    if event.total and eta is not None:
        left = f"about {round(eta)} s" if eta < 90 else f"about {round(eta / 60)} min"
        return f"{stage} {event.done:,} / {event.total:,}, {left} left"
    if event.total:
        return f"{stage} {event.done:,} / {event.total:,}"
    return f"{stage}…" if not event.done else f"{stage} {event.done:,}"


class ElidedLabel(QLabel):
    """A one-line label that gives up width before its neighbours do, ending in "…" (the tooltip has it all)."""

    def __init__(self, text: str = "") -> None:
        super().__init__(text)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        shown = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, self.contentsRect().width())
        painter.drawText(self.contentsRect(), int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), shown)


class StatusPanel:
    """Keeps the status bar's widgets: job label, progress bar, Cancel, and library numbers."""

    def __init__(self, bar: QStatusBar) -> None:
        self.bar = bar
        self.message = ElidedLabel("")  # the news gives way, so the library numbers and the model stay whole
        self._clear = QTimer(bar)
        self._clear.setSingleShot(True)
        self._clear.timeout.connect(lambda: self.message.setText(""))
        self.job_label = QLabel("")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setTextVisible(False)
        self.cancel = QPushButton("Cancel")
        self.cancel.setToolTip("Stop the running job (what is done so far is kept)")
        self.stats = QLabel("Opening the library…")
        # A label of our own rather than QStatusBar.showMessage: a temporary message
        # would be drawn over the job's progress instead of beside it.
        bar.addWidget(self.message, 1)
        bar.addWidget(self.job_label)
        bar.addWidget(self.progress)
        bar.addWidget(self.cancel)
        bar.addPermanentWidget(self.stats)
        self._jobs: list[Job] = []
        self.cancel.clicked.connect(self._cancel_current)
        self._refresh()

    def say(self, text: str, timeout_ms: int = 0) -> None:
        """Show a line of news on the left; it clears itself after `timeout_ms` if given."""
        self.message.setText(text)
        self.message.setToolTip(text)
        if timeout_ms:
            self._clear.start(timeout_ms)
        else:
            self._clear.stop()

    def set_stats(self, status: dict) -> None:
        self.stats.setText(describe_status(status))
        model = status.get("active_model")
        self.stats.setToolTip(
            "The library: photos, folders and the model its search uses" + (f" ({model['backbone']})" if model else "") + ". Models ▸ Models… lists the models."
        )

    def track(self, job: Job) -> None:
        """Show a job with progress (from when it is queued, so waiting jobs are counted)."""
        if job.show_progress and job.outcome is None and job not in self._jobs:
            self._jobs.append(job)
            self._refresh()

    def job_progress(self, job: Job, event: ProgressEvent) -> None:
        if job.show_progress and self._jobs and job is self._jobs[0]:
            self._refresh()

    def job_finished(self, job: Job) -> None:
        if job in self._jobs:
            self._jobs.remove(job)
            self._refresh()

    def current(self) -> Optional[Job]:
        return self._jobs[0] if self._jobs else None

    def _cancel_current(self) -> None:
        job = self.current()
        if job is not None:
            job.cancel()
            self.job_label.setText(f"{job.label}: cancelling…")

    def _refresh(self) -> None:
        job = self.current()
        for widget in (self.job_label, self.progress, self.cancel):
            widget.setVisible(job is not None)
        if job is None:
            return
        event = job.last_progress
        more = f"  (+{len(self._jobs) - 1} waiting)" if len(self._jobs) > 1 else ""
        self.job_label.setText(f"{job.label}: {describe_progress(event) if event else 'starting…'}{more}")
        if event is not None and event.total:
            self.progress.setRange(0, event.total)
            self.progress.setValue(min(event.done, event.total))
        else:
            self.progress.setRange(0, 0)  # busy indicator until the job knows its size
