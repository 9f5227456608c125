"""The wizard's Data page: which folders and tag sources to learn from, and what they hold."""

from __future__ import annotations

import html
from functools import partial

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWizardPage,
)


from .. import operations as ops
from ..jobs import READ
from ..preview import SOURCE_NAMES
from . import operations as wops
from .charts import BarChart
from .page_text import rich_label
from .plan import TrainingPlan


class DataPage(QWizardPage):
    """Which folders and which tag sources to learn from, with what they hold."""

    def __init__(self, plan: TrainingPlan) -> None:
        super().__init__()
        self.plan = plan
        self.setTitle("Data: what should search learn from?")
        self.setSubTitle("Pick the folders whose names and keywords describe their photos well, and where tags may come from.")
        self.folders = QListWidget()
        self.folders.setMaximumHeight(110)
        self.folders.itemChanged.connect(lambda _item: self.refresh())
        self.sources: dict[str, QCheckBox] = {}
        sources_box = QGroupBox("Tag sources")
        grid = QGridLayout(sources_box)
        for i, (source, words) in enumerate(SOURCE_NAMES.items()):
            box = QCheckBox("your own tags" if source == "user" else words)
            box.setChecked(True)
            box.toggled.connect(lambda _on: self.refresh())
            self.sources[source] = box
            grid.addWidget(box, i // 3, i % 3)
        self.numbers = rich_label("Counting…")
        self.chart = BarChart("Most frequent tags")
        self.warnings = rich_label()
        self.warnings.setStyleSheet("color: #a15c00;")
        self.warnings.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        left = QVBoxLayout()
        left.addWidget(QLabel("Folders"))
        left.addWidget(self.folders)
        left.addWidget(sources_box)
        left.addWidget(self.numbers)
        left.addWidget(self.warnings, 1)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 1)
        layout.addWidget(self.chart, 1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(150)
        self._timer.timeout.connect(self._count)

    @property
    def overview(self):
        """The counts for the current choice (engine.training.tag_stats.TagOverview); None while counting."""
        return self.plan.data_overview

    def initializePage(self) -> None:
        if self.folders.count() == 0:
            self.plan.runner.run_in_background(ops.load_overview, lane=READ, on_success=self._folders_loaded)

    def _folders_loaded(self, overview: ops.Overview) -> None:
        self.folders.blockSignals(True)
        for folder in overview.folders:
            item = QListWidgetItem(f"{folder.path}  ({folder.photos:,} photos)")
            item.setData(Qt.ItemDataRole.UserRole, folder.path)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.folders.addItem(item)
        self.folders.blockSignals(False)
        self.refresh()

    def choice(self) -> wops.DataChoice:
        items = [self.folders.item(i) for i in range(self.folders.count())]
        chosen = [i.data(Qt.ItemDataRole.UserRole) for i in items if i.checkState() == Qt.CheckState.Checked]
        # All folders ticked: no filter (also covers photos of folders added meanwhile).
        folders = [] if len(chosen) == len(items) else chosen
        return wops.DataChoice(folders=folders, sources=[s for s, box in self.sources.items() if box.isChecked()])

    def refresh(self) -> None:
        self.plan.data_overview = None
        self.completeChanged.emit()
        self._timer.start()

    def _count(self) -> None:
        choice = self.choice()
        if (
            self.folders.count()
            and not choice.folders
            and not any(self.folders.item(i).checkState() == Qt.CheckState.Checked for i in range(self.folders.count()))
        ):
            self._show(None, "Tick at least one folder.")
            return
        self.plan.runner.run_in_background(partial(wops.data_overview, choice=choice), lane=READ, key="wizard-data", on_success=self._show)

    def _show(self, overview, message: str = "") -> None:
        from engine.facade import looks_like_camera, looks_like_date

        self.plan.data_overview = overview
        if overview is None:
            self.numbers.setText(message)
            self.chart.set_bars([])
            self.warnings.setText("")
        else:
            self.numbers.setText(
                f"<b>{overview.photos:,}</b> photos · <b>{overview.tagged_photos:,}</b> with tags · "
                f"<b>{overview.usable_photos:,}</b> with tags training can use · <b>{overview.distinct_tags:,}</b> distinct tags "
                f"({overview.usable_tags:,} usable)"
            )
            odd = {t for t, _ in overview.top_tags if looks_like_date(t) or looks_like_camera(t)}
            self.chart.set_bars(overview.top_tags, highlight=odd)
            self.warnings.setText("<br>".join(f"⚠ {html.escape(w)}" for w in overview.warnings))
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self.overview is not None and self.overview.photos > 0

    def validatePage(self) -> bool:
        self.plan.choice = self.choice()
        return True
