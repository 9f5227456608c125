"""Reviewing near-duplicates: groups on the left, the photos of one group side by side.

Nothing here deletes, moves or renames a file. "Keep this" forgets the other photos of the
group and "Forget" forgets one photo, both only in BitLens's duplicate review (a small file
in the library folder); "Show in file manager" opens the folder so the user can act there.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImageReader, QPixmap
from PySide6.QtWidgets import (
    QDialog, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QScrollArea, QSplitter, QVBoxLayout, QWidget,
)

from engine.paths import library_paths

if TYPE_CHECKING:
    from engine.search.duplicates import DuplicateGroup, DuplicatePhoto

    from .jobs import JobContext
    from .mainwindow import MainWindow

PREVIEW_SIDE = 260


def load_groups(ctx: "JobContext", codes_generation: int, device: str = "auto") -> list["DuplicateGroup"]:
    """Runs off the GUI thread: the duplicate groups not yet resolved in the review."""
    from engine.search.duplicates import Review, find_duplicates

    from . import operations as ops

    searcher = ops._searcher(ctx, codes_generation, device)  # noqa: SLF001 - the worker's shared searcher
    if searcher is None:
        return []
    return find_duplicates(searcher, review=Review(ctx.library.paths.root))


def _scaled(path: str, side: int) -> QPixmap:
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and (size.width() > side or size.height() > side):
        reader.setScaledSize(size.scaled(QSize(side, side), Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    return QPixmap.fromImage(image) if not image.isNull() else QPixmap()


class PhotoCard(QWidget):
    """One photo of a group: picture, facts, and the three actions."""

    keep = Signal(str)
    forget = Signal(str)
    show_in_folder = Signal(str)

    def __init__(self, photo: "DuplicatePhoto", best: bool, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.path = photo.path
        self.picture = QLabel(self)
        self.picture.setFixedSize(PREVIEW_SIDE, PREVIEW_SIDE)
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setPixmap(_scaled(photo.path, PREVIEW_SIDE))
        size = f"{photo.width} × {photo.height}" if photo.width else "size unknown"
        facts = f"<b>{Path(photo.path).name}</b><br>{size}, {photo.size / 1024:,.0f} KB<br>{photo.date.replace('T', ' ')}"
        if best:
            facts += "<br><i>largest picture</i>"
        self.facts = QLabel(facts, self)
        self.facts.setWordWrap(True)
        self.facts.setToolTip(photo.path)
        self.keep_button = QPushButton("Keep this", self)
        self.keep_button.setToolTip("Forget the other photos of this group in the review (no file is deleted)")
        self.forget_button = QPushButton("Forget", self)
        self.forget_button.setToolTip("Leave this photo out of the duplicates review; the file stays where it is")
        self.folder_button = QPushButton("Show in file manager", self)
        self.keep_button.clicked.connect(lambda: self.keep.emit(self.path))
        self.forget_button.clicked.connect(lambda: self.forget.emit(self.path))
        self.folder_button.clicked.connect(lambda: self.show_in_folder.emit(self.path))
        layout = QVBoxLayout(self)
        for widget in (self.picture, self.facts, self.keep_button, self.forget_button, self.folder_button):
            layout.addWidget(widget)
        layout.addStretch(1)


class DuplicatesDialog(QDialog):
    """The review: pick a group, compare its photos, keep one or forget some."""

    loaded = Signal(int)  # number of groups shown

    def __init__(self, window: "MainWindow") -> None:
        super().__init__(window)
        self.window_ = window
        self.setWindowTitle("Near-duplicates")
        self.resize(1000, 620)
        self.groups: list["DuplicateGroup"] = []
        self.note = QLabel("Looking for near-duplicates…", self)
        self.note.setWordWrap(True)
        self.list = QListWidget(self)
        self.list.currentRowChanged.connect(self._show_group)
        self.cards_host = QWidget(self)
        self.cards = QHBoxLayout(self.cards_host)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.cards_host)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.list)
        splitter.addWidget(scroll)
        splitter.setSizes([220, 780])
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addWidget(splitter, 1)

    @property
    def review(self):
        from engine.search.duplicates import Review

        return Review(library_paths(self.window_.library_location).root)

    def start(self) -> None:
        from .jobs import SEARCH

        job = partial(load_groups, codes_generation=self.window_.codes_generation, device=self.window_.options().device)
        self.window_.runner.run_in_background(job, lane=SEARCH, label="Finding near-duplicates", on_success=self.set_groups,
                                              on_failure=lambda error: self.note.setText(f"Could not look for duplicates: {error}"))

    def set_groups(self, groups: list["DuplicateGroup"]) -> None:
        self.groups = list(groups)
        self._refill()
        self.loaded.emit(len(self.groups))

    # -- showing ---------------------------------------------------------------------------

    def _refill(self) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for number, group in enumerate(self.groups, 1):
            item = QListWidgetItem(f"{number}. {len(group.photos)} photos — {Path(group.photos[0].path).name}")
            item.setToolTip(f"codes within {group.max_distance} bits of each other")
            self.list.addItem(item)
        self.list.blockSignals(False)
        if self.groups:
            self.note.setText(f"{len(self.groups)} groups of near-duplicates. Nothing is deleted here: “Forget” only leaves a photo out "
                              "of this review; use “Show in file manager” to delete or move files yourself.")
            self.list.setCurrentRow(0)
            self._show_group(0)
        else:
            self.note.setText("No near-duplicates found.")
            self._show_group(-1)

    def _show_group(self, row: int) -> None:
        while self.cards.count():
            widget = self.cards.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        if not 0 <= row < len(self.groups):
            return
        for index, photo in enumerate(self.groups[row].photos):
            card = PhotoCard(photo, best=index == 0, parent=self.cards_host)
            card.keep.connect(self.keep)
            card.forget.connect(self.forget)
            card.show_in_folder.connect(self.window_.open_folder_of)
            self.cards.addWidget(card)
        self.cards.addStretch(1)

    def current_cards(self) -> list[PhotoCard]:
        return [self.cards.itemAt(i).widget() for i in range(self.cards.count()) if isinstance(self.cards.itemAt(i).widget(), PhotoCard)]

    # -- deciding --------------------------------------------------------------------------

    def keep(self, path: str) -> None:
        row = self.list.currentRow()
        group = self.groups[row]
        self.review.keep(group, path)
        del self.groups[row]
        self._refill()

    def forget(self, path: str) -> None:
        row = self.list.currentRow()
        group = self.groups[row]
        self.review.forget([p for p in group.photos if p.path == path])
        group.photos = [p for p in group.photos if p.path != path]
        if len(group.photos) < 2:
            del self.groups[row]
        self._refill()
        if 0 <= row < len(self.groups):
            self.list.setCurrentRow(row)
