"""Every user setting of the desktop app, declared once with its type and default."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Optional, Sequence, TypeVar

from PySide6.QtCore import QSettings

from engine.facade import DEFAULT_ARCH

T = TypeVar("T", str, int)

ORGANIZATION = "BitLens"
APPLICATION = "BitLens"


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One setting: where it is stored, its type, default, allowed values and meaning."""

    key: str
    type: type
    default: T
    label: str
    help: str
    choices: Sequence[T] = ()
    minimum: Optional[int] = None
    maximum: Optional[int] = None
    kind: str = "text"  # how the settings dialog edits it: text, folder, file

    def coerce(self, raw: Any) -> T:
        """A stored value as this setting's type, or the default if it is unusable."""
        if raw is None:
            return self.default
        try:
            value = self.type(raw)
        except (TypeError, ValueError):
            return self.default
        if self.choices and value not in self.choices:
            return self.default
        if self.minimum is not None and value < self.minimum:
            return self.default
        if self.maximum is not None and value > self.maximum:
            return self.default
        return value


LIBRARY_LOCATION: Setting[str] = Setting(
    "library/location",
    str,
    "",
    "Library folder",
    "Where the library database lives (empty: $BITLENS_HOME, else the platform's data folder). Takes effect at the next start.",
    kind="folder",
)
CODE_BITS: Setting[int] = Setting(
    "index/bits",
    int,
    64,
    "Code length for new models",
    "Bits per photo code when a library gets its first model.",
    choices=(16, 32, 64, 128),
)
DEVICE: Setting[str] = Setting(
    "index/device",
    str,
    "auto",
    "Device",
    "Where the model runs: auto picks CUDA, then Apple MPS, then the CPU.",
    choices=("auto", "cpu", "cuda", "mps"),
)
COMPUTE_ON: Setting[str] = Setting(
    "index/cluster",
    str,
    "",
    "Compute on",
    "Empty: this computer. Else a Ray cluster that decodes and encodes the photos: HOST:6379 of a `ray start --head` "
    "machine, ray://HOST:10001, or 'local'. Scanning and the library stay here. Needs `pip install bitlens[cluster]`.",
)
THUMBNAIL_SIZE: Setting[int] = Setting(
    "view/thumbnail_size",
    int,
    160,
    "Thumbnail size",
    "Edge of a grid thumbnail in pixels.",
    minimum=64,
    maximum=512,
)
BACKBONE: Setting[str] = Setting(
    "model/backbone",
    str,
    "",
    "Model for a new library",
    f"Empty: the default {DEFAULT_ARCH}; 'tiny': small offline model with random weights (low quality); an open_clip name or a config .json.",
)
PRETRAINED: Setting[str] = Setting("model/pretrained", str, "", "Pretrained tag", "open_clip weights tag for a named model (e.g. laion2b_s34b_b79k).")
WEIGHTS: Setting[str] = Setting("model/weights", str, "", "Weights file", "A local weights file for the model (imported on first run).", kind="file")

READ_TEXT: Setting[str] = Setting(
    "index/read_text",
    str,
    "on",
    "Read text in photos",
    "on: indexing reads the words in photos (signs, receipts, screenshots) so a search finds them; off: skip it (faster indexing).",
    choices=("on", "off"),
)

ALL: tuple[Setting, ...] = (LIBRARY_LOCATION, CODE_BITS, DEVICE, COMPUTE_ON, THUMBNAIL_SIZE, BACKBONE, PRETRAINED, WEIGHTS, READ_TEXT)

# Where the user left off, restored at the next start (not shown in the settings dialog).
WINDOW_GEOMETRY: Setting[str] = Setting("state/window_geometry", str, "", "Window geometry", "The window's size and place (base64 of QWidget.saveGeometry).")
LAST_FOLDER: Setting[str] = Setting(
    "state/last_folder", str, "", "Last folder", "The folder chosen in the sidebar when the app was closed (empty: all photos)."
)
LAST_QUERY: Setting[str] = Setting("state/last_query", str, "", "Last query", "The words in the search bar when the app was closed.")


class Settings:
    """Typed access to the declared settings, stored with QSettings."""

    def __init__(self, store: QSettings) -> None:
        self.store = store

    @classmethod
    def open(cls, path: Optional[str | os.PathLike[str]] = None) -> "Settings":
        """The user's settings, or an INI file at `path` (tests, portable installs)."""
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            return cls(QSettings(str(path), QSettings.Format.IniFormat))
        return cls(QSettings(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION))

    def get(self, setting: Setting[T]) -> T:
        return setting.coerce(self.store.value(setting.key))

    def set(self, setting: Setting[T], value: T) -> None:
        self.store.setValue(setting.key, setting.coerce(value))
        self.store.sync()

    def reset(self, setting: Setting) -> None:
        self.store.remove(setting.key)
        self.store.sync()
