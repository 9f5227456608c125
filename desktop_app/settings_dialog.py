"""The settings dialog, generated from the declarations in `settings.py`."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from . import settings as s
from .style import frame_text_fields

if TYPE_CHECKING:
    from .first_run import ModelChoice
    from .jobs import JobRunner
    from .weight_files_dialog import WeightFilesDialog


class SettingsDialog(QDialog):
    """One editor per declared setting; OK stores them all.

    Opened from a window, it also gets the open library's folder (to say which library is open
    now), the job runner (for the Model files… dialog), the backbone the library uses and
    `change_model`, which asks and moves the library to the model chosen here (True once started).
    """

    def __init__(
        self,
        settings: s.Settings,
        parent: Optional[QWidget] = None,
        open_library: Optional[Path] = None,
        runner: Optional["JobRunner"] = None,
        backbone_in_use: Callable[[], Optional[str]] = lambda: None,
        change_model: Optional[Callable[["ModelChoice"], bool]] = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.open_library = open_library
        self.runner = runner
        self.backbone_in_use = backbone_in_use
        self.change_model = change_model
        self.setWindowTitle("BitLens settings")
        self.setMinimumWidth(520)
        self._editors: dict[str, tuple[s.Setting, QWidget]] = {}
        self.library_note: Optional[QLabel] = None
        form = QFormLayout()
        for setting in s.ALL:
            editor = self._editor(setting)
            editor.setToolTip(setting.help)
            form.addRow(setting.label, editor)
        note = QLabel(
            "The library folder changes at the next start. The model settings choose the model of a library that has none yet; "
            "Change model and re-index… moves this library to them.",
            self,
        )
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        frame_text_fields(self)  # visible on a dark palette too
        self.architecture_note = QLabel("", self)  # what the chosen weights file turned out to be
        self.architecture_note.setWordWrap(True)
        self.architecture_note.setVisible(False)  # until a weights file is chosen
        layout.addWidget(self.architecture_note)
        if self.library_note is not None:
            form.addRow("", self.library_note)
        layout.addWidget(note)
        self.models_button: Optional[QPushButton] = None
        self.change_button: Optional[QPushButton] = None
        self.model_in_use = QLabel(f"This library's model: {backbone_in_use() or 'none yet (chosen when photos are first indexed)'}", self)
        self.model_in_use.setWordWrap(True)
        self.model_in_use.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.model_in_use)
        row = QHBoxLayout()
        if runner is not None:
            self.models_button = QPushButton("Model files…", self)
            self.models_button.setToolTip("Download CLIP weights, or import a weights file copied from elsewhere")
            self.models_button.clicked.connect(lambda: self.open_models())
            row.addWidget(self.models_button)
        if change_model is not None:
            self.change_button = QPushButton("Change model and re-index…", self)
            self.change_button.setToolTip("Describe every photo again with the model chosen above; search keeps the current model until that is done")
            self.change_button.setEnabled(backbone_in_use() is not None)
            self.change_button.clicked.connect(self._change_model)
            row.addWidget(self.change_button)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addWidget(buttons)

    def _editor(self, setting: s.Setting) -> QWidget:
        value = self.settings.get(setting)
        if setting.choices:
            combo = QComboBox(self)
            for choice in setting.choices:
                combo.addItem(str(choice), choice)
            combo.setCurrentIndex(list(setting.choices).index(value))
            self._editors[setting.key] = (setting, combo)
            return combo
        if setting is s.BACKBONE:
            return self._backbone_editor(setting, value)
        if setting.type is int:
            spin = QSpinBox(self)
            spin.setRange(setting.minimum or 0, setting.maximum or 1_000_000)
            spin.setValue(value)
            self._editors[setting.key] = (setting, spin)
            return spin
        line = QLineEdit(str(value), self)
        line.setPlaceholderText("default")
        if setting is s.LIBRARY_LOCATION:
            self.library_note = self._open_library_note(value)
        self._editors[setting.key] = (setting, line)
        if setting.kind not in ("folder", "file"):
            return line
        row = QWidget(self)
        browse = QPushButton("Browse…", row)
        browse.setToolTip(f"Choose the {setting.label.rstrip(':').lower()}")
        browse.clicked.connect(lambda: self._browse(setting, line))
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(line, 1)
        layout.addWidget(browse)
        return row

    def _open_library_note(self, stored: str) -> Optional[QLabel]:
        """Which library is open now: the setting may say "default" while --library or $BITLENS_HOME chose another."""
        open_now = self.open_library
        if open_now is None:
            return None
        text = f"Open now: {open_now}"
        if stored and Path(stored).expanduser().resolve() != open_now:
            text += " (chosen for this run by --library or $BITLENS_HOME)"
        label = QLabel(text, self)
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setStyleSheet("color: palette(placeholder-text);")
        return label

    def _backbone_editor(self, setting: s.Setting, value: str) -> QComboBox:
        """The offered models (one multilingual) to pick from; any open_clip name or config .json may be typed."""
        from engine.facade import MODEL_CHOICES as CHOICES, DEFAULT_ARCH

        combo = QComboBox(self)
        combo.setEditable(True)
        combo.addItem("")
        combo.setItemData(0, f"the default, {DEFAULT_ARCH}", Qt.ItemDataRole.ToolTipRole)
        for choice in CHOICES:
            combo.addItem(choice.arch)
            combo.setItemData(combo.count() - 1, f"{choice.label}; languages: {choice.languages}; downloads {choice.download}", Qt.ItemDataRole.ToolTipRole)
        combo.setEditText(value)
        combo.lineEdit().setPlaceholderText(f"default ({DEFAULT_ARCH})")
        self._editors[setting.key] = (setting, combo)
        return combo

    def model_choice(self) -> "ModelChoice":
        """The model the dialog's model settings name now (not yet stored)."""
        from .first_run import ModelChoice

        def text(setting: s.Setting) -> str:
            editor = self._editors[setting.key][1]
            return (editor.currentText() if isinstance(editor, QComboBox) else editor.text()).strip()  # type: ignore[attr-defined]

        return ModelChoice(text(s.BACKBONE), text(s.PRETRAINED), text(s.WEIGHTS))

    def _change_model(self) -> None:
        if self.change_model is not None and self.change_model(self.model_choice()):
            self.accept()  # the chosen model is now this library's: keep it in the settings too

    def open_models(self) -> "WeightFilesDialog":
        from .weight_files_dialog import WeightFilesDialog

        assert self.runner is not None, "the Model files… button is there only with a runner"
        dialog = WeightFilesDialog(self.runner, parent=self, in_use=self.backbone_in_use())
        dialog.open()
        return dialog

    def _browse(self, setting: s.Setting, line: QLineEdit) -> None:
        if setting.kind == "folder":
            chosen = QFileDialog.getExistingDirectory(self, setting.label, line.text())
        else:
            chosen = QFileDialog.getOpenFileName(self, setting.label, line.text())[0]
        if chosen:
            line.setText(chosen)
            if setting is s.WEIGHTS and self.runner is not None:
                self._fill_architecture(chosen)

    def _fill_architecture(self, weights: str) -> None:
        """Put the weights file's own architecture in the Model field (read from the file, in the background)."""
        from . import operations as ops
        from .jobs import IO

        combo = self._editors[s.BACKBONE.key][1]
        assert isinstance(combo, QComboBox) and self.runner is not None
        typed = combo.currentText().strip()
        self.architecture_note.setVisible(True)
        self.architecture_note.setText("Reading the weights file…")

        def found(arch: str) -> None:
            combo.setEditText(arch)
            self.architecture_note.setText(f"The weights file is a {Path(arch).stem if arch.endswith('.json') else arch} model.")

        self.runner.run_in_background(
            lambda ctx: ops.weights_architecture(ctx, weights, typed),
            lane=IO,
            label="Reading the weights file",
            on_success=found,
            on_failure=lambda error: self.architecture_note.setText(f"<b>Model not recognised:</b> {html.escape(str(error))}"),
        )

    def accept(self) -> None:
        for setting, editor in self._editors.values():
            if isinstance(editor, QComboBox) and editor.isEditable():
                self.settings.set(setting, editor.currentText().strip())
            elif isinstance(editor, QComboBox):
                self.settings.set(setting, editor.currentData())
            elif isinstance(editor, QSpinBox):
                self.settings.set(setting, editor.value())
            elif isinstance(editor, QLineEdit):
                self.settings.set(setting, editor.text().strip())
        super().accept()
