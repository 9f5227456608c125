"""Reviewing near-duplicates: groups on the left, the photos of one group side by side.

Nothing here deletes, moves or renames a file. "Keep this" forgets the other photos of the
group and "Forget" forgets one photo, both only in BitLens's duplicate review (a small file
in the library folder), and "Undo" takes the last of them back; "Show in file manager" opens
the folder so the user can act there. The slider sets how alike two photos must be.
"""

from __future__ import annotations

import html
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSlider,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from engine.facade import printable_path

from .jobs import SEARCH
from .library_context import LibraryContext

if TYPE_CHECKING:
    from engine.facade import DuplicateGroup, DuplicatePhoto

    from .jobs import JobContext

PREVIEW_SIDE = 260
LIST_ICON_SIDE = 56
SLIDER_FLOOR = 80  # percent: below this, pixel fingerprints of unrelated photos start to meet


def load_groups(ctx: "JobContext", device: str = "auto", min_similarity: Optional[float] = None) -> list["DuplicateGroup"]:
    """Runs off the GUI thread: the duplicate groups not yet resolved in the review."""
    from . import operations as ops

    searcher = ops.shared_searcher(ctx, device)
    if searcher is None:
        return []
    return ctx.library.find_duplicates(searcher, min_similarity)


def _scaled(path: str, side: int) -> QPixmap:
    """The photo upright and scaled to fit `side`, by the engine's decoder (HEIC, RAW, any file name); empty if unreadable."""
    from engine.facade import DecodeError

    from .thumbnails import load_scaled

    try:
        return QPixmap.fromImage(load_scaled(path, side))
    except (DecodeError, OSError):
        return QPixmap()


class PhotoCard(QWidget):
    """One photo of a group: picture, facts, and the three actions."""

    keep = Signal(str)
    forget = Signal(str)
    show_in_folder = Signal(str)

    def __init__(self, photo: "DuplicatePhoto", largest: bool, representative: bool, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.path = photo.path
        self.picture = QLabel(self)
        self.picture.setFixedSize(PREVIEW_SIDE, PREVIEW_SIDE)
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setPixmap(_scaled(photo.path, PREVIEW_SIDE))
        size = f"{photo.width} × {photo.height}" if photo.width else "size unknown"
        facts = f"<b>{html.escape(printable_path(Path(photo.path).name))}</b><br>{size}, {photo.size / 1024:,.0f} KB<br>{photo.date.replace('T', ' ')}"
        facts += "<br><i>the group's reference</i>" if representative else f"<br>{photo.similarity:.0%} alike"
        if largest:
            facts += "<br><i>largest picture</i>"
        self.facts = QLabel(facts, self)
        self.facts.setWordWrap(True)
        self.facts.setToolTip(printable_path(photo.path))
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
    """The review: pick a group, compare its photos, keep one or forget some, undo."""

    loaded = Signal(int)  # number of groups shown

    def __init__(self, library: LibraryContext, open_folder: Callable[[str], None], say: Callable[[str, int], None], parent: Optional[QWidget] = None) -> None:
        from engine.facade import DEFAULT_MIN_SIMILARITY

        super().__init__(parent)
        self.library = library
        self.open_folder = open_folder  # shows a photo's folder in the file manager
        self.say = say  # a status-bar message, for how long (ms)
        self.setWindowTitle("Near-duplicates")
        self.resize(1000, 620)
        self.groups: list["DuplicateGroup"] = []
        # (row, the group as it was, whether the decision removed it, paths to restore), last decision last
        self.undo_stack: list[tuple[int, "DuplicateGroup", bool, list[str]]] = []
        self.note = QLabel("Looking for near-duplicates…", self)
        self.note.setWordWrap(True)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setRange(SLIDER_FLOOR, 100)
        self.slider.setValue(round(DEFAULT_MIN_SIMILARITY * 100))
        self.slider.setTracking(False)  # look again when the handle is let go, not at every step
        self.slider.setToolTip("How alike two photos' pixels must be to count as near-duplicates")
        self.slider.valueChanged.connect(self._show_threshold)
        self.slider.valueChanged.connect(lambda _: self.start())
        self.slider.sliderMoved.connect(self._show_threshold)
        self.threshold = QLabel(self)
        self._show_threshold(self.slider.value())
        self.undo_button = QPushButton("Undo", self)
        self.undo_button.setToolTip("Take back the last “Keep this” or “Forget”")
        self.undo_button.setEnabled(False)
        self.undo_button.clicked.connect(self.undo)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Similarity at least", self))
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.threshold)
        controls.addWidget(self.undo_button)
        self.list = QListWidget(self)
        self.list.setIconSize(QSize(LIST_ICON_SIDE, LIST_ICON_SIDE))
        self.list.currentRowChanged.connect(self._show_group)
        self.cards_host = QWidget(self)
        self.cards = QHBoxLayout(self.cards_host)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.cards_host)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.list)
        splitter.addWidget(scroll)
        splitter.setSizes([260, 740])
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addLayout(controls)
        layout.addWidget(splitter, 1)

    @property
    def review(self):
        from engine.facade import Review

        return Review(self.library.root)

    @property
    def min_similarity(self) -> float:
        return self.slider.value() / 100

    def _show_threshold(self, value: int) -> None:
        self.threshold.setText(f"{value} %")

    def start(self) -> None:
        self.note.setText("Looking for near-duplicates…")
        job = partial(load_groups, device=self.library.device, min_similarity=self.min_similarity)
        self.library.runner.run_in_background(
            job,
            lane=SEARCH,
            label="Finding near-duplicates",
            on_success=self.set_groups,
            on_failure=lambda error: self.note.setText(f"Could not look for duplicates: {error}"),
        )

    def set_groups(self, groups: list["DuplicateGroup"]) -> None:
        self.groups = list(groups)
        self._refill()
        self.loaded.emit(len(self.groups))

    # -- showing ---------------------------------------------------------------------------

    def _refill(self, row: int = 0) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for number, group in enumerate(self.groups, 1):
            head = group.photos[0]
            item = QListWidgetItem(f"{number}. {len(group.photos)} photos, {group.similarity:.0%} alike\n{printable_path(Path(head.path).name)}")
            item.setToolTip(f"every photo is at least {group.similarity:.0%} alike with {printable_path(head.path)}")
            pixmap = _scaled(head.path, LIST_ICON_SIDE)
            if not pixmap.isNull():
                item.setIcon(QIcon(pixmap))
            self.list.addItem(item)
        self.list.blockSignals(False)
        self.undo_button.setEnabled(bool(self.undo_stack))
        if self.groups:
            self.note.setText(
                f"{len(self.groups)} groups of near-duplicates. Nothing is deleted here: “Forget” only leaves a photo out "
                "of this review; use “Show in file manager” to delete or move files yourself."
            )
            row = min(max(row, 0), len(self.groups) - 1)
            self.list.setCurrentRow(row)
            self._show_group(row)
        else:
            self.note.setText(f"No near-duplicates at {self.slider.value()} % similarity or more.")
            self._show_group(-1)

    def _show_group(self, row: int) -> None:
        while self.cards.count():
            widget = self.cards.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        if not 0 <= row < len(self.groups):
            return
        group = self.groups[row]
        largest = group.largest
        for index, photo in enumerate(group.photos):
            card = PhotoCard(photo, largest=largest is not None and photo.path == largest.path, representative=index == 0, parent=self.cards_host)
            card.keep.connect(self.keep)
            card.forget.connect(self.forget)
            card.show_in_folder.connect(self.open_folder)
            self.cards.addWidget(card)
        self.cards.addStretch(1)

    def current_cards(self) -> list[PhotoCard]:
        return [self.cards.itemAt(i).widget() for i in range(self.cards.count()) if isinstance(self.cards.itemAt(i).widget(), PhotoCard)]

    # -- deciding --------------------------------------------------------------------------

    def keep(self, path: str) -> None:
        from engine.facade import DuplicateGroup

        row = self.list.currentRow()
        group = self.groups[row]
        restored = self.review.keep(group, path)
        self.undo_stack.append((row, DuplicateGroup(list(group.photos)), True, restored))
        del self.groups[row]
        self._refill(row)
        self.say(f"Kept {printable_path(Path(path).name)}; the others are out of this review (Undo brings them back)", 6000)

    def forget(self, path: str) -> None:
        from engine.facade import DuplicateGroup

        row = self.list.currentRow()
        group = self.groups[row]
        before = DuplicateGroup(list(group.photos))
        restored = self.review.forget([p for p in group.photos if p.path == path])
        group.photos = [p for p in group.photos if p.path != path]
        removed = len(group.photos) < 2
        if removed:
            del self.groups[row]
        self.undo_stack.append((row, before, removed, restored))
        self._refill(row)

    def undo(self) -> None:
        """Take back the last keep or forget: its photos are in the review again, the group where it was."""
        if not self.undo_stack:
            return
        row, group, removed, restored = self.undo_stack.pop()
        self.review.restore(restored)
        if removed:
            self.groups.insert(row, group)
        else:
            self.groups[row] = group
        self._refill(row)
