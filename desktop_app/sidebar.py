"""The sidebar: library folders with their counts and indexing state, add and remove.

A tree: each library folder holds its sub-folders (albums), and any of them can be
chosen to narrow the grid and searches to the photos below it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QStyle, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from engine.facade import FolderInfo

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
        self.list = QTreeWidget(self)
        self.list.setHeaderHidden(True)
        self.list.setIconSize(QSize(20, 20))
        self.list.setWordWrap(True)
        self.list.setToolTip("Library folders and their sub-folders: click one to search only there; drop folders on the window to add them")
        self.list.setUniformRowHeights(False)
        self.list.setIndentation(14)
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
        self._all = QTreeWidgetItem([ALL_PHOTOS])
        self._all.setIcon(0, self.style().standardIcon(QStyle.StandardPixmap.SP_DirHomeIcon))
        self.list.addTopLevelItem(self._all)
        self.list.setCurrentItem(self._all)
        self._subfolders: dict[str, list[tuple[str, int]]] = {}

    # -- filling --------------------------------------------------------------------------

    def set_folders(self, folders: Sequence["FolderInfo"], subfolders: Optional[dict[str, list[tuple[str, int]]]] = None) -> None:
        """Show these folders and their sub-folders (keeps the selection and what was expanded)."""
        selected = self.selected_folder()
        expanded = {item.data(0, PATH_ROLE) for item in self._items() if item.isExpanded()}
        self._infos = list(folders)
        self._subfolders = dict(subfolders or {})
        self.list.blockSignals(True)
        while self.list.topLevelItemCount() > 1:
            self.list.takeTopLevelItem(1)
        total = sum(info.photos for info in folders)
        self._all.setText(0, f"{ALL_PHOTOS}\n{total:,} photo{'s' if total != 1 else ''}")
        keep = self._all
        for info in folders:
            icon = QStyle.StandardPixmap.SP_DirIcon if info.reachable else QStyle.StandardPixmap.SP_MessageBoxWarning
            item = QTreeWidgetItem()
            item.setIcon(0, self.style().standardIcon(icon))
            item.setData(0, PATH_ROLE, info.path)
            item.setToolTip(0, info.path)
            self.list.addTopLevelItem(item)
            self._render(item, info)
            nodes = {info.path: item}
            for path, count in self._subfolders.get(info.path, []):  # sorted: a parent comes before its children
                child = QTreeWidgetItem([f"{Path(path).name}  ({count:,})"])
                child.setData(0, PATH_ROLE, path)
                child.setToolTip(0, f"{path}\n{count:,} photo{'s' if count != 1 else ''} here and below")
                nodes.get(str(Path(path).parent), item).addChild(child)
                nodes[path] = child
            for path, node in nodes.items():
                if path in expanded:
                    node.setExpanded(True)
                if path == selected:
                    keep = node
        self.list.setCurrentItem(keep)
        self.list.blockSignals(False)
        self.remove_button.setEnabled(self._is_library_folder(keep))
        if selected is not None and keep is self._all:
            self.folder_selected.emit(None)  # the selected folder went away

    def set_state(self, path: str, state: str) -> None:
        """Show what is happening to a folder ("queued", "indexing 40%"); empty clears it."""
        if state:
            self._states[path] = state
        else:
            self._states.pop(path, None)
        for row in range(1, self.list.topLevelItemCount()):
            item = self.list.topLevelItem(row)
            if item.data(0, PATH_ROLE) == path:
                info = next((i for i in self._infos if i.path == path), None)
                if info is not None:
                    self._render(item, info)

    def folders(self) -> list[str]:
        return [info.path for info in self._infos]

    def selected_folder(self) -> Optional[str]:
        item = self.list.currentItem()
        return None if item is None or item is self._all else item.data(0, PATH_ROLE)

    def select_folder(self, path: Optional[str]) -> None:
        """Choose a library folder or a sub-folder (None: all photos)."""
        for item in self._items():
            if (path is None and item is self._all) or (path is not None and item.data(0, PATH_ROLE) == path):
                parent = item.parent()
                while parent is not None:
                    parent.setExpanded(True)
                    parent = parent.parent()
                self.list.setCurrentItem(item)
                return

    # -- internals --------------------------------------------------------------------------

    def _items(self) -> list[QTreeWidgetItem]:
        out, stack = [], [self.list.topLevelItem(i) for i in range(self.list.topLevelItemCount())]
        while stack:
            item = stack.pop(0)
            out.append(item)
            stack.extend(item.child(i) for i in range(item.childCount()))
        return out

    def _is_library_folder(self, item: Optional[QTreeWidgetItem]) -> bool:
        return item is not None and item is not self._all and item.parent() is None

    def _render(self, item: QTreeWidgetItem, info: "FolderInfo") -> None:
        item.setText(0, f"{Path(info.path).name or info.path}\n{describe(info, self._states.get(info.path, ''))}")

    def _selection_changed(self, current: Optional[QTreeWidgetItem], _previous: Optional[QTreeWidgetItem]) -> None:
        folder = None if current is None or current is self._all else current.data(0, PATH_ROLE)
        self.remove_button.setEnabled(self._is_library_folder(current))
        self.folder_selected.emit(folder)

    def _remove_clicked(self) -> None:
        item = self.list.currentItem()
        if self._is_library_folder(item):
            self.remove_requested.emit(item.data(0, PATH_ROLE))
