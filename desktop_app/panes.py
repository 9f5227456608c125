"""The window's three panes side by side: folders, the grid, the preview."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QWidget

SIDEBAR_WIDTH, PREVIEW_WIDTH = 240, 320  # the side panes' widths in a roomy window


class PaneSplitter(QSplitter):
    """Sidebar, centre and preview; the centre (the grid) never collapses."""

    def __init__(self, sidebar: QWidget, centre: QWidget, preview: QWidget, parent: Optional[QWidget] = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.sidebar, self.preview = sidebar, preview
        for pane in (sidebar, centre, preview):
            self.addWidget(pane)
        self.setStretchFactor(1, 1)
        self.setSizes([SIDEBAR_WIDTH, 680, PREVIEW_WIDTH])
        self.setCollapsible(1, False)

    def fit(self) -> None:
        """In a narrow window the side panes give up width first, so the grid keeps at least half;
        in a wide one they get back up to their usual widths."""
        sizes = self.sizes()
        total = sum(sizes)
        if len(sizes) != 3 or total <= 0:
            return
        sidebar = min(SIDEBAR_WIDTH, max(self.sidebar.minimumSizeHint().width(), total * 22 // 100))
        preview = min(PREVIEW_WIDTH, max(self.preview.minimumSizeHint().width(), total * 28 // 100)) if sizes[2] else 0
        narrow = sizes[1] < total // 2
        roomy = sizes[0] < sidebar or (sizes[2] and sizes[2] < preview)
        if narrow or roomy:
            self.setSizes([sidebar, total - sidebar - preview, preview])
