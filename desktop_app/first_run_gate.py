"""When the first-run model dialog is due, and the folders that wait for a model meanwhile.

A library with no model, no model chosen and no default weights on this computer cannot be
indexed yet: folders added then wait here until the user picks a model in the dialog (they
are released to the indexing queue) or closes it without one (they are added unindexed).
"""

from __future__ import annotations

from typing import Callable, Optional

from PySide6.QtCore import QObject, Signal

from . import operations as ops
from .jobs import IO, JobRunner


class FirstRunGate(QObject):
    """Decides whether indexing waits for a model choice; states: unknown → checking → needed / not_needed → chosen."""

    ask = Signal()  # show the model dialog (it checks the hub itself)
    released = Signal(list)  # folders that waited and can be indexed now
    put_off = Signal(list)  # folders that waited while the dialog was closed without a choice

    def __init__(
        self,
        runner: JobRunner,
        policy: str = "ask",
        weights_cached: Callable[[], bool] = ops.default_weights_cached,
        parent: Optional[QObject] = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.policy = policy  # "ask", or "skip" (tests, scripted runs): never ask
        self.weights_cached = weights_cached
        self.state = "unknown"
        self.waiting: list[str] = []

    def check(self, overview: ops.Overview, options: ops.IndexOptions) -> None:
        """Look once the library is open: is a model there or chosen, or are the default weights here?"""
        if overview.status.get("active_model") or options.explicit_model or self.policy != "ask":
            self._checked(False)
            return
        self.state = "checking"
        cached = self.weights_cached
        # A cache lookup, no torch and no network: the dialog opens as soon as the library is read,
        # and checks the hub itself while the user reads it.
        self.runner.run_in_background(
            lambda ctx: ops.needs_first_run(ctx, options, weights_cached=cached),
            lane=IO,
            label="checking for the model",
            on_success=self._checked,
            on_failure=lambda _e: self._checked(False),
        )

    def _checked(self, needed: bool) -> None:
        if self.state == "chosen":
            return
        self.state = "needed" if needed else "not_needed"
        if needed:
            self.ask.emit()
        elif self.waiting:
            self.released.emit(self._take_waiting())

    def hold(self, folders: list[str]) -> bool:
        """Keep these folders back while the model is not settled; False when they can be indexed now."""
        if self.state not in ("unknown", "checking", "needed"):
            return False
        self.waiting.extend(folders)
        if self.state == "needed":
            self.ask.emit()
        return True

    def chosen(self) -> None:
        """The user picked a model: what waited can be indexed."""
        self.state = "chosen"
        if self.waiting:
            self.released.emit(self._take_waiting())

    def dialog_closed(self) -> None:
        """The dialog closed; without a choice, the folders that waited are given up on for now."""
        if self.state == "needed" and self.waiting:
            self.put_off.emit(self._take_waiting())

    def weights_missing(self) -> None:
        """Indexing found no weights for the model: ask for one (unless this run never asks)."""
        if self.policy == "ask":
            self.state = "needed"
            self.ask.emit()

    def _take_waiting(self) -> list[str]:
        waiting, self.waiting = self.waiting, []
        return waiting
