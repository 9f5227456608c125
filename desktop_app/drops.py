"""What a drag from a file manager or another app carries: folders, photo files, image data."""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMimeData
from PySide6.QtGui import QImage

QUERY_IMAGES_KEPT = 20  # dropped pictures kept in the cache for re-running recent queries


@dataclass
class Dropped:
    """The usable parts of a drop."""

    folders: list[str] = field(default_factory=list)
    photos: list[str] = field(default_factory=list)
    image: Optional[QImage] = None  # pixels without a file (dragged from a browser, say)

    @property
    def empty(self) -> bool:
        return not self.folders and not self.photos and self.image is None


def is_photo(path: str) -> bool:
    """Whether a file has an extension the library can index."""
    from engine.facade import SUPPORTED_EXTENSIONS

    return os.path.splitext(path)[1].lower() in SUPPORTED_EXTENSIONS


def might_carry_something(mime: QMimeData) -> bool:
    """A cheap check for drag-enter (no disk access): local files or image data."""
    return mime.hasImage() or any(url.isLocalFile() for url in mime.urls())


def read_drop(mime: QMimeData) -> Dropped:
    """Sort a drop into folders, photo files and image data; everything else is ignored."""
    dropped = Dropped()
    for url in mime.urls():
        if not url.isLocalFile():
            continue
        path = url.toLocalFile()
        if os.path.isdir(path):
            dropped.folders.append(path)
        elif os.path.isfile(path) and is_photo(path):
            dropped.photos.append(path)
    if not dropped.folders and not dropped.photos and mime.hasImage():
        image = mime.imageData()
        if isinstance(image, QImage) and not image.isNull():
            dropped.image = image
    return dropped


def save_query_image(image: QImage, cache_dir: Path) -> str:
    """Save dropped pixels as a PNG in the cache (never beside the photos); returns its path."""
    folder = Path(cache_dir) / "query-images"
    folder.mkdir(parents=True, exist_ok=True)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise OSError("the dropped picture could not be encoded")
    buffer.close()
    raw = bytes(data.data())
    target = folder / f"dropped-{hashlib.sha1(raw).hexdigest()[:16]}.png"
    if not target.exists():
        temporary = target.with_suffix(".tmp")
        temporary.write_bytes(raw)
        os.replace(temporary, target)
    os.utime(target, (time.time(), time.time()))
    _prune(folder)
    return str(target)


def _prune(folder: Path) -> None:
    """Keep only the most recent dropped pictures."""
    files = sorted(folder.glob("dropped-*.png"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[QUERY_IMAGES_KEPT:]:
        old.unlink(missing_ok=True)
