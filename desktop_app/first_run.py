"""First run without model weights: download the default model, import a file, or go tiny."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.jobs import ProgressEvent
from engine.facade import DEFAULT_MODEL as DEFAULT, DEFAULT_ARCH

from . import operations as ops
from .jobs import IO, Job, JobRunner
from .style import FIELD_FRAME


@dataclass(frozen=True)
class ModelChoice:
    """The model the user picked for a library that has none yet (settings keys of the same names)."""

    backbone: str = ""
    pretrained: str = ""
    weights: str = ""

    @property
    def label(self) -> str:
        if self.backbone == "tiny":
            return "the small offline model (random weights, low quality)"
        if self.weights:
            return f"{Path(self.backbone).stem or DEFAULT_ARCH} with {Path(self.weights).name}"
        if self.backbone and self.backbone != DEFAULT_ARCH:
            return self.backbone
        return f"the recommended model ({DEFAULT_ARCH})"


def _card(parent: QWidget, button: QPushButton, text: str) -> tuple[QFrame, QLabel]:
    frame = QFrame(parent)
    frame.setFrameShape(QFrame.Shape.StyledPanel)
    detail = QLabel(text, frame)
    detail.setWordWrap(True)
    detail.setTextFormat(Qt.TextFormat.RichText)
    layout = QVBoxLayout(frame)
    layout.addWidget(button, 0, Qt.AlignmentFlag.AlignLeft)
    layout.addWidget(detail)
    return frame, detail


class FirstRunDialog(QDialog):
    """Offers the ways to get a model; emits `chosen` and closes once one is ready."""

    chosen = Signal(object)  # ModelChoice

    def __init__(
        self,
        runner: JobRunner,
        hub_reachable: Optional[bool] = None,
        pick_file: Optional[Callable[[QWidget, str, str], str]] = None,
        parent: Optional[QWidget] = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.choice: Optional[ModelChoice] = None
        self._job: Optional[Job] = None
        self._reachable = False  # until the check says otherwise
        self._pick_file = pick_file or (lambda parent, title, pattern: QFileDialog.getOpenFileName(parent, title, str(Path.home()), pattern)[0])
        self.setWindowTitle("BitLens: choose a model")
        self.setMinimumWidth(560)
        intro = QLabel(
            "<h3>One step before searching</h3>"
            "BitLens describes each photo with a CLIP model and keeps a short code per photo. "
            "The recommended model is not on this computer yet.",
            self,
        )
        intro.setWordWrap(True)

        self.download_button = QPushButton("Download the recommended model", self)
        self.download_button.setDefault(True)
        self.download_button.setEnabled(False)
        self.download_button.clicked.connect(self._download)
        download_card, self.download_note = _card(
            self, self.download_button, f"{DEFAULT.label}: {DEFAULT.download}, downloaded once into the shared Hugging Face cache."
        )
        self.download_state = QLabel("Checking the internet connection…", self)
        self.download_state.setWordWrap(True)
        self.progress = QProgressBar(self)
        self.progress.setVisible(False)
        self.cancel_download = QPushButton("Cancel download", self)
        self.cancel_download.setVisible(False)
        self.cancel_download.clicked.connect(self._cancel)
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_download)
        download_card.layout().addWidget(self.download_state)
        download_card.layout().addLayout(row)

        self.import_button = QPushButton("Use a weights file…", self)
        self.import_button.clicked.connect(self._import)
        import_card, _ = _card(
            self,
            self.import_button,
            "A local open_clip weights file (.safetensors, .bin, .pt), e.g. copied from another computer. "
            "Its architecture is read from the file; type one below only if the file fits several.",
        )
        self.arch = QLineEdit(DEFAULT_ARCH, self)
        self.arch.setStyleSheet(FIELD_FRAME)  # visible on a dark palette too
        self.arch.setToolTip("Filled in from the weights file: an open_clip model name, or the path of a model config .json")
        arch_row = QHBoxLayout()
        arch_row.addWidget(QLabel("Architecture:", self))
        arch_row.addWidget(self.arch, 1)
        import_card.layout().addLayout(arch_row)
        self.import_state = QLabel("", self)
        self.import_state.setWordWrap(True)
        import_card.layout().addWidget(self.import_state)

        self.tiny_button = QPushButton("Continue with the small offline model", self)
        self.tiny_button.clicked.connect(lambda: self._finish(ModelChoice(backbone="tiny")))
        tiny_card, _ = _card(
            self,
            self.tiny_button,
            "<b>Low quality:</b> a tiny model with <b>random weights</b>. It works offline at once, but its search "
            "results are <b>not meaningful</b>. For trying the app; Settings ▸ Change model and re-index… moves the library to a real model later.",
        )

        self.later_button = QPushButton("Later", self)
        self.later_button.setToolTip(
            "Close this for now: browse your photos; added folders are indexed once a model is chosen (File ▸ Settings… ▸ Model files…)"
        )
        self.later_button.clicked.connect(self.reject)
        later_row = QHBoxLayout()
        later_row.addWidget(QLabel("You can browse your photos without a model; searching needs one.", self), 1)
        later_row.addWidget(self.later_button)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(download_card)
        layout.addWidget(import_card)
        layout.addWidget(tiny_card)
        layout.addLayout(later_row)
        if hub_reachable is None:
            self.runner.run_in_background(
                ops.hub_reachable,
                lane=IO,
                label="checking the internet",
                on_success=self.set_hub_reachable,
                on_failure=lambda _e: self.set_hub_reachable(False),
            )
        else:
            self.set_hub_reachable(hub_reachable)

    def set_hub_reachable(self, reachable: bool) -> None:
        """Enable the download, or say at once that it needs an internet connection."""
        self._reachable = reachable
        self.download_button.setEnabled(reachable)
        self.download_state.setText(
            "Ready to download."
            if reachable
            else "<b>Offline:</b> the internet cannot be reached, so the model cannot be downloaded now. Use a weights file, or the small offline model."
        )

    # -- the three ways ------------------------------------------------------------------

    def _download(self) -> None:
        self._busy(True)
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.cancel_download.setVisible(True)
        self.download_state.setText("Downloading…")
        self._job = self.runner.run_in_background(
            ops.download_default_weights,
            lane=IO,
            label="Downloading the model",
            show_progress=True,
            on_progress=self._download_progress,
            on_success=lambda _path: self._finish(ModelChoice()),
            on_failure=self._download_failed,
            on_finished=self._download_ended,
        )

    def _download_progress(self, event: ProgressEvent) -> None:
        if event.total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * event.done / event.total))
            self.download_state.setText(f"Downloading… {event.done / 1e6:,.0f} of {event.total / 1e6:,.0f} MB")

    def _download_failed(self, error: BaseException) -> None:
        self.download_state.setText(f"<b>The download failed:</b> {error}")

    def _download_ended(self, job: Job) -> None:
        self._job = None
        self.progress.setVisible(False)
        self.cancel_download.setVisible(False)
        if job.outcome == "cancelled":
            self.download_state.setText("Download cancelled. What arrived is kept: the next download resumes from there.")
        if self.choice is None:
            self._busy(False)

    def _cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()

    def _import(self) -> None:
        path = self._pick_file(self, "Choose a weights file", "Weights (*.safetensors *.bin *.pt *.pth);;All files (*)")
        if not path:
            return
        typed = self.arch.text().strip()
        self._busy(True)
        self.import_state.setText("Reading the file…")
        self.runner.run_in_background(
            lambda ctx: ops.weights_architecture(ctx, path, typed),
            lane=IO,
            label="Reading the weights file",
            on_success=lambda arch: self._check(path, arch),
            on_failure=lambda error: self._not_recognised(path, typed, error),
        )

    def _not_recognised(self, path: str, typed: str, error: BaseException) -> None:
        """The file does not say what it is: a name the user typed (not the default) may still fit it."""
        if typed and typed != DEFAULT_ARCH:
            self._check(path, typed, unrecognised=error)
        else:
            self._import_failed(error)

    def _check(self, path: str, arch: str, unrecognised: Optional[BaseException] = None) -> None:
        """Load the file as `arch` before taking it (a file that only looks right is refused here, not at indexing)."""
        self.arch.setText(arch)
        self.import_state.setText(f"Checking the file as {Path(arch).stem if arch.endswith('.json') else arch}…")
        self.runner.run_in_background(
            lambda ctx: ops.check_weights_file(ctx, arch, path),
            lane=IO,
            label="Checking the weights file",
            on_success=lambda checked: self._finish(ModelChoice(backbone=arch, weights=checked)),
            on_failure=lambda error: self._import_failed(unrecognised or error),
        )

    def _import_failed(self, error: BaseException) -> None:
        self._busy(False)
        self.import_state.setText(f"<b>This file cannot be used:</b> {html.escape(str(error))}")

    def _busy(self, busy: bool) -> None:
        for button in (self.import_button, self.tiny_button):
            button.setEnabled(not busy)
        self.download_button.setEnabled(not busy and self._reachable)

    def _finish(self, choice: ModelChoice) -> None:
        self.choice = choice
        self.chosen.emit(choice)
        self.accept()

    def reject(self) -> None:
        if self._job is not None:
            self._job.cancel()
        super().reject()
