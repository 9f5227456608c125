"""The settings dialog, generated from the declarations in `settings.py`."""

from __future__ import annotations

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

if TYPE_CHECKING:
    from .jobs import JobRunner
    from .weight_files_dialog import WeightFilesDialog


class SettingsDialog(QDialog):
    """One editor per declared setting; OK stores them all.

    Opened from a window, it also gets the open library's folder (to say which library is open
    now), the job runner (for the Model files… dialog) and the backbone the library uses.
    """

    def __init__(
        self,
        settings: s.Settings,
        parent: Optional[QWidget] = None,
        open_library: Optional[Path] = None,
        runner: Optional["JobRunner"] = None,
        backbone_in_use: Callable[[], Optional[str]] = lambda: None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.open_library = open_library
        self.runner = runner
        self.backbone_in_use = backbone_in_use
        self.setWindowTitle("BitLens settings")
        self.setMinimumWidth(520)
        self._editors: dict[str, tuple[s.Setting, QWidget]] = {}
        self.library_note: Optional[QLabel] = None
        form = QFormLayout()
        for setting in s.ALL:
            editor = self._editor(setting)
            editor.setToolTip(setting.help)
            form.addRow(setting.label, editor)
        note = QLabel("The library folder changes at the next start. The model settings apply to a library that has no model yet.", self)
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        if self.library_note is not None:
            form.addRow("", self.library_note)
        layout.addWidget(note)
        self.models_button: Optional[QPushButton] = None
        if runner is not None:
            self.models_button = QPushButton("Model files…", self)
            self.models_button.setToolTip("Download CLIP weights, or import a weights file copied from elsewhere")
            self.models_button.clicked.connect(lambda: self.open_models())
            layout.addWidget(self.models_button, 0, Qt.AlignmentFlag.AlignLeft)
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
