"""A larger view of one photo inside the app, for when no external viewer opens it."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QKeyEvent, QPixmap
from PySide6.QtWidgets import QDialog, QLabel, QVBoxLayout, QWidget

from .jobs import THUMBS, JobRunner
from .preview import ImageLabel
from .thumbnails import load_scaled

VIEWER_SIDE = 2048


class PhotoViewer(QDialog):
    """The photo as large as the window allows; Escape or Enter closes it."""

    def __init__(self, runner: JobRunner, path: str, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.path = path
        self.failed: Optional[str] = None
        self.setWindowTitle(f"{Path(path).name} — BitLens")
        self.image = ImageLabel(self)
        self.image.setWordWrap(True)
        self.image.setText("Loading…")
        self.note = QLabel(f"{path}\nNo viewer of this computer opened the photo, so it is shown here. Esc closes.", self)
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: palette(placeholder-text);")
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addWidget(self.image, 1)
        layout.addWidget(self.note)
        if parent is not None:
            self.resize(parent.size() * 0.9)
        runner.run_in_background(lambda ctx: load_scaled(path, VIEWER_SIDE), lane=THUMBS, key="viewer-image", on_success=self._loaded, on_failure=self._failed)

    def _loaded(self, image: QImage) -> None:
        self.image.setText("")
        self.image.set_image(QPixmap.fromImage(image))

    def _failed(self, error: BaseException) -> None:
        self.failed = str(error)
        self.image.set_image(None)
        self.image.setText(f"This photo cannot be opened:\n{error}")

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.accept()
            return
        super().keyPressEvent(event)
