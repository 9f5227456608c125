"""What can be done with one photo of the grid: open it, show its folder, copy its path, the context menu."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import QObject, QPoint, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QMenu, QWidget

from .jobs import JobRunner


class PhotoActions(QObject):
    """Opens photos and folders through the system (or the in-app viewer when nothing opens a photo)."""

    def __init__(
        self,
        runner: JobRunner,
        find_similar: Callable[[str], None],
        say: Callable[[str, int], None],
        notify_error: Callable[[str, str], None],
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.find_similar = find_similar
        self.say = say  # a status-bar message, for how long (ms)
        self.notify_error = notify_error
        self.host = parent  # the viewer and the menu open over this widget
        self.open_url: Callable[[QUrl], bool] = QDesktopServices.openUrl  # replaceable in tests
        self.viewer = None  # the in-app viewer, when no external one opened a photo

    def open_photo(self, path: str):
        """Open the photo in the system's viewer; when none opens it, show it larger here and say so."""
        if self.open_url(QUrl.fromLocalFile(path)):
            return None
        from .viewer import PhotoViewer

        self.say(f"No viewer opened {Path(path).name}: it is shown in BitLens instead.", 8000)
        viewer = PhotoViewer(self.runner, path, self.host)
        viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        viewer.open()
        self.viewer = viewer
        return viewer

    def open_folder_of(self, path: str) -> None:
        """Open the folder that holds the photo in the file manager."""
        if not self.open_url(QUrl.fromLocalFile(os.path.dirname(path))):
            self.notify_error("The folder did not open", f"No file manager opened {os.path.dirname(path)}.")

    def copy_path(self, path: str) -> None:
        QGuiApplication.clipboard().setText(path)
        self.say(f"Copied {path}", 4000)

    def build_context_menu(self, path: str, parent: Optional[QWidget] = None) -> QMenu:
        """The grid's context menu for one photo (separate from showing it, for tests)."""
        menu = QMenu(parent or self.host)
        menu.addAction("Find similar", lambda: self.find_similar(path))
        menu.addSeparator()
        menu.addAction("Open", lambda: self.open_photo(path))
        menu.addAction("Open containing folder", lambda: self.open_folder_of(path))
        menu.addAction("Copy path", lambda: self.copy_path(path))
        return menu

    def show_context_menu(self, path: str, where: QPoint) -> None:
        menu = self.build_context_menu(path)
        menu.exec(where)
        menu.deleteLater()
