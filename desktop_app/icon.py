"""The BitLens app icon (resources/bitlens.svg and its PNG renders), wherever the app runs from."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

from PySide6.QtGui import QIcon


def resources_dir() -> Optional[Path]:
    """resources/ of a source checkout, or of a PyInstaller bundle (sys._MEIPASS)."""
    candidates = [Path(__file__).resolve().parents[1] / "resources"]
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        candidates.insert(0, Path(bundle) / "resources")
    return next((c for c in candidates if (c / "icons").is_dir()), None)


def app_icon() -> QIcon:
    """The app icon at every rendered size (an empty icon when the files are not shipped)."""
    icon = QIcon()
    folder = resources_dir()
    if folder is None:
        return icon
    for png in sorted((folder / "icons").glob("bitlens-*.png")):
        icon.addFile(str(png))
    if icon.isNull() and (folder / "bitlens.svg").is_file():
        icon.addFile(str(folder / "bitlens.svg"))
    return icon
