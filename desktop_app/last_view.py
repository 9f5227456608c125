"""The view the user left the app with (window size, folder, words), stored at close and shown again at start."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QWidget

from . import settings as s

if TYPE_CHECKING:
    from .operations import Overview
    from .search_bar import SearchBar
    from .sidebar import FolderSidebar


def restore_last_view(settings: s.Settings, search: "SearchBar", sidebar: "FolderSidebar", overview: "Overview") -> None:
    """The folder and the words the user left the app with (a query given on the command line wins)."""
    query = settings.get(s.LAST_QUERY)
    if query and not search.text() and not search.image():
        search.field.blockSignals(True)  # one query below, not one per restored piece
        search.field.setText(query)
        search.field.blockSignals(False)
    folder = settings.get(s.LAST_FOLDER)
    known = {f.path for f in overview.folders} | {path for subs in overview.subfolders.values() for path, _n in subs}
    if folder and folder in known:
        sidebar.list.blockSignals(True)
        sidebar.select_folder(folder)
        sidebar.list.blockSignals(False)
        sidebar.remove_button.setEnabled(folder in {f.path for f in overview.folders})


def save_last_view(settings: s.Settings, window: QWidget, search: "SearchBar", sidebar: "FolderSidebar") -> None:
    settings.set(s.WINDOW_GEOMETRY, bytes(window.saveGeometry().toBase64()).decode("ascii"))
    settings.set(s.LAST_FOLDER, sidebar.selected_folder() or "")
    settings.set(s.LAST_QUERY, search.text())
