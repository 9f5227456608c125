"""The result grid's model: the ranked ids and paths, rows exposed and thumbnails fetched lazily."""

from __future__ import annotations

import os
from enum import IntEnum
from typing import Any, Optional

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from .operations import Query, ResultPage
from .thumbnails import ThumbnailCache

Index = QModelIndex | QPersistentModelIndex


class Roles(IntEnum):
    """Custom data roles of a result row."""

    PATH = Qt.ItemDataRole.UserRole + 1
    IMAGE_ID = Qt.ItemDataRole.UserRole + 2
    DISTANCE = Qt.ItemDataRole.UserRole + 3
    THUMBNAIL = Qt.ItemDataRole.UserRole + 4
    FAILED = Qt.ItemDataRole.UserRole + 5


class ResultsModel(QAbstractListModel):
    """Holds a result page's ids; rows appear a batch at a time as the view scrolls."""

    BATCH = 240  # rows added per fetchMore: a few screens of thumbnails

    def __init__(self, thumbnails: ThumbnailCache, parent=None) -> None:
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.page = ResultPage(query=Query())
        self._shown = 0
        self._rows: dict[str, int] = {}
        thumbnails.ready.connect(self._thumbnail_ready)

    # -- filling ----------------------------------------------------------------------

    def set_page(self, page: ResultPage) -> None:
        """Show a new page; a listing that only grew (indexing) keeps the rows already shown."""
        old = self.page
        grew = (
            page.distances is None
            and old.distances is None
            and page.query == old.query
            and len(page.ids) >= len(old.ids)
            and page.ids[: len(old.ids)] == old.ids
        )
        if grew:
            self._append(page)
            return
        self.beginResetModel()
        self.page = page
        self._rows = {path: row for row, path in enumerate(page.paths)}
        self._shown = min(self.BATCH, len(page.ids))
        self.thumbnails.forget_pending()
        self.endResetModel()

    def _append(self, page: ResultPage) -> None:
        all_shown = self._shown == len(self.page.ids)
        self.page = page
        self._rows = {path: row for row, path in enumerate(page.paths)}
        if all_shown:
            target = min(len(page.ids), max(self._shown, self.BATCH))
            if target > self._shown:
                self.beginInsertRows(QModelIndex(), self._shown, target - 1)
                self._shown = target
                self.endInsertRows()

    def clear(self, query: Optional[Query] = None) -> None:
        self.set_page(ResultPage(query=query or Query()))

    @property
    def total(self) -> int:
        """Rows in the page (not only those exposed to the view so far)."""
        return len(self.page.ids)

    # -- Qt model API --------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else self._shown

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:
        return not parent.isValid() and self._shown < len(self.page.ids)

    def fetchMore(self, parent: Index = QModelIndex()) -> None:
        if parent.isValid():
            return
        target = min(len(self.page.ids), self._shown + self.BATCH)
        if target > self._shown:
            self.beginInsertRows(QModelIndex(), self._shown, target - 1)
            self._shown = target
            self.endInsertRows()

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < self._shown:
            return None
        row = index.row()
        path = self.page.paths[row]
        if role == Qt.ItemDataRole.DisplayRole:
            return os.path.basename(path)
        if role == Roles.PATH:
            return path
        if role == Roles.IMAGE_ID:
            return self.page.ids[row]
        if role == Roles.DISTANCE:
            return None if self.page.distances is None else self.page.distances[row]
        if role in (Roles.THUMBNAIL, Qt.ItemDataRole.DecorationRole):
            return self.thumbnails.get(path)  # asks for it in the background when missing
        if role == Roles.FAILED:
            return self.thumbnails.failed(path)
        if role == Qt.ItemDataRole.ToolTipRole:
            distance = self.data(index, Roles.DISTANCE)
            return path if distance is None else f"{path}\nHamming distance {distance} of {self.page.bits} bits"
        return None

    # -- helpers ---------------------------------------------------------------------------

    def path_at(self, row: int) -> Optional[str]:
        return self.page.paths[row] if 0 <= row < self._shown else None

    def row_of(self, path: str) -> Optional[int]:
        row = self._rows.get(path)
        return row if row is not None and row < self._shown else None

    def _thumbnail_ready(self, path: str) -> None:
        row = self.row_of(path)
        if row is not None:
            index = self.index(row)
            self.dataChanged.emit(index, index, [Roles.THUMBNAIL, Qt.ItemDataRole.DecorationRole])
