"""The sidebar: library folders with their counts and indexing state, add and remove."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QStyle, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from engine.library.library import FolderInfo

ALL_PHOTOS = "All photos"
PATH_ROLE = Qt.ItemDataRole.UserRole + 1


def describe(info: "FolderInfo", state: str = "") -> str:
    """The second line of a folder entry: counts that matter, then what is happening."""
    parts = [f"{info.photos:,} photo{'s' if info.photos != 1 else ''}"]
    if info.missing:
        parts.append(f"{info.missing:,} missing")
    if info.errors:
        parts.append(f"{info.errors:,} unreadable")
    if not info.reachable:
        parts.append("not reachable")
    if state:
        parts.append(state)
    return " · ".join(parts)


class FolderSidebar(QWidget):
    """Lists the library folders; choosing one narrows the grid and searches to it."""

    add_requested = Signal()
    remove_requested = Signal(str)
    folder_selected = Signal(object)  # a folder path, or None for all photos

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self._infos: list["FolderInfo"] = []
        self._states: dict[str, str] = {}
        title = QLabel("Folders", self)
        title.setStyleSheet("font-weight: 600; padding: 2px 2px 0 2px;")
        self.list = QListWidget(self)
        self.list.setIconSize(QSize(20, 20))
        self.list.setWordWrap(True)
        self.list.setToolTip("Library folders: click one to search only there; drop folders on the window to add them")
        self.list.setUniformItemSizes(False)
        self.list.setSpacing(2)
        self.list.currentItemChanged.connect(self._selection_changed)
        self.add_button = QPushButton("Add folder…", self)
        self.add_button.setToolTip("Add a photo folder (it is only read, never changed)")
        self.add_button.clicked.connect(self.add_requested)
        self.remove_button = QPushButton("Remove", self)
        self.remove_button.setToolTip("Forget this folder: its photos leave the library, the files stay where they are")
        self.remove_button.setEnabled(False)
        self.remove_button.clicked.connect(self._remove_clicked)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button, 1)
        buttons.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(title)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self._all = QListWidgetItem(self.style().standardIcon(QStyle.StandardPixmap.SP_DirHomeIcon), ALL_PHOTOS)
        self.list.addItem(self._all)
        self.list.setCurrentItem(self._all)

    # -- filling --------------------------------------------------------------------------

    def set_folders(self, folders: Sequence["FolderInfo"]) -> None:
        """Show these folders (keeps the selection when the folder is still there)."""
        selected = self.selected_folder()
        self._infos = list(folders)
        self.list.blockSignals(True)
        while self.list.count() > 1:
            self.list.takeItem(1)
        total = sum(info.photos for info in folders)
        self._all.setText(f"{ALL_PHOTOS}\n{total:,} photo{'s' if total != 1 else ''}")
        keep = self._all
        for info in folders:
            icon = QStyle.StandardPixmap.SP_DirIcon if info.reachable else QStyle.StandardPixmap.SP_MessageBoxWarning
            item = QListWidgetItem(self.style().standardIcon(icon), "")
            item.setData(PATH_ROLE, info.path)
            item.setToolTip(info.path)
            self.list.addItem(item)
            self._render(item, info)
            if info.path == selected:
                keep = item
        self.list.setCurrentItem(keep)
        self.list.blockSignals(False)
        self.remove_button.setEnabled(keep is not self._all)
        if selected is not None and keep is self._all:
            self.folder_selected.emit(None)  # the selected folder went away

    def set_state(self, path: str, state: str) -> None:
        """Show what is happening to a folder ("queued", "indexing 40%"); empty clears it."""
        if state:
            self._states[path] = state
        else:
            self._states.pop(path, None)
        for row in range(1, self.list.count()):
            item = self.list.item(row)
            if item.data(PATH_ROLE) == path:
                info = next((i for i in self._infos if i.path == path), None)
                if info is not None:
                    self._render(item, info)

    def folders(self) -> list[str]:
        return [info.path for info in self._infos]

    def selected_folder(self) -> Optional[str]:
        item = self.list.currentItem()
        return None if item is None or item is self._all else item.data(PATH_ROLE)

    def select_folder(self, path: Optional[str]) -> None:
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(PATH_ROLE) == path or (path is None and item is self._all):
                self.list.setCurrentItem(item)
                return

    # -- internals --------------------------------------------------------------------------

    def _render(self, item: QListWidgetItem, info: "FolderInfo") -> None:
        item.setText(f"{Path(info.path).name or info.path}\n{describe(info, self._states.get(info.path, ''))}")

    def _selection_changed(self, current: Optional[QListWidgetItem], _previous: Optional[QListWidgetItem]) -> None:
        folder = None if current is None or current is self._all else current.data(PATH_ROLE)
        self.remove_button.setEnabled(folder is not None)
        self.folder_selected.emit(folder)

    def _remove_clicked(self) -> None:
        folder = self.selected_folder()
        if folder:
            self.remove_requested.emit(folder)
