"""Two small charts drawn with QPainter (PySide6-Essentials has no QtCharts).

`LineChart`: one or more series of (x, y) points with axes, ticks and a legend (the
loss curve, validation mAP per epoch, PR curves). `BarChart`: labelled horizontal
bars (the most frequent tags).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd")


@dataclass
class Series:
    name: str
    color: str
    points: list[tuple[float, float]] = field(default_factory=list)
    markers: bool = False
    dashed: bool = False


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (1, 2 or 5 times a power of ten apart)."""
    if not math.isfinite(low) or not math.isfinite(high):
        return []
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    start = math.floor(low / step) * step
    ticks, value = [], start
    while value <= high + step * 1e-6:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _label(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.0f}"
    return f"{value:.3g}"


def _draw_title(painter: QPainter, widget: QWidget, title: str, line: int) -> None:
    """A chart's title in bold, centred along its top edge."""
    bold = painter.font()
    bold.setBold(True)
    painter.setFont(bold)
    painter.drawText(QRectF(0, 2, widget.width(), line + 4), Qt.AlignmentFlag.AlignHCenter, title)
    painter.setFont(widget.font())


class LineChart(QWidget):
    """Series of points on linear axes; the axes grow to fit the data as it arrives."""

    def __init__(self, title: str = "", x_label: str = "", y_label: str = "", parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.title = title
        self.x_label = x_label
        self.y_label = y_label
        self.series: dict[str, Series] = {}
        self.x_range: Optional[tuple[float, float]] = None  # fixed ranges, else fitted to the data
        self.y_range: Optional[tuple[float, float]] = None
        self.empty_text = "No data yet"
        self.setMinimumSize(260, 170)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(420, 240)

    def add_series(self, name: str, color: Optional[str] = None, markers: bool = False, dashed: bool = False) -> Series:
        series = self.series.get(name)
        if series is None:
            series = self.series[name] = Series(name, color or PALETTE[len(self.series) % len(PALETTE)], markers=markers, dashed=dashed)
        return series

    def append(self, name: str, x: float, y: float) -> None:
        if math.isfinite(x) and math.isfinite(y):
            self.add_series(name).points.append((float(x), float(y)))
            self.update()

    def set_points(self, name: str, points: list[tuple[float, float]], **style) -> None:
        series = self.add_series(name, **style)
        series.points = [(float(x), float(y)) for x, y in points if math.isfinite(x) and math.isfinite(y)]
        self.update()

    def clear(self) -> None:
        self.series.clear()
        self.update()

    def points(self, name: str) -> list[tuple[float, float]]:
        return list(self.series[name].points) if name in self.series else []

    def _ranges(self) -> Optional[tuple[float, float, float, float]]:
        everything = [p for s in self.series.values() for p in s.points]
        if not everything:
            return None
        xs, ys = [p[0] for p in everything], [p[1] for p in everything]
        x0, x1 = self.x_range or (min(xs), max(xs))
        y0, y1 = self.y_range or (min(ys), max(ys))
        if x1 <= x0:
            x1 = x0 + 1
        if y1 <= y0:
            pad = abs(y0) * 0.1 or 1.0
            y0, y1 = y0 - pad, y1 + pad
        if self.y_range is None:
            ticks = nice_ticks(y0, y1)
            y0, y1 = min(ticks[0], y0), max(ticks[-1], y1)
        return x0, x1, y0, y1

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.base())
        text_color = palette.text().color()
        faint = QColor(text_color)
        faint.setAlpha(45)
        metrics = QFontMetrics(self.font())
        line = metrics.height()
        top = line + 8 if self.title else 8
        legend_height = line + 4 if len(self.series) > 1 else 0
        plot = QRectF(metrics.horizontalAdvance("0.000") + 14, top, 0, 0)
        plot.setRight(self.width() - 12)
        plot.setBottom(self.height() - (2 * line + 8) - legend_height)
        painter.setPen(text_color)
        if self.title:
            _draw_title(painter, self, self.title, line)
        ranges = self._ranges()
        painter.setPen(QPen(text_color, 1))
        painter.drawLine(plot.bottomLeft(), plot.bottomRight())
        painter.drawLine(plot.bottomLeft(), plot.topLeft())
        if self.x_label:
            painter.drawText(QRectF(plot.left(), plot.bottom() + line + 2, plot.width(), line + 4), Qt.AlignmentFlag.AlignHCenter, self.x_label)
        if self.y_label:
            painter.save()
            painter.translate(2, plot.center().y())
            painter.rotate(-90)
            painter.drawText(QRectF(-plot.height() / 2, 0, plot.height(), line), Qt.AlignmentFlag.AlignHCenter, self.y_label)
            painter.restore()
        if ranges is None:
            painter.drawText(plot, Qt.AlignmentFlag.AlignCenter, self.empty_text)
            painter.end()
            return
        x0, x1, y0, y1 = ranges

        def to_screen(x: float, y: float) -> QPointF:
            return QPointF(plot.left() + (x - x0) / (x1 - x0) * plot.width(), plot.bottom() - (y - y0) / (y1 - y0) * plot.height())

        for tick in nice_ticks(y0, y1):
            if y0 - 1e-9 <= tick <= y1 + 1e-9:
                at = to_screen(x0, tick)
                painter.setPen(QPen(faint, 1))
                painter.drawLine(QPointF(plot.left(), at.y()), QPointF(plot.right(), at.y()))
                painter.setPen(text_color)
                painter.drawText(QRectF(0, at.y() - line / 2, plot.left() - 4, line), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, _label(tick))
        for tick in nice_ticks(x0, x1, 6):
            if x0 - 1e-9 <= tick <= x1 + 1e-9:
                at = to_screen(tick, y0)
                painter.setPen(QPen(text_color, 1))
                painter.drawLine(at, at + QPointF(0, 3))
                painter.drawText(QRectF(at.x() - 30, plot.bottom() + 3, 60, line), Qt.AlignmentFlag.AlignHCenter, _label(tick))
        painter.save()
        painter.setClipRect(plot.adjusted(-3, -3, 3, 3))
        for series in self.series.values():
            if not series.points:
                continue
            pen = QPen(QColor(series.color), 2)
            if series.dashed:
                pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            path = QPainterPath(to_screen(*series.points[0]))
            for point in series.points[1:]:
                path.lineTo(to_screen(*point))
            painter.drawPath(path)
            if series.markers or len(series.points) == 1:
                painter.setBrush(QColor(series.color))
                for point in series.points:
                    painter.drawEllipse(to_screen(*point), 3, 3)
                painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.restore()
        if len(self.series) > 1:
            x = plot.left()
            y = self.height() - legend_height
            for series in self.series.values():
                painter.setPen(QPen(QColor(series.color), 3))
                painter.drawLine(QPointF(x, y + line / 2), QPointF(x + 18, y + line / 2))
                painter.setPen(text_color)
                painter.drawText(QPointF(x + 22, y + metrics.ascent()), series.name)
                x += 34 + metrics.horizontalAdvance(series.name)
        painter.end()


class BarChart(QWidget):
    """Labelled horizontal bars, longest first (tag → number of photos)."""

    def __init__(self, title: str = "", parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.title = title
        self.bars: list[tuple[str, int]] = []
        self.highlight: set[str] = set()  # bars drawn in a warning colour
        self.empty_text = "No tags"
        self.setMinimumSize(240, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(380, 260)

    def set_bars(self, bars: list[tuple[str, int]], highlight: Optional[set[str]] = None) -> None:
        self.bars = list(bars)
        self.highlight = set(highlight or ())
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.base())
        text_color = palette.text().color()
        metrics = QFontMetrics(self.font())
        line = metrics.height()
        top = 6
        painter.setPen(text_color)
        if self.title:
            _draw_title(painter, self, self.title, line)
            top = line + 10
        if not self.bars:
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.empty_text)
            painter.end()
            return
        label_width = min(self.width() // 3, max(metrics.horizontalAdvance(name) for name, _ in self.bars) + 8)
        count_width = metrics.horizontalAdvance(f"{max(n for _, n in self.bars):,}") + 8
        row = max(line + 2, min(2 * line, (self.height() - top - 4) / len(self.bars)))
        longest = max(n for _, n in self.bars) or 1
        span = self.width() - label_width - count_width - 12
        for i, (name, count) in enumerate(self.bars):
            y = top + i * row
            if y + row > self.height() + 1:
                break
            elided = metrics.elidedText(name, Qt.TextElideMode.ElideRight, label_width - 6)
            painter.setPen(text_color)
            painter.drawText(QRectF(4, y, label_width - 6, row), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, elided)
            width = max(2.0, span * count / longest)
            color = QColor("#d62728" if name in self.highlight else PALETTE[0])
            painter.fillRect(QRectF(label_width + 2, y + row * 0.18, width, row * 0.64), color)
            painter.drawText(QRectF(label_width + 6 + width, y, count_width, row), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, f"{count:,}")
        painter.end()
