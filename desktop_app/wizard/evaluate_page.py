"""The wizard's Evaluate page: before/after scores on held-out photos, a verdict, a PR curve and example queries."""

from __future__ import annotations

import html
import math
from functools import partial
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QEvent, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from ..jobs import IO
from . import operations as wops
from .charts import LineChart
from .page_text import rich_label
from .plan import TrainingPlan

THUMB = 48  # side of an example's thumbnail on screen (logical pixels)
# What the verdict weighs, in the words it uses: the user's tags, photo queries, everything else.
ASPECTS = (("text_map", "your tags"), ("image_map", "searching by a photo"), ("other_words_map", "other words"))


def _dark(widget: QWidget) -> bool:
    return widget.palette().color(QPalette.ColorRole.Base).lightness() < 128


def change_color(widget: QWidget, delta: float, margin: float = 0.01) -> QColor:
    """Green for better, red for worse, grey for about the same, readable on the widget's palette."""
    dark = _dark(widget)
    if delta > margin:
        return QColor("#7bd88f" if dark else "#1b7a33")
    if delta < -margin:
        return QColor("#ff8a80" if dark else "#b3261e")
    return QColor("#9e9e9e" if dark else "#6b6b6b")


def fit_table(table: QTableWidget) -> None:
    """Size a small table to its rows and columns: no empty strip under the rows, no clipped header."""
    table.resizeRowsToContents()
    header, rows = table.horizontalHeader(), table.verticalHeader()
    frame = 2 * table.frameWidth()
    top = 0 if header.isHidden() else header.sizeHint().height()
    table.setFixedHeight(top + sum(table.rowHeight(r) for r in range(table.rowCount())) + frame)
    columns = sum(max(table.sizeHintForColumn(c), header.sectionSizeHint(c)) for c in range(table.columnCount()))
    table.setMinimumWidth((0 if rows.isHidden() else rows.sizeHint().width()) + columns + frame)


def example_pixmap(image: Optional[QImage], hit: bool, widget: QWidget) -> QPixmap:
    """A result's thumbnail (or a blank tile) with ✓ (carries the tag) or ✗ in a corner badge."""
    ratio = widget.devicePixelRatioF()
    pixmap = QPixmap(round(THUMB * ratio), round(THUMB * ratio))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(widget.palette().color(QPalette.ColorRole.Mid))
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    if image is not None and not image.isNull():
        scaled = image.scaled(round(THUMB * ratio), round(THUMB * ratio), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
        scaled.setDevicePixelRatio(ratio)
        w, h = scaled.width() / ratio, scaled.height() / ratio
        painter.drawImage(QRectF((THUMB - w) / 2, (THUMB - h) / 2, w, h), scaled)
    badge = QRectF(THUMB - 17, THUMB - 17, 16, 16)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor("#1b7a33") if hit else QColor("#b3261e"))
    painter.drawEllipse(badge)
    font = QFont(widget.font())
    font.setBold(True)
    font.setPixelSize(11)
    painter.setFont(font)
    painter.setPen(QColor("white"))
    painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, "✓" if hit else "✗")
    painter.end()
    return pixmap


class ExampleResults(QWidget):
    """One model's first results for a tag, as a row of thumbnails; the file names are in the tooltips."""

    def __init__(self, results: list[tuple[str, bool]], images: dict[str, QImage], parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.results = results
        self.labels: list[QLabel] = []
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 2, 4, 2)
        row.setSpacing(4)
        for path, hit in results:
            label = QLabel()
            label.setPixmap(example_pixmap(images.get(path), hit, self))
            name = Path(path).name if path else "a photo no longer in the library"
            label.setToolTip(f"{'✓ carries the tag' if hit else '✗ does not carry the tag'}: {name}")
            label.setAccessibleName(f"{'✓' if hit else '✗'} {name}")
            row.addWidget(label)
            self.labels.append(label)
        if not results:
            row.addWidget(QLabel("—"))
        row.addStretch(1)


class EvaluatePage(QWizardPage):
    """Before/after retrieval quality on held-out tagged photos, a verdict, a PR curve and example queries."""

    ROWS = (
        ("image_map", "Photo → photo mAP"),
        ("image_p10", "Photo → photo precision@10"),
        ("text_map", "Tag → photo mAP"),
        ("other_words_map", "Other words → photo"),
    )
    HEADERS = ("Before", "After", "Change")

    def __init__(self, plan: TrainingPlan) -> None:
        super().__init__()
        self.plan = plan
        self.setTitle("Evaluate: did search get better?")
        self.setSubTitle("Scores on tagged photos that training held out (never seen while training). mAP: 0 to 1, higher is better.")
        self.evaluation = None
        self.thumbnails: dict[str, QImage] = {}
        self.failed = ""
        self.models = rich_label("")  # which model is "before" and which "after"
        self.verdict = rich_label("")
        self.table = QTableWidget(len(self.ROWS), len(self.HEADERS))
        self.table.setHorizontalHeaderLabels(list(self.HEADERS))
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setVerticalHeaderLabels([label for _, label in self.ROWS])
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setSizeAdjustPolicy(QAbstractScrollArea.SizeAdjustPolicy.AdjustToContents)
        self.table.verticalHeaderItem(len(self.ROWS) - 1).setToolTip(
            "Common words that are none of your tags: how closely search still follows CLIP's own ranking for them"
        )
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self._fill_scores(None, None)
        self.pr_chart = LineChart("Precision–recall (photo → photo)", "recall", "precision")
        self.pr_chart.x_range = (0.0, 1.0)
        self.pr_chart.y_range = (0.0, 1.0)
        self.pr_chart.empty_text = "Evaluating…"
        self.pr_chart.setMinimumHeight(150)
        self.examples = QTableWidget(0, 3)
        self.examples.setHorizontalHeaderLabels(["Your tag as a query", "Before: first results", "After: first results"])
        header = self.examples.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.examples.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.examples.setWordWrap(False)
        self.examples.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.examples.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.examples.verticalHeader().setVisible(False)
        self.examples.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.examples.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.examples.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        fit_table(self.examples)
        self.note = rich_label("")
        scores = QVBoxLayout()
        scores.addWidget(self.models)
        scores.addWidget(self.table)
        scores.addWidget(self.verdict)
        scores.addStretch(1)
        top = QHBoxLayout()
        top.addLayout(scores, 0)
        top.addWidget(self.pr_chart, 1)
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top, 1)
        layout.addWidget(self.examples)
        layout.addWidget(self.note)
        # On a small screen the page scrolls rather than squeezing its tables over each other.
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroll)
        self._evaluated_for: Optional[int] = None
        self._shown: Optional[wops.EvaluationShown] = None

    def initializePage(self) -> None:
        session = self.plan.session
        if session is None or session.model_id is None or self._evaluated_for == session.model_id:
            return
        self._evaluated_for = session.model_id
        self.evaluation, self.failed, self._shown = None, "", None
        self.plan.verdict = ""
        self.pr_chart.clear()
        self.note.setText("Scoring the old and the new model on the held-out photos…")
        self.completeChanged.emit()
        job = partial(wops.evaluate, model_id=session.model_id, previous_id=session.previous_id, choice=session.request.choice, thumbnail_side=2 * THUMB)
        self.plan.runner.run_in_background(job, lane=IO, label="Evaluating the new model", on_success=self._show, on_failure=self._failed)

    def _failed(self, error: BaseException) -> None:
        self.failed = str(error)
        self.note.setText(f"<b>The evaluation did not work:</b> {html.escape(str(error))}. You can still activate the model.")
        self.completeChanged.emit()

    def _fill_scores(self, before, after) -> None:
        for row, (key, _label) in enumerate(self.ROWS):
            new = getattr(after, key) if after else None
            old = getattr(before, key) if before else None
            cells = ("—" if old is None else f"{old:.3f}", "—" if new is None else f"{new:.3f}", "—" if old is None or new is None else f"{new - old:+.3f}")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                if column == 2 and old is not None and new is not None:
                    item.setForeground(change_color(self.table, new - old))
                self.table.setItem(row, column, item)
        fit_table(self.table)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and self._shown is not None:
            self._show(self._shown)  # the change colours and the badges' tiles follow light and dark

    def _show(self, result: wops.EvaluationShown) -> None:
        self._shown = result
        evaluation = result.evaluation
        self.evaluation, self.thumbnails = evaluation, result.thumbnails
        session = self.plan.session
        after = evaluation.by_id(session.model_id)
        before = evaluation.by_id(session.previous_id) if session.previous_id is not None else None
        self.models.setText(f"<b>Before</b>: the current model, {html.escape(before.name) if before else 'none'}.<br><b>After</b>: {html.escape(after.name)}.")
        self.table.horizontalHeaderItem(0).setToolTip(before.name if before else "no model")
        self.table.horizontalHeaderItem(1).setToolTip(after.name)
        self._fill_scores(before, after)
        self.plan.verdict = verdict(before, after) if before is not None else ""
        self.verdict.setText(f"<b>{html.escape(self.plan.verdict)}</b>" if self.plan.verdict else "")
        self.pr_chart.clear()
        for scores, color, name in ((before, "#7f7f7f", "before"), (after, "#1f77b4", "after")):
            if scores is not None:
                points = [(r, p) for r, p in zip(scores.recall, scores.precision) if not math.isnan(p)]
                self.pr_chart.set_points(f"{name} ({scores.bits} bits)", points, color=color, dashed=name == "before")
        self.examples.setRowCount(len(evaluation.examples))
        for row, example in enumerate(evaluation.examples):
            self.examples.setItem(row, 0, QTableWidgetItem(example["tag"]))
            for column, model_id in ((1, session.previous_id), (2, session.model_id)):
                self.examples.setCellWidget(row, column, ExampleResults(example["results"].get(model_id, []), self.thumbnails))
        fit_table(self.examples)
        self.note.setText(
            f"{evaluation.held_out:,} held-out photos queried {evaluation.database:,} training photos; {evaluation.tag_queries:,} of your tags "
            "ranked the held-out photos (the training chart's last epoch shows the same figures). The scores measure agreement with your own "
            "tags; <i>other words</i> are 50 common words that are none of your tags, scored against CLIP's own ranking. "
            "✓ = the photo carries the tag."
        )
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self.evaluation is not None or bool(self.failed)


def verdict(before, after, margin: float = 0.01) -> str:
    """One plain sentence: what the new model does for the user's tags, for photo queries and for other words.

    "Better" or "Worse" only when every change goes that way (or stays within `margin`);
    a run that helps one and hurts another is "Mixed", and says which is which.
    """
    groups: dict[str, list[str]] = {"better": [], "worse": [], "about the same": []}
    for key, words in ASPECTS:
        delta = getattr(after, key) - getattr(before, key)
        groups["better" if delta > margin else "worse" if delta < -margin else "about the same"].append(words)
    better, worse = bool(groups["better"]), bool(groups["worse"])
    overall = "Mixed" if better and worse else "Better" if better else "Worse" if worse else "About the same"
    parts = [f"{how} for " + " and for ".join(aspects) for how, aspects in groups.items() if aspects]
    said = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"{overall}: the new model is {said}."
