"""One training run as the app sees it: a background job plus everything it reported.

The session outlives the wizard's window: closing the wizard only hides it, the job
keeps running on the write lane, and the status bar shows its progress. Reopening
the wizard shows the same session's curves.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Optional

from PySide6.QtCore import QObject, Signal

from engine.jobs import ProgressEvent

from ..jobs import WRITE, Job, JobRunner
from . import operations as wops


class TrainingSession(QObject):
    """Starts `operations.train` in the background and keeps its loss curve and outcome."""

    step = Signal(int, float)  # global step, loss
    epoch = Signal(dict)  # {"epoch", "loss", "image_map", "image_p10", "text_map", …}: engine/training/heldout.py
    progressed = Signal(object)  # every ProgressEvent (preparing, encoding, training)
    ended = Signal(str)  # "ok", "failed" or "cancelled"

    def __init__(self, runner: JobRunner, request: wops.TrainRequest, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.request = request
        self.job: Optional[Job] = None
        self.state = "new"  # new → running → ok / failed / cancelled
        self.steps: list[tuple[int, float]] = []
        self.epochs: list[dict] = []
        self.last_event: Optional[ProgressEvent] = None
        self.result: Optional[dict] = None
        self.error = ""
        self.started_at = 0.0
        self.ended_at = 0.0

    def start(self) -> Job:
        self.state = "running"
        self.started_at = time.monotonic()
        self.job = self.runner.run_in_background(
            partial(wops.train, request=self.request),
            lane=WRITE,
            label="Training a model",
            show_progress=True,
            on_progress=self._progress,
            on_success=self._succeeded,
            on_failure=self._failed,
            on_finished=self._finished,
        )
        return self.job

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def model_id(self) -> Optional[int]:
        return self.result["model_id"] if self.result else None

    @property
    def previous_id(self) -> Optional[int]:
        return self.result["previous_id"] if self.result else None

    def cancel(self) -> None:
        if self.job is not None and self.running:
            self.job.cancel()

    def _progress(self, event: ProgressEvent) -> None:
        self.last_event = event
        data = event.data or {}
        if event.stage == "train" and "loss" in data:
            self.steps.append((event.done, float(data["loss"])))
            self.step.emit(event.done, float(data["loss"]))
        elif event.stage == "epoch" and "epoch" in data:
            self.epochs.append(dict(data))
            self.epoch.emit(dict(data))
        self.progressed.emit(event)

    def _succeeded(self, result: dict) -> None:
        self.result = result

    def _failed(self, error: BaseException) -> None:
        self.error = explain(error)

    def _finished(self, job: Job) -> None:
        self.ended_at = time.monotonic()
        if job.outcome == "ok" and self.result is not None:
            self.state = "ok"
        elif job.outcome == "failed":
            self.state = "failed"
        else:
            self.state = "cancelled"
        self.ended.emit(self.state)


def explain(error: BaseException) -> str:
    """A training failure in words for the user (the engine's own sentence where it has one)."""
    from engine.facade import ModelError, TrainingDataError

    if isinstance(error, TrainingDataError):
        return f"Training could not start: {error}"
    if isinstance(error, ModelError):
        return f"The engine refused: {error}"
    if isinstance(error, MemoryError) or "out of memory" in str(error).lower():
        return f"Training ran out of memory ({error}). Try the CPU, fewer bits, or the quick effort."
    return f"Training failed: {error}"
