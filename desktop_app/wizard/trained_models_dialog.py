"""Models → Models…: the library's code models (trained or ITQ) with their numbers; activate, rename, delete."""

from __future__ import annotations

import html
import time
from functools import partial
from typing import Callable, Optional

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..jobs import READ, WRITE, JobRunner
from ..preview import human_size
from . import operations as wops

COLUMNS = ("Name", "Kind", "Backbone", "Bits", "Created", "Held-out mAP", "Size", "State")
OLDER_MEASURE = "Measured by an older version (whole tag sets against the training photos): not comparable with Evaluate's figures"


def metric_text(metrics: dict) -> str:
    """ "photo 0.412 · tag 0.254": the held-out figures the training chart's last point and Evaluate's "after" show."""
    parts = []
    if "image_map" in metrics:
        parts.append(f"photo {metrics['image_map']:.3f}")
    if "text_map" in metrics:
        parts.append(f"tag {metrics['text_map']:.3f}")
    if not parts and ("val_image_map" in metrics or "val_text_map" in metrics):  # a model trained before the scores agreed
        return "older measure"
    return " · ".join(parts) or "—"


def model_state(model: dict) -> str:
    """The State cell: active, or made on another backbone (activating it re-indexes the library with that backbone)."""
    if model["active"]:
        return "active"
    return "for another backbone" if model.get("other_backbone") else ""


class TrainedModelsDialog(QDialog):
    """Lists the library's models; the active one cannot be deleted."""

    models_changed = Signal()  # a model was activated, renamed or deleted

    def __init__(self, runner: JobRunner, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.rows: list[dict] = []
        self.busy = False
        # Replaceable in tests: ask for a name / a yes-no without a modal loop.
        self.ask_name: Callable[[str], Optional[str]] = self._ask_name
        self.confirm: Callable[[str, str], bool] = self._confirm
        self.setWindowTitle("Models")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.activate_button = QPushButton("Activate")
        self.rename_button = QPushButton("Rename…")
        self.delete_button = QPushButton("Delete…")
        self.activate_button.clicked.connect(self.activate_selected)
        self.rename_button.clicked.connect(self.rename_selected)
        self.delete_button.clicked.connect(self.delete_selected)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        buttons = QHBoxLayout()
        for button in (self.activate_button, self.rename_button, self.delete_button):
            buttons.addWidget(button)
        buttons.addWidget(self.progress, 1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        note = QLabel("Deleting a model removes its codes and its file; your photos are never touched. The active model cannot be deleted.")
        note.setWordWrap(True)
        note.setStyleSheet("color: gray;")
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addWidget(note)
        layout.addWidget(close)
        self.resize(1120, 360)
        self.reload()

    def reload(self) -> None:
        self.runner.run_in_background(wops.list_models, lane=READ, key="models-dialog", on_success=self._show)

    def _show(self, rows: list[dict]) -> None:
        selected = self.selected()
        self.rows = rows
        self.table.setRowCount(len(rows))
        for r, model in enumerate(rows):
            cells = (
                model["name"],
                "trained" if model["kind"] == "hashing" else "unsupervised (ITQ)",
                model["backbone"],
                str(model["bits"]),
                time.strftime("%Y-%m-%d %H:%M", time.localtime(model["created_at"])),
                metric_text(model.get("metrics") or {}),
                human_size(model["size_bytes"]) if model["size_bytes"] is not None else "missing",
                model_state(model),
            )
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if model["active"]:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(r, c, item)
        header = self.table.horizontalHeader()
        for column in range(len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        self.table.setColumnWidth(2, 190)
        for r, model in enumerate(rows):
            self.table.item(r, 2).setToolTip(model["backbone"])
            self.table.item(r, 0).setToolTip(model["name"])
            if self.table.item(r, 5).text() == "older measure":
                self.table.item(r, 5).setToolTip(OLDER_MEASURE)
        row = next((r for r, m in enumerate(rows) if selected and m["id"] == selected["id"]), None)
        if row is not None:
            self.table.selectRow(row)
        self._update_buttons()

    def selected(self) -> Optional[dict]:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows or rows[0].row() >= len(self.rows):
            return None
        return self.rows[rows[0].row()]

    def select_model(self, model_id: int) -> None:
        for r, model in enumerate(self.rows):
            if model["id"] == model_id:
                self.table.selectRow(r)

    def _update_buttons(self) -> None:
        model = self.selected()
        self.activate_button.setEnabled(model is not None and not model["active"] and not self.busy)
        self.rename_button.setEnabled(model is not None and not self.busy)
        self.delete_button.setEnabled(model is not None and not model["active"] and not self.busy)
        if model is not None and model["active"]:
            self.delete_button.setToolTip("The active model cannot be deleted: activate another one first")
        else:
            self.delete_button.setToolTip("")

    def _failed(self, what: str, error: BaseException) -> None:
        self.message.setText(f"<b style='color:#b00020'>{html.escape(what)}:</b> {html.escape(str(error))}")

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.progress.setVisible(busy)
        self._update_buttons()

    def activate_selected(self) -> None:
        model = self.selected()
        if model is None or model["active"] or self.busy:
            return
        self._set_busy(True)
        self.progress.setRange(0, 0)
        self.message.setText(f"Writing codes with “{html.escape(model['name'])}”; search keeps using the current model until they are all written…")

        def progress(event) -> None:
            if event.total:
                self.progress.setRange(0, event.total)
                self.progress.setValue(min(event.done, event.total))

        def done(_model_id: int) -> None:
            self.message.setText(f"“{html.escape(model['name'])}” is now active.")
            self.models_changed.emit()

        def finished(_job) -> None:
            self._set_busy(False)
            self.reload()

        self.runner.run_in_background(
            partial(wops.activate, model_id=model["id"]),
            lane=WRITE,
            label=f"Activating {model['name']}",
            show_progress=True,
            on_progress=progress,
            on_success=done,
            on_failure=partial(self._failed, "Activation failed"),
            on_finished=finished,
        )

    def rename_selected(self) -> None:
        model = self.selected()
        if model is None:
            return
        name = self.ask_name(model["name"])
        if name is None:
            return

        def done(stored: str) -> None:
            self.message.setText(f"Renamed to “{html.escape(stored)}”.")
            self.reload()
            self.models_changed.emit()

        self.runner.run_in_background(
            partial(wops.rename_model, model_id=model["id"], name=name), lane=WRITE, on_success=done, on_failure=partial(self._failed, "Renaming failed")
        )

    def delete_selected(self) -> None:
        model = self.selected()
        if model is None or model["active"]:
            return
        if not self.confirm("Delete this model?", f"“{model['name']}” and its codes will be deleted. Your photos are not touched."):
            return

        def done(_id: int) -> None:
            self.message.setText(f"Deleted “{html.escape(model['name'])}”.")
            self.reload()
            self.models_changed.emit()

        self.runner.run_in_background(
            partial(wops.remove_model, model_id=model["id"]), lane=WRITE, on_success=done, on_failure=partial(self._failed, "Deleting failed")
        )

    def _ask_name(self, current: str) -> Optional[str]:
        name, ok = QInputDialog.getText(self, "Rename model", "New name:", text=current)
        return name if ok and name.strip() else None

    def _confirm(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes
