"""Settings → Change model and re-index…: ask, then move the library to another backbone on the write lane.

The engine encodes every photo with the new model and switches search over only when each
has a code, so the window keeps searching with the old model meanwhile; Cancel in the status
bar stops the job and leaves the old model active.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Callable, Optional

from PySide6.QtCore import QObject, Signal

from . import operations as ops
from .first_run import ModelChoice
from .jobs import WRITE, Job, JobRunner


def confirmation_text(choice: ModelChoice, current: str, photos: int, trained: bool) -> str:
    """What the user agrees to: how many photos, how long, what happens to search and to trained models."""
    text = (
        f"Every photo is described again with {choice.label}: {photos:,} photo{'s' if photos != 1 else ''}, "
        "which takes about as long as indexing them the first time (photos already described by that model are skipped).\n\n"
        f"Search keeps using {current} until every photo has its new code; Cancel in the status bar stops and keeps {current}."
    )
    if trained:
        text += (
            f"\n\nTrained models made for {current} stay in Models ▸ Models…, but cannot search with the new model's codes: "
            f"activating one changes the library back to {current}."
        )
    return text


class ModelChange(QObject):
    """Runs one change of model at a time and says how it ended."""

    ended = Signal(object)  # the Job, its outcome set: the window reloads its numbers and results

    def __init__(
        self,
        runner: JobRunner,
        options: Callable[[], ops.IndexOptions],
        confirm: Callable[[str, str], bool],
        say: Callable[[str, int], None],
        parent: Optional[QObject] = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.options = options  # device and code length come from the settings
        self.confirm = confirm
        self.say = say
        self.job: Optional[Job] = None

    @property
    def running(self) -> bool:
        return self.job is not None

    def ask(self, choice: ModelChoice, status: dict) -> bool:
        """Ask the user (with the library's numbers, `BitLens.status()`), then start; False when they said no."""
        if self.running:
            self.say("The model is already being changed: wait for it, or cancel it in the status bar.", 8000)
            return False
        model = status.get("active_model") or {}
        current = model.get("backbone", "the current model").split(" (")[0]
        trained = model.get("kind") == "hashing" or status.get("models", 0) > 1  # models besides the library's own ITQ
        if not self.confirm(f"Change the model to {choice.label} and re-index?", confirmation_text(choice, current, status.get("photos", 0), trained)):
            return False
        self.start(choice)
        return True

    def start(self, choice: ModelChoice) -> Job:
        options = replace(self.options(), backbone=choice.backbone, pretrained=choice.pretrained, weights=choice.weights)
        self.job = self.runner.run_in_background(
            partial(ops.change_backbone, options=options),
            lane=WRITE,
            label=f"Changing the model to {choice.label}",
            show_progress=True,
            on_success=lambda report: self.say(f"Search now uses {choice.label}: {report.summary()}.", 10000),
            on_finished=self._finished,
        )
        return self.job

    def _finished(self, job: Job) -> None:
        self.job = None
        if job.outcome == "cancelled":
            self.say("Changing the model was cancelled: search keeps the model it had (photos described so far are kept).", 10000)
        self.ended.emit(job)
