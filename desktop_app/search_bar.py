"""The search bar: words searched as you type, or a photo dropped on it as the query."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QIcon, QImage, QKeyEvent, QPixmap
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLineEdit, QSizePolicy, QToolButton, QWidget

from .drops import might_carry_something, read_drop
from .style import FIELD_FRAME

DEBOUNCE_MS = 220  # long enough to skip the keystrokes of a word, short enough to feel instant


class SearchField(QLineEdit):
    """A line edit that takes photo drops (files or pixels) as image queries."""

    photo_dropped = Signal(str)
    image_dropped = Signal(QImage)
    folders_dropped = Signal(list)
    down_pressed = Signal()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if might_carry_something(event.mimeData()):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if might_carry_something(event.mimeData()):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        if not might_carry_something(event.mimeData()):
            super().dropEvent(event)  # plain text: typed in, as any line edit does
            return
        dropped = read_drop(event.mimeData())
        if dropped.empty:
            event.ignore()
            return
        event.acceptProposedAction()
        if dropped.folders:
            # Folders dropped here mean what they mean anywhere on the window: add them.
            self.folders_dropped.emit(dropped.folders)
        if dropped.photos:
            self.photo_dropped.emit(dropped.photos[0])
        elif dropped.image is not None:
            self.image_dropped.emit(dropped.image)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Down:
            self.down_pressed.emit()
            return
        super().keyPressEvent(event)


class SearchBar(QWidget):
    """Emits `query_changed` after a short pause in typing, or at once for a photo or Enter."""

    query_changed = Signal()
    image_data_dropped = Signal(QImage)  # the window saves the pixels to the cache, then calls set_image
    folders_dropped = Signal(list)
    move_to_results = Signal()

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self._image: Optional[str] = None
        self.field = SearchField(self)
        self.field.setPlaceholderText("Search your photos: type words (“dog on the beach”) or drop a photo here")
        self.field.setClearButtonEnabled(True)
        self.field.setToolTip(
            "Words describing the photos you want (results come as you type), or drop a photo here to find similar ones (Ctrl+F). "
            'Add and take away: beach +sunset -people · keep words together: "red car" · '
            "weigh a term: sunset:0.5 · an example photo: img:~/Pictures/cat.jpg"
        )
        self.field.setMinimumHeight(32)
        self.field.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.chip = QToolButton(self)
        self.chip.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.chip.setIconSize(QSize(24, 24))
        self.chip.setToolTip("Searching by this photo; click to search by words again")
        self.chip.setVisible(False)
        self.chip.clicked.connect(self.clear_image)
        self.choose_button = QToolButton(self)
        self.choose_button.setText("Choose photo…")
        self.choose_button.setToolTip("Find photos like one you choose from a folder (the same as dropping it here)")
        self.choose_button.clicked.connect(self.choose_photo)
        self.choose_button.setMinimumHeight(32)
        # replaceable in tests: returns the chosen file, or "" when the user cancels
        self.pick_photo: Callable[[], str] = lambda: QFileDialog.getOpenFileName(
            self, "Find photos like…", str(Path.home()), "Photos (*.jpg *.jpeg *.png *.heic *.heif *.webp *.tif *.tiff *.gif *.bmp);;All files (*)"
        )[0]
        self.field.setStyleSheet(FIELD_FRAME)  # the same visible frame as the filter fields, light or dark
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.chip)
        layout.addWidget(self.field)
        layout.addWidget(self.choose_button)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.query_changed)
        self.field.textEdited.connect(self._typed)
        self.field.returnPressed.connect(self.submit)
        self.field.photo_dropped.connect(self.set_image)
        self.field.image_dropped.connect(self.image_data_dropped)
        self.field.folders_dropped.connect(self.folders_dropped)
        self.field.down_pressed.connect(self.move_to_results)

    # -- what is asked --------------------------------------------------------------------

    def text(self) -> str:
        return "" if self._image else self.field.text().strip()

    def image(self) -> Optional[str]:
        return self._image

    def set_text(self, text: str) -> None:
        """Type a query programmatically (command line, tests) and search at once."""
        self._image = None
        self.chip.setVisible(False)
        self.field.setText(text)
        self.submit()

    def set_image(self, path: str, label: Optional[str] = None) -> None:
        """Search by this photo (dropped, or "Find similar")."""
        self._image = path
        self.field.blockSignals(True)
        self.field.clear()
        self.field.blockSignals(False)
        self.chip.setIcon(QIcon())  # the window sets the thumbnail once it is made off the GUI thread
        self.chip.setText(f"Like {label or Path(path).name}  ✕")
        self.chip.setVisible(True)
        self.submit()

    def choose_photo(self) -> None:
        """Search by a photo picked in a file dialog."""
        path = self.pick_photo()
        if path:
            self.set_image(path)

    def set_chip_icon(self, pixmap: QPixmap) -> None:
        self.chip.setIcon(QIcon(pixmap))

    def clear_image(self) -> None:
        if self._image is not None:
            self._image = None
            self.chip.setVisible(False)
            self.field.setFocus()
            self.submit()

    def submit(self) -> None:
        """Search now, without waiting for the typing pause."""
        self._debounce.stop()
        self.query_changed.emit()

    def focus(self) -> None:
        self.field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.field.selectAll()

    # -- typing ---------------------------------------------------------------------------

    def _typed(self, _text: str) -> None:
        if self._image is not None:
            self._image = None  # typing words replaces the example photo
            self.chip.setVisible(False)
        self._debounce.start()
