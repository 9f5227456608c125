"""Suggested tags in the preview pane: the user's own tags that fit the photo, to accept or reject."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from .jobs import SEARCH, WRITE

if TYPE_CHECKING:
    from engine.facade import Suggestion

    from .jobs import JobContext, JobRunner

LIMIT = 4
MIN_CONFIDENCE = 0.3


def suggestions_for(ctx: "JobContext", path: str, tags_version: int, device: str = "auto") -> list["Suggestion"]:
    """Off the GUI thread: suggestions for one photo (the suggester is rebuilt when the codes or the tags change)."""
    from . import operations as ops

    searcher = ops.shared_searcher(ctx, device)
    if searcher is None:
        return []
    key = (ctx.state.get("codes_version"), tags_version)  # the codes the shared searcher was built on, and the tags
    if ctx.state.get("suggester_key") != key:
        ctx.state["suggester"], ctx.state["suggester_key"] = ctx.library.suggester(searcher), key
    try:
        return ctx.state["suggester"].suggest(path, LIMIT, MIN_CONFIDENCE)
    except ValueError:
        return []  # not coded yet


class SuggestionsBox(QWidget):
    """A few suggested tags with their confidence, each with Accept and Reject."""

    tags_changed = Signal(str)  # a photo's tags changed (the preview reloads its details)
    updated = Signal(str)  # suggestions for this photo arrived

    def __init__(self, runner: "JobRunner", parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.tags_version = 0
        self.path: Optional[str] = None
        self.suggestions: list["Suggestion"] = []
        self.title = QLabel("<span style='color:gray'>Suggested tags</span>", self)
        self.grid = QGridLayout()
        self.grid.setContentsMargins(0, 0, 0, 0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addWidget(self.title)
        layout.addLayout(self.grid)
        self.setVisible(False)

    def show_for(self, path: Optional[str]) -> None:
        self.path = path
        self._fill([])
        if path is None:
            return
        self.runner.run_in_background(
            lambda ctx: suggestions_for(ctx, path, self.tags_version),
            lane=SEARCH,
            key="tag-suggestions",
            on_success=lambda found, asked=path: self._arrived(asked, found),
        )

    def _arrived(self, path: str, found: list["Suggestion"]) -> None:
        if path == self.path:
            self._fill(found)
            self.updated.emit(path)

    def _fill(self, suggestions: list["Suggestion"]) -> None:
        self.suggestions = list(suggestions)
        while self.grid.count():
            widget = self.grid.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        for row, suggestion in enumerate(self.suggestions):
            label = QLabel(f"{suggestion.tag} <span style='color:gray'>{suggestion.confidence:.0%}</span>", self)
            label.setToolTip(f"estimated chance that this tag fits, from your tagged photos ({suggestion.basis})")
            accept = QPushButton("Accept", self)
            accept.setObjectName(f"accept:{suggestion.tag}")
            reject = QPushButton("Reject", self)
            reject.setObjectName(f"reject:{suggestion.tag}")
            accept.clicked.connect(lambda _=False, tag=suggestion.tag: self.accept(tag))
            reject.clicked.connect(lambda _=False, tag=suggestion.tag: self.reject(tag))
            self.grid.addWidget(label, row, 0)
            self.grid.addWidget(accept, row, 1)
            self.grid.addWidget(reject, row, 2)
        self.setVisible(bool(self.suggestions))

    def tags_edited(self) -> None:
        """The user changed a photo's tags by hand: the next suggestions are learned from the tags as they are now."""
        self.tags_version += 1

    def _decided(self, tag: str) -> None:
        self._fill([s for s in self.suggestions if s.tag != tag])

    def accept(self, tag: str) -> None:
        """Make the tag one of the user's own tags on this photo."""
        path = self.path
        if path is None:
            return

        def done(_result, tag=tag, path=path) -> None:
            self.tags_version += 1
            self._decided(tag)
            self.tags_changed.emit(path)

        self.runner.run_in_background(lambda ctx: ctx.library.accept_suggestion(path, tag), lane=WRITE, label=f"Tagging with {tag}", on_success=done)

    def reject(self, tag: str) -> None:
        """Never suggest this tag for this photo again."""
        path = self.path
        if path is None:
            return
        self.runner.run_in_background(
            lambda ctx: ctx.library.reject_suggestion(path, tag), lane=WRITE, label="Rejecting a suggestion", on_success=lambda _r, tag=tag: self._decided(tag)
        )
