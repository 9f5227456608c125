"""Outlining the lines of text OCR found in a photo, over the preview picture."""

from __future__ import annotations

import html

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap, QPolygonF

BOX_COLOUR = QColor(255, 196, 0)


def draw_text_boxes(pixmap: QPixmap, lines: list[dict]) -> QPixmap:
    """A copy of the picture with each line's box (corners as fractions of width and height) outlined."""
    if pixmap.isNull() or not lines:
        return pixmap
    out = QPixmap(pixmap)
    painter = QPainter(out)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(BOX_COLOUR, max(2.0, out.width() / 300))
        pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
        painter.setPen(pen)
        w, h = out.width() / out.devicePixelRatio(), out.height() / out.devicePixelRatio()
        for line in lines:
            painter.drawPolygon(QPolygonF([QPointF(x * w, y * h) for x, y in line.get("box", [])]))
    finally:
        painter.end()
    return out


def format_text(lines: list[dict]) -> str:
    """The lines read in a photo as rich text, one per line, with the reader's confidence."""
    if not lines:
        return "<i>none found</i>"
    return "<br>".join(f"{html.escape(line['text'])} <span style='color:gray'>({line.get('confidence', 0):.0%})</span>" for line in lines)
