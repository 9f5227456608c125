"""Add and remove the user's own tags (source "user") on the photo in the preview pane."""

from __future__ import annotations

from functools import partial
from typing import Optional

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QToolButton, QVBoxLayout, QWidget

from .jobs import WRITE, JobRunner


class FlowRow(QWidget):
    """A wrapping-free row of removable tag chips (one per user tag)."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.box = QVBoxLayout(self)
        self.box.setContentsMargins(0, 0, 0, 0)
        self.box.setSpacing(2)


class TagEditor(QWidget):
    """A field to add a tag, and each user tag with a button that takes it off again."""

    changed = Signal()  # tags of the shown photos changed (the pane reloads them)

    def __init__(self, runner: JobRunner, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.paths: list[str] = []
        self.user_tags: list[str] = []
        self.field = QLineEdit()
        self.field.setPlaceholderText("Add a tag of your own…")
        self.field.setToolTip("Your tags are kept when folders are re-scanned, and training learns from them")
        self.field.returnPressed.connect(self.add_from_field)
        self.add_button = QPushButton("Add")
        self.add_button.clicked.connect(self.add_from_field)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: gray;")
        self.chips = FlowRow(self)
        from .tag_completion import TagCompleter

        self.completer = TagCompleter(self.field)
        self.heading = QLabel("<span style='color:gray'>Your tags</span>")
        row = QHBoxLayout()
        row.addWidget(self.field, 1)
        row.addWidget(self.add_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.chips)
        layout.addLayout(row)
        layout.addWidget(self.message)

    def set_photos(self, paths: list[str]) -> None:
        """The photos a tag is added to or removed from (several when several are selected in the grid)."""
        self.paths = list(paths)
        self.set_user_tags([])
        self.message.setText("")
        self.setEnabled(bool(paths))
        several = len(self.paths) > 1
        self.heading.setText(
            f"<span style='color:gray'>Your tags — added to and removed from all {len(self.paths)} selected photos</span>"
            if several
            else "<span style='color:gray'>Your tags</span>"
        )
        self.field.setPlaceholderText(f"Add a tag to the {len(self.paths)} selected photos…" if several else "Add a tag of your own…")

    def set_user_tags(self, tags: list[str]) -> None:
        self.user_tags = list(tags)
        while self.chips.box.count():
            item = self.chips.box.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        for tag in tags:
            chip = QWidget()
            line = QHBoxLayout(chip)
            line.setContentsMargins(0, 0, 0, 0)
            name = QLabel(tag)
            remove = QToolButton()
            remove.setText("×")
            remove.setToolTip(f"Remove your tag “{tag}”")
            remove.setObjectName(f"remove-tag:{tag}")
            remove.clicked.connect(partial(self.remove, tag))
            line.addWidget(name)
            line.addWidget(remove)
            line.addStretch(1)
            self.chips.box.addWidget(chip)
        if not tags:
            self.chips.box.addWidget(QLabel("<i>none yet</i>"))

    def add_from_field(self) -> None:
        tag = self.field.text().strip()
        if tag and self.paths:
            self.add(tag)

    def add(self, tag: str) -> None:
        paths = list(self.paths)

        def done(count: int) -> None:
            self.field.clear()
            several = f" on {count} photos" if len(paths) > 1 else ""
            self.message.setText(f"Tagged “{tag}”{several}." if count else f"“{tag}” was already one of your tags here.")
            self.changed.emit()

        self.runner.run_in_background(
            lambda ctx: ctx.library.add_user_tag(paths, tag),
            lane=WRITE,
            label="tagging",
            on_success=done,
            on_failure=lambda error: self.message.setText(f"Could not add the tag: {error}"),
        )

    def remove(self, tag: str) -> None:
        paths = list(self.paths)

        def done(_count: int) -> None:
            self.message.setText(f"Removed “{tag}”.")
            self.changed.emit()

        self.runner.run_in_background(
            lambda ctx: ctx.library.remove_user_tag(paths, tag),
            lane=WRITE,
            label="untagging",
            on_success=done,
            on_failure=lambda error: self.message.setText(f"Could not remove the tag: {error}"),
        )
