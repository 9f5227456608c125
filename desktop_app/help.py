"""Help inside the app: the Help menu, tooltips for the window's actions, About, Report a problem."""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import QObject, Qt, qVersion
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine import __version__
from engine.diagnostics import report, versions, write_report

from . import operations as ops
from . import settings as s
from .jobs import IO, JobRunner

# What each of the window's actions does, as its tooltip (and status tip). Keyed by the action's text.
ACTION_TIPS = {
    "Add folder…": "Add a photo folder to the library; it is indexed in the background and only ever read",
    "Re-scan all folders": "Look for new, changed and removed photos in every library folder and index them",
    "Settings…": "Library location, code length, device, thumbnail size, model and model files",
    "Quit": "Close BitLens (running jobs stop; what is finished is kept)",
    "Find": "Go to the search bar",
    "Report a problem…": "Save a diagnostics file to attach to a bug report (no photos; paths only if you agree)",
    "Train a model…": "Teach BitLens your own tags: a guided training of the hashing network, with before/after numbers",
    "Models…": "Trained models: activate, rename or delete them (photos are never touched)",
    "Find near-duplicates…": "Groups of near-identical photos (copies, resized, recompressed) to review; nothing is deleted",
    "About BitLens": "Versions of BitLens, PyTorch, open_clip and Qt, and the device searches run on",
}


class HelpMenu(QObject):
    """The window's Help menu; keeps the About and Report dialogs it last opened."""

    def __init__(self, window: QMainWindow, runner: JobRunner, settings: s.Settings, library_status: Callable[[], dict], errors: list[str]) -> None:
        super().__init__(window)
        self.host = window  # the menu bar it joins, and the window its dialogs open over
        self.runner = runner
        self.settings = settings
        self.library_status = library_status
        self.errors = errors  # the window's list of recent error messages, read when a report is made
        self.about_dialog: Optional[AboutDialog] = None
        self.report_dialog: Optional[ReportDialog] = None
        menu = window.menuBar().addMenu("&Help")
        self.actions: dict[str, QAction] = {}
        for name, text, slot in (("report", "Report a problem…", self.open_report), ("about", "About BitLens", self.open_about)):
            act = QAction(text, window)
            act.triggered.connect(lambda _checked=False, slot=slot: slot())
            menu.addAction(act)
            window.addAction(act)
            self.actions[name] = act
        apply_action_tips(window)

    def open_about(self) -> "AboutDialog":
        self.about_dialog = AboutDialog(self.runner, self.settings.get(s.DEVICE), self.host)
        self.about_dialog.open()
        return self.about_dialog

    def open_report(self) -> "ReportDialog":
        self.report_dialog = ReportDialog(self.runner, self.settings, self.library_status, self.errors, self.host)
        self.report_dialog.open()
        return self.report_dialog


def apply_action_tips(window: QWidget) -> None:
    """Give every action of the window a tooltip that says what it does; show tooltips in menus."""
    for act in window.actions():
        tip = ACTION_TIPS.get(act.text())
        if tip and act.toolTip() in ("", act.text().replace("&", "").rstrip("…")):
            act.setToolTip(tip)
            act.setStatusTip(tip)
    for menu in window.findChildren(QMenu):
        menu.setToolTipsVisible(True)


# -- About ---------------------------------------------------------------------------------------


class AboutDialog(QDialog):
    """What this BitLens is made of and what it computes on (torch's part fills in when loaded)."""

    def __init__(self, runner, device: str = "auto", parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About BitLens")
        self.info: dict = versions(load_torch=False)
        self.info["qt"] = qVersion()
        title = QLabel(
            f"<h2>BitLens {__version__}</h2>Search your own photo folders by text or by example image, "
            "with short binary codes learned from your tags. Your photos never leave this computer.",
            self,
        )
        title.setWordWrap(True)
        if parent is not None and not parent.windowIcon().isNull():
            logo = QLabel(self)
            logo.setPixmap(parent.windowIcon().pixmap(96, 96))
        else:
            logo = None
        self.form = QFormLayout()
        self._labels: dict[str, QLabel] = {}
        for key, label in (
            ("bitlens", "BitLens"),
            ("torch", "PyTorch"),
            ("open_clip", "open_clip"),
            ("qt", "Qt"),
            ("pyside6", "PySide6"),
            ("python", "Python"),
            ("os", "System"),
            ("device", "Device in use"),
        ):
            value = QLabel(self)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self._labels[key] = value
            self.form.addRow(f"{label}:", value)
        self.info.setdefault("device", "loading PyTorch…")
        self._show()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.Close).setToolTip("Close this window")
        layout = QVBoxLayout(self)
        if logo is not None:
            layout.addWidget(logo, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(title)
        layout.addLayout(self.form)
        layout.addWidget(buttons)
        self.loaded = False
        runner.run_in_background(
            partial(ops.about_versions, device=device),
            lane=IO,
            label="reading versions",
            on_success=self._loaded,
            on_failure=lambda error: self._loaded({"device": f"unknown ({error})"}),
        )

    def _loaded(self, info: dict) -> None:
        self.info.update({k: v for k, v in info.items() if v is not None and k != "qt"})
        self.loaded = True
        self._show()

    def _show(self) -> None:
        for key, label in self._labels.items():
            value = self.info.get(key) or "not installed"
            if key == "device" and self.info.get("device_name"):
                value = f"{value} ({self.info['device_name']}, CUDA {self.info.get('cuda')})"
            label.setText(str(value))


# -- Report a problem ---------------------------------------------------------------------------------


class ReportDialog(QDialog):
    """Shows exactly what the diagnostics file will hold, then writes it where the user says."""

    def __init__(
        self,
        runner: JobRunner,
        settings: s.Settings,
        library_status: Callable[[], dict],
        errors: list[str],
        parent: Optional[QWidget] = None,
        choose_path: Optional[Callable[[QWidget, str], str]] = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.library_status = library_status  # the open library's numbers now (empty before the first overview)
        self.errors = errors
        self.written: Optional[Path] = None
        self._versions = versions(load_torch=False)
        self._versions["qt"] = qVersion()
        self._choose_path = choose_path or (
            lambda parent, suggested: QFileDialog.getSaveFileName(parent, "Save the diagnostics file", suggested, "JSON (*.json)")[0]
        )
        self.setWindowTitle("Report a problem")
        self.setMinimumSize(620, 520)
        intro = QLabel(
            "This file helps find what went wrong. It holds versions, the device, library counts, settings and "
            "the recent error messages. It never holds your photos, their thumbnails or tags. Below is exactly what "
            "will be saved; attach the file to your report.",
            self,
        )
        intro.setWordWrap(True)
        self.include_paths = QCheckBox("Include folder and file paths (they can show names of people or places)", self)
        self.include_paths.setToolTip("Off: every path and photo file name is replaced by <path> or <file>")
        self.include_paths.toggled.connect(lambda _on: self.refresh())
        self.preview = QPlainTextEdit(self)
        self.preview.setReadOnly(True)
        self.preview.setToolTip("The diagnostics file, exactly as it will be written")
        buttons = QDialogButtonBox(self)
        self.save_button = QPushButton("Save…", self)
        self.save_button.setToolTip("Choose where to save the diagnostics file")
        buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.AcceptRole)
        cancel = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setToolTip("Close without saving anything")
        self.save_button.clicked.connect(self.save)
        buttons.rejected.connect(self.reject)
        self.state = QLabel("", self)
        self.state.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.include_paths)
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.state)
        layout.addWidget(buttons)
        self.refresh()
        # the device and the CUDA version need torch: filled in when it has loaded
        runner.run_in_background(
            partial(ops.about_versions, device=settings.get(s.DEVICE)),
            lane=IO,
            label="reading versions",
            on_success=self._versions_loaded,
            on_failure=lambda _error: None,
        )

    def _versions_loaded(self, info: dict) -> None:
        self._versions.update({k: v for k, v in info.items() if v is not None and k != "qt"})
        self.refresh()

    def body(self) -> dict:
        status = dict(self.library_status())
        settings = {setting.key: self.settings.get(setting) for setting in s.ALL}
        return report(status=status, errors=self.errors, settings=settings, include_paths=self.include_paths.isChecked(), version_info=self._versions)

    def refresh(self) -> None:
        import json

        self.preview.setPlainText(json.dumps(self.body(), indent=2, ensure_ascii=False))

    def save(self) -> None:
        suggested = str(Path.home() / f"bitlens-diagnostics-{time.strftime('%Y%m%d-%H%M%S')}.json")
        path = self._choose_path(self, suggested)
        if not path:
            return
        self.write_to(Path(path))
        self.accept()

    def write_to(self, path: Path) -> None:
        write_report(path, self.body())
        self.written = path
