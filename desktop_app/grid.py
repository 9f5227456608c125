"""The thumbnail grid: a list view in icon mode and a delegate that paints cached thumbnails."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QContextMenuEvent, QFontMetrics, QKeyEvent, QPainter, QPalette
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from .results_model import Roles

PADDING = 6
MIN_GAP = 6  # least space between two results


class ThumbnailDelegate(QStyledItemDelegate):
    """Paints one result: thumbnail (or a placeholder), file name and distance badge."""

    def __init__(self, size: int, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.size = size

    def cell_size(self, font) -> QSize:
        """The fixed size of one result: thumbnail, padding and a line of text."""
        return QSize(self.size + 2 * PADDING, self.size + 2 * PADDING + QFontMetrics(font).height() + 2)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        # Fixed, so the view lays out thousands of items without asking each one.
        return self.cell_size(option.font)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        painter.save()
        style = option.widget.style() if option.widget else None
        if style is not None:  # selection and hover background, in the platform's look
            style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, option.widget)
        cell = option.rect
        square = QRect(cell.x() + PADDING, cell.y() + PADDING, self.size, self.size)
        pixmap = index.data(Roles.THUMBNAIL)
        palette: QPalette = option.palette
        picture = square  # where the picture is drawn: the badge sits on its corner, not the cell's
        if pixmap is not None and not pixmap.isNull():
            scaled = (
                pixmap
                if max(pixmap.width(), pixmap.height()) <= self.size
                else pixmap.scaled(self.size, self.size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
            )
            x = square.x() + (self.size - scaled.width()) // 2
            y = square.y() + (self.size - scaled.height()) // 2
            painter.drawPixmap(x, y, scaled)
            picture = QRect(x, y, scaled.width(), scaled.height())
        else:
            painter.fillRect(square.adjusted(8, 8, -8, -8), palette.color(QPalette.ColorRole.AlternateBase))
            if index.data(Roles.FAILED):
                painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
                painter.drawText(square, Qt.AlignmentFlag.AlignCenter, "cannot read\nthis file")
        distance = index.data(Roles.DISTANCE)
        if distance is not None:
            self._badge(painter, picture.topLeft() + QPoint(4, 4), str(distance), option)
        text_rect = QRect(cell.x() + PADDING, square.bottom() + 2, self.size, cell.bottom() - square.bottom() - 2)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.setPen(palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text))
        name = QFontMetrics(option.font).elidedText(index.data(Qt.ItemDataRole.DisplayRole) or "", Qt.TextElideMode.ElideMiddle, self.size)
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, name)
        painter.restore()

    @staticmethod
    def _badge(painter: QPainter, at: QPoint, text: str, option: QStyleOptionViewItem) -> None:
        """A small dark pill with the Hamming distance, readable on any photo."""
        metrics = QFontMetrics(option.font)
        rect = QRect(at, QSize(metrics.horizontalAdvance(text) + 10, metrics.height() + 2))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 170))
        painter.drawRoundedRect(rect, rect.height() / 2, rect.height() / 2)
        painter.setPen(QColor("white"))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)


class ResultsGrid(QListView):
    """A wrapping grid of results that opens on Enter, toggles the preview on Space."""

    open_requested = Signal(str)
    preview_toggle_requested = Signal()
    context_menu_requested = Signal(str, QPoint)  # path, global position

    def __init__(self, thumbnail_size: int, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)  # Ctrl/Shift-click: tag several at once
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setDragEnabled(False)
        self.setAcceptDrops(False)  # drops go to the window: folders are added, photos searched
        self.delegate = ThumbnailDelegate(thumbnail_size, self)
        self.setItemDelegate(self.delegate)
        self.doubleClicked.connect(self._open_index)

    def set_thumbnail_size(self, size: int) -> None:
        self.delegate.size = size
        self._fit_columns()
        self.scheduleDelayedItemsLayout()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_columns()

    def _fit_columns(self) -> None:
        """Spread the columns over the whole width instead of leaving a strip on the right."""
        cell = self.delegate.cell_size(self.font())
        width = max(1, self.viewport().width() - 1)
        columns = max(1, width // (cell.width() + MIN_GAP))
        grid = QSize(width // columns, cell.height() + MIN_GAP)
        if grid != self.gridSize():
            self.setGridSize(grid)

    def selected_paths(self) -> list[str]:
        """The selected photos in grid order."""
        rows = sorted(index.row() for index in self.selectionModel().selectedIndexes())
        return [self.model().index(row).data(Roles.PATH) for row in rows]

    def current_path(self) -> Optional[str]:
        index = self.currentIndex()
        return index.data(Roles.PATH) if index.isValid() else None

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self._open_index(self.currentIndex())
            return
        if event.key() == Qt.Key.Key_Space and not event.modifiers():
            self.preview_toggle_requested.emit()
            return
        super().keyPressEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        index = self.indexAt(event.pos())
        if not index.isValid():
            return
        self.setCurrentIndex(index)
        self.context_menu_requested.emit(index.data(Roles.PATH), event.globalPos())

    def _open_index(self, index: QModelIndex) -> None:
        path = index.data(Roles.PATH)
        if path:
            self.open_requested.emit(path)
