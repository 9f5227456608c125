"""The wizard's Evaluate page: before/after scores on held-out photos, a PR curve and example queries."""

from __future__ import annotations

import html
import math
from functools import partial
from pathlib import Path
from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWizardPage,
)


from ..jobs import IO
from . import operations as wops
from .charts import LineChart
from .page_text import rich_label
from .plan import TrainingPlan


class EvaluatePage(QWizardPage):
    """Before/after retrieval quality on held-out tagged photos, a PR curve and example queries."""

    ROWS = (
        ("image_map", "Photo → photo mAP"),
        ("image_p10", "Photo → photo precision@10"),
        ("text_map", "Tag → photo mAP"),
        ("other_words_map", "Other words → photo"),
    )

    def __init__(self, plan: TrainingPlan) -> None:
        super().__init__()
        self.plan = plan
        self.setTitle("Evaluate: did search get better?")
        self.setSubTitle("Scores on tagged photos that training held out (never seen while training).")
        self.evaluation = None
        self.failed = ""
        self.table = QTableWidget(len(self.ROWS), 3)
        self.table.setHorizontalHeaderLabels(["Before", "After", "Change"])
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setVerticalHeaderLabels([label for _, label in self.ROWS])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeaderItem(len(self.ROWS) - 1).setToolTip(
            "Common words that are none of your tags: how closely search still follows CLIP's own ranking for them"
        )
        self.table.setMaximumHeight(160)
        self.pr_chart = LineChart("Precision–recall (photo → photo)", "recall", "precision")
        self.pr_chart.x_range = (0.0, 1.0)
        self.pr_chart.y_range = (0.0, 1.0)
        self.pr_chart.empty_text = "Evaluating…"
        self.examples = QTableWidget(0, 3)
        self.examples.setHorizontalHeaderLabels(["Your tag as a query", "Before: first results", "After: first results"])
        self.examples.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.examples.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.examples.setWordWrap(False)
        self.examples.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.examples.verticalHeader().setVisible(False)
        self.note = rich_label("")
        left = QVBoxLayout()
        left.addWidget(self.table)
        left.addWidget(self.examples, 1)
        top = QHBoxLayout()
        top.addLayout(left, 3)
        top.addWidget(self.pr_chart, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(top, 1)
        layout.addWidget(self.note)
        self._evaluated_for: Optional[int] = None

    def initializePage(self) -> None:
        session = self.plan.session
        if session is None or session.model_id is None or self._evaluated_for == session.model_id:
            return
        self._evaluated_for = session.model_id
        self.evaluation, self.failed = None, ""
        self.pr_chart.clear()
        self.note.setText("Scoring the old and the new model on the held-out photos…")
        self.completeChanged.emit()
        job = partial(wops.evaluate, model_id=session.model_id, previous_id=session.previous_id, choice=session.request.choice)
        self.plan.runner.run_in_background(job, lane=IO, label="Evaluating the new model", on_success=self._show, on_failure=self._failed)

    def _failed(self, error: BaseException) -> None:
        self.failed = str(error)
        self.note.setText(f"<b>The evaluation did not work:</b> {html.escape(str(error))}. You can still activate the model.")
        self.completeChanged.emit()

    def _show(self, evaluation) -> None:
        self.evaluation = evaluation
        session = self.plan.session
        after = evaluation.by_id(session.model_id)
        before = evaluation.by_id(session.previous_id) if session.previous_id is not None else None
        self.table.setHorizontalHeaderLabels(["Before (current model)", "After (new model)", "Change"])
        self.table.horizontalHeaderItem(0).setToolTip(before.name if before else "no model")
        self.table.horizontalHeaderItem(1).setToolTip(after.name)
        for row, (key, _label) in enumerate(self.ROWS):
            new = getattr(after, key)
            old = getattr(before, key) if before else None
            cells = ("—" if old is None else f"{old:.3f}", f"{new:.3f}", "—" if old is None else f"{new - old:+.3f}")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                if column == 2 and old is not None:
                    item.setForeground(Qt.GlobalColor.darkGreen if new > old else Qt.GlobalColor.darkRed if new < old else Qt.GlobalColor.gray)
                self.table.setItem(row, column, item)
        self.pr_chart.clear()
        for scores, color, name in ((before, "#7f7f7f", "before"), (after, "#1f77b4", "after")):
            if scores is not None:
                points = [(r, p) for r, p in zip(scores.recall, scores.precision) if not math.isnan(p)]
                self.pr_chart.set_points(f"{name} ({scores.bits} bits)", points, color=color, dashed=name == "before")
        self.examples.setRowCount(len(evaluation.examples))
        for row, example in enumerate(evaluation.examples):
            self.examples.setItem(row, 0, QTableWidgetItem(example["tag"]))
            for column, model_id in ((1, session.previous_id), (2, session.model_id)):
                results = example["results"].get(model_id, [])
                text = "\n".join(f"{'✓' if hit else '✗'} {Path(path).name}" for path, hit in results) or "—"
                self.examples.setItem(row, column, QTableWidgetItem(text))
        self.examples.resizeRowsToContents()
        self.note.setText(
            f"Before: {html.escape(before.name) if before else 'no model'}. After: {html.escape(after.name)}.<br>"
            f"{evaluation.held_out:,} held-out photos queried {evaluation.database:,} training photos; {evaluation.tag_queries:,} of your tags "
            "ranked the held-out photos. ✓ = the photo carries the tag. Tags are your own labels, so these numbers say how well search agrees with them; "
            "<i>other words</i> are 50 common words that are none of your tags, scored by how closely search follows CLIP's own ranking for them."
            + (f"<br><b>{verdict(before, after)}</b>" if before is not None else "")
        )
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self.evaluation is not None or bool(self.failed)


def verdict(before, after, margin: float = 0.01) -> str:
    """One plain sentence: what the new model does for the user's tags and for other words."""

    def change(key: str) -> str:
        delta = getattr(after, key) - getattr(before, key)
        return "better" if delta > margin else "worse" if delta < -margin else "about the same"

    tags, words = change("text_map"), change("other_words_map")
    return f"The new model is {tags} for your tags and {words} for other words."
