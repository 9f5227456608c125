"""Settings → Model files…: the backbone (CLIP) weight files here and downloadable; download one, import a file."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.jobs import ProgressEvent

from . import operations as ops
from .jobs import IO, Job, JobRunner


class WeightFilesDialog(QDialog):
    """Lists backbone weights (here or downloadable) and runs the weights manager's actions."""

    def __init__(
        self, runner: JobRunner, pick_file: Optional[Callable[[QWidget, str, str], str]] = None, parent: Optional[QWidget] = None, in_use: Optional[str] = None
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.in_use = in_use  # the backbone the open library searches with, as its label
        self._job: Optional[Job] = None
        self._note = ""  # the last action's outcome (an error above all), kept when the list refreshes
        self._pick_file = pick_file or (lambda parent, title, pattern: QFileDialog.getOpenFileName(parent, title, str(Path.home()), pattern)[0])
        self.setWindowTitle("BitLens: model files")
        self.setMinimumWidth(560)
        intro = QLabel("CLIP weights live in the shared Hugging Face cache, so other tools on this computer use the same copy.", self)
        intro.setWordWrap(True)
        self.models = QListWidget(self)
        self.models.setToolTip("Backbone weights: ✓ marks the ones already on this computer")
        self.models.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.download_button = QPushButton("Download", self)
        self.download_button.setToolTip("Download the selected model once into the shared cache (resumes if interrupted, checked by sha256)")
        self.download_button.clicked.connect(self.download_selected)
        self.import_button = QPushButton("Import a file…", self)
        self.import_button.setToolTip(
            "Copy a weights file from elsewhere (e.g. another computer) into the cache as the selected model; the file's tensors must be that architecture's"
        )
        self.import_button.clicked.connect(self.import_selected)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setToolTip("Stop the download; the part already fetched is kept and resumed next time")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar(self)
        self.progress.setVisible(False)
        self.state = QLabel("Looking for model files…", self)
        self.state.setWordWrap(True)
        self.state.setTextFormat(Qt.TextFormat.RichText)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.download_button)
        row.addWidget(self.import_button)
        row.addStretch(1)
        row.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.models, 1)
        layout.addLayout(row)
        layout.addWidget(self.progress)
        layout.addWidget(self.state)
        layout.addWidget(buttons)
        self._update_buttons()
        self.refresh()

    def refresh(self) -> None:
        self.runner.run_in_background(
            ops.list_weights,
            lane=IO,
            label="Listing model files",
            on_success=self._show_rows,
            on_failure=lambda error: self.state.setText(f"<b>Cannot list the models:</b> {error}"),
        )

    def _show_rows(self, rows: list) -> None:
        selected = self.selected_name()
        self.models.clear()
        if self.in_use:
            item = QListWidgetItem(f"● {self.in_use}  (in use by this library)", self.models)
            item.setToolTip("The model this library's codes were made with")
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsSelectable)
        for row in rows:
            text = ("✓ " if row.cached else "   ") + row.name + ("  (recommended)" if row.recommended else "")
            item = QListWidgetItem(text, self.models)
            item.setData(Qt.ItemDataRole.UserRole, row.name)
            item.setToolTip(row.cached or "not downloaded yet")
            if row.name == selected or (selected is None and row.recommended):
                self.models.setCurrentItem(item)
        if self._job is None:
            here = sum(1 for row in rows if row.cached)
            self.state.setText((f"{self._note}<br>" if self._note else "") + f"{here} of these are on this computer.")
        self._update_buttons()

    def selected_name(self) -> Optional[str]:
        item = self.models.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def _update_buttons(self) -> None:
        idle = self._job is None and self.selected_name() is not None
        self.download_button.setEnabled(idle)
        self.import_button.setEnabled(idle)

    def download_selected(self) -> None:
        name = self.selected_name()
        if name is None:
            return
        self._note = ""
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.state.setText(f"Downloading {name}…")
        self._job = self.runner.run_in_background(
            lambda ctx: ops.download_weights(ctx, name),
            lane=IO,
            label=f"Downloading {name}",
            show_progress=True,
            on_progress=self._progressed,
            on_success=lambda path: self._say(f"<b>{name}</b> is ready: {path}"),
            on_failure=lambda error: self._say(f"<b>The download failed:</b> {html.escape(str(error))}"),
            on_finished=self._ended,
        )
        self._update_buttons()

    def _progressed(self, event: ProgressEvent) -> None:
        if event.total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * event.done / event.total))
            self.state.setText(f"Downloading… {event.done / 1e6:,.0f} of {event.total / 1e6:,.0f} MB")

    def import_selected(self) -> None:
        name = self.selected_name()
        path = self._pick_file(self, f"Weights file for {name}", "Weights (*.safetensors *.bin *.pt *.pth);;All files (*)") if name else ""
        if not path:
            return
        self.state.setText("Reading the file, then copying it into the cache…")
        self._job = self.runner.run_in_background(
            lambda ctx: ops.import_weights(ctx, path, name),
            lane=IO,
            label="Importing a weights file",
            on_success=lambda cached: self._say(f"Imported as <b>{name}</b> (its tensors are those of {name.partition('/')[0]}): {cached}"),
            on_failure=lambda error: self._say(f"<b>This file cannot be used:</b> {html.escape(str(error))}"),
            on_finished=self._ended,
        )
        self._update_buttons()

    def _say(self, note: str) -> None:
        """Say how an action ended; the note stays when the list refreshes after it."""
        self._note = note
        self.state.setText(note)

    def _ended(self, job: Job) -> None:
        self._job = None
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        if job.outcome == "cancelled":
            self._say("Download cancelled; what arrived is kept and the next download resumes from there.")
        self._update_buttons()
        self.refresh()

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()

    def reject(self) -> None:
        self.cancel()
        super().reject()
