"""One look on every platform: the Fusion style with a light or a dark palette.

The palette follows the system colour scheme (QStyleHints.colorScheme) and changes
with it while the app runs; BITLENS_COLOR_SCHEME=light|dark overrides it (screenshots,
or a desktop that does not report a scheme).
"""

from __future__ import annotations

import os
from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QComboBox, QLineEdit, QWidget

ENV = "BITLENS_COLOR_SCHEME"
ACCENT = "#2f6fde"  # the blue of the icon, a little darker so white text on it reads well

_LIGHT = {
    "Window": "#f3f4f7",
    "WindowText": "#1b1f27",
    "Base": "#ffffff",
    "AlternateBase": "#eef0f4",
    "ToolTipBase": "#ffffff",
    "ToolTipText": "#1b1f27",
    "PlaceholderText": "#6b7280",
    "Text": "#1b1f27",
    "Button": "#e9ebf0",
    "ButtonText": "#1b1f27",
    "BrightText": "#ffffff",
    "Light": "#ffffff",
    "Midlight": "#dfe2e8",
    "Mid": "#b8bdc7",
    "Dark": "#8c92a0",
    "Shadow": "#4b5060",
    "Highlight": ACCENT,
    "HighlightedText": "#ffffff",
    "Link": "#1f5fcc",
    "LinkVisited": "#6b3fc4",
}
_DARK = {
    "Window": "#1e2128",
    "WindowText": "#e6e8ee",
    "Base": "#16181d",
    "AlternateBase": "#23262e",
    "ToolTipBase": "#2b2f38",
    "ToolTipText": "#e6e8ee",
    "PlaceholderText": "#8a909c",
    "Text": "#e6e8ee",
    "Button": "#2a2e37",
    "ButtonText": "#e6e8ee",
    "BrightText": "#ffffff",
    "Light": "#3a3f4b",
    "Midlight": "#323641",
    "Mid": "#4a505d",
    "Dark": "#111317",
    "Shadow": "#000000",
    "Highlight": ACCENT,
    "HighlightedText": "#ffffff",
    "Link": "#7fb0ff",
    "LinkVisited": "#b9a2ff",
}


def system_scheme() -> str:
    """'dark' or 'light': the override, else what the platform reports (light when it reports nothing)."""
    forced = os.environ.get(ENV, "").strip().lower()
    if forced in ("light", "dark"):
        return forced
    hints = QGuiApplication.styleHints()
    return "dark" if hints.colorScheme() == Qt.ColorScheme.Dark else "light"


def palette(scheme: str) -> QPalette:
    """The BitLens palette for 'light' or 'dark' (disabled text greyed to match)."""
    colours = _DARK if scheme == "dark" else _LIGHT
    pal = QPalette()
    for role_name, value in colours.items():
        pal.setColor(getattr(QPalette.ColorRole, role_name), QColor(value))
    muted = QColor(colours["PlaceholderText"])
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, muted)
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Highlight, QColor(colours["Mid"]))
    return pal


def apply_style(app: QApplication, scheme: Optional[str] = None) -> str:
    """Fusion plus the palette for `scheme` (default: the system's); returns the scheme used."""
    app.setStyle("Fusion")
    chosen = scheme or system_scheme()
    app.setPalette(palette(chosen))
    app.setProperty("bitlens_color_scheme", chosen)
    return chosen


def follow_system(app: QApplication) -> None:
    """Re-apply the palette whenever the system switches between light and dark."""
    if os.environ.get(ENV, "").strip().lower() in ("light", "dark"):
        return
    QGuiApplication.styleHints().colorSchemeChanged.connect(lambda _scheme: apply_style(app))


# Fusion draws a line edit's frame a shade darker than the window: invisible on a dark palette.
# Text fields (the search field, the filters) draw their frame in the palette's mid tone instead.
FIELD_FRAME = (
    "QLineEdit { border: 1px solid palette(mid); border-radius: 3px; padding: 2px 4px; background: palette(base); }"
    "QLineEdit:focus { border-color: palette(highlight); }"
)


def frame_text_fields(root: QWidget) -> None:
    """Give the plain text fields under `root` the visible frame (not those inside a spin box or an editable combo box)."""
    for edit in root.findChildren(QLineEdit):
        if not isinstance(edit.parent(), (QAbstractSpinBox, QComboBox)):
            edit.setStyleSheet(FIELD_FRAME)
