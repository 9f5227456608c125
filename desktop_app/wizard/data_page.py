"""The wizard's Data page: which folders and tag sources to learn from, and what they hold."""

from __future__ import annotations

import html
from functools import partial
from pathlib import Path
from typing import Optional

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
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
        # Library folders and their sub-folders: a ticked folder brings every photo below it.
        self.folders = QTreeWidget()
        self.folders.setHeaderHidden(True)
        self.folders.setMaximumHeight(150)
        self.folders.itemChanged.connect(lambda _item, _column: self.refresh())
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
        if self.folders.topLevelItemCount() == 0:
            self.plan.runner.run_in_background(ops.load_overview, lane=READ, on_success=self._folders_loaded)

    def _folders_loaded(self, overview: ops.Overview) -> None:
        self.folders.blockSignals(True)
        for folder in overview.folders:
            item = self._folder_item(f"{folder.path}  ({folder.photos:,} photos)", folder.path)
            item.setToolTip(0, f"{folder.path}\n{folder.photos:,} photos; tick or untick its sub-folders to narrow")
            self.folders.addTopLevelItem(item)
            nodes = {folder.path: item}
            for path, count in overview.subfolders.get(folder.path, []):  # sorted: a parent comes before its children
                child = self._folder_item(f"{Path(path).name}  ({count:,})", path)
                child.setToolTip(0, f"{path}\n{count:,} photo{'s' if count != 1 else ''} here and below")
                nodes.get(str(Path(path).parent), item).addChild(child)
                nodes[path] = child
        self.folders.blockSignals(False)
        self.refresh()

    @staticmethod
    def _folder_item(text: str, path: str) -> QTreeWidgetItem:
        item = QTreeWidgetItem([text])
        item.setData(0, Qt.ItemDataRole.UserRole, path)
        # a parent's box follows its sub-folders' (ticked, unticked or partly) and ticks them all
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsAutoTristate)
        item.setCheckState(0, Qt.CheckState.Checked)
        return item

    def folder_item(self, path: str) -> Optional[QTreeWidgetItem]:
        """The row of a library folder or sub-folder."""
        found = self.folders.findItems("*", Qt.MatchFlag.MatchWildcard | Qt.MatchFlag.MatchRecursive)
        return next((item for item in found if item.data(0, Qt.ItemDataRole.UserRole) == path), None)

    def chosen_folders(self) -> list[str]:
        """The highest ticked folders: a fully ticked folder stands for all below it; a partly ticked one for its ticked sub-folders."""
        chosen, todo = [], [self.folders.topLevelItem(i) for i in range(self.folders.topLevelItemCount())]
        while todo:
            item = todo.pop(0)
            state = item.checkState(0)
            if state == Qt.CheckState.Checked:
                chosen.append(item.data(0, Qt.ItemDataRole.UserRole))
            elif state == Qt.CheckState.PartiallyChecked:
                todo.extend(item.child(i) for i in range(item.childCount()))
        return chosen

    def choice(self) -> wops.DataChoice:
        chosen = self.chosen_folders()
        tops = {self.folders.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole) for i in range(self.folders.topLevelItemCount())}
        # Every library folder ticked: no filter (also covers photos of folders added meanwhile).
        folders = [] if set(chosen) == tops else chosen
        return wops.DataChoice(folders=folders, sources=[s for s, box in self.sources.items() if box.isChecked()])

    def refresh(self) -> None:
        self.plan.data_overview = None
        self.completeChanged.emit()
        self._timer.start()

    def _count(self) -> None:
        choice = self.choice()
        if self.folders.topLevelItemCount() and not self.chosen_folders():
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
