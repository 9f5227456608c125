"""Thumbnails: made off the GUI thread into a disk cache, kept in a small memory cache.

The disk cache lives in BitLens's cache folder (never beside the photos) and is keyed
by path, size and modification time, so an edited photo gets a new thumbnail.
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage, QPixmap

from .jobs import THUMBS, JobContext, JobRunner, Stale

MEMORY_ITEMS = 2000  # pixmaps kept in RAM (about 100 KB each at 160 px)


def pil_to_qimage(image) -> QImage:
    """A QImage that owns a copy of a PIL image's pixels (safe to pass between threads)."""
    rgb = image.convert("RGB")
    data = rgb.tobytes()
    return QImage(data, rgb.width, rgb.height, 3 * rgb.width, QImage.Format.Format_RGB888).copy()


def load_scaled(path: str, max_side: int) -> QImage:
    """Decode a photo upright, scaled to fit `max_side` (JPEGs decode at reduced size)."""
    from PIL import Image

    from engine.facade import load_rgb

    image = load_rgb(path, max_side)
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return pil_to_qimage(image)


def cache_file(cache_dir: Path, path: str, size: int) -> Path:
    """Where the thumbnail of this version of the photo lives in the disk cache."""
    info = os.stat(path)
    digest = hashlib.sha1(f"{path}\0{info.st_size}\0{info.st_mtime_ns}\0{size}".encode("utf-8", "surrogateescape")).hexdigest()
    return cache_dir / str(size) / digest[:2] / f"{digest}.jpg"


def make_thumbnail(cache_dir: Path, path: str, size: int) -> QImage:
    """The thumbnail of a photo: from the disk cache, else decoded and written there."""
    target = cache_file(cache_dir, path, size)
    if target.is_file():
        cached = QImage(str(target))
        if not cached.isNull():
            return cached
    image = load_scaled(path, size)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f"{target.stem}.{os.getpid()}.{id(image)}.tmp")
    if image.save(str(temporary), "JPG", 88):
        os.replace(temporary, target)  # readers never see a half-written file
    else:
        temporary.unlink(missing_ok=True)
    return image


class ThumbnailCache(QObject):
    """Hands out thumbnails that are ready and has the missing ones made in the background."""

    ready = Signal(str)  # a photo's thumbnail (or its failure) is now known

    def __init__(self, runner: JobRunner, cache_dir: Path, size: int, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.cache_dir = Path(cache_dir)
        self.size = size
        self._pixmaps: OrderedDict[str, QPixmap] = OrderedDict()
        self._pending: set[str] = set()
        self._failed: set[str] = set()
        self._generation = 0

    def get(self, path: str) -> Optional[QPixmap]:
        """The thumbnail if it is ready; otherwise None, and it is being made."""
        pixmap = self._pixmaps.get(path)
        if pixmap is not None:
            self._pixmaps.move_to_end(path)
            return pixmap
        if path not in self._failed:
            self._request(path)
        return None

    def failed(self, path: str) -> bool:
        """Whether the photo could not be decoded (the grid draws a placeholder)."""
        return path in self._failed

    def set_size(self, size: int) -> None:
        """Use another thumbnail size from now on (memory cache dropped, disk cache kept)."""
        if size != self.size:
            self.size = size
            self._pixmaps.clear()
            self.forget_pending()

    def forget_pending(self) -> None:
        """Skip requests not started yet (the grid changed); they are asked again when painted."""
        self._generation += 1
        self._pending.clear()

    def _request(self, path: str) -> None:
        if path in self._pending:
            return
        self._pending.add(path)
        generation, size, cache_dir = self._generation, self.size, self.cache_dir

        def make(ctx: JobContext) -> QImage:
            if generation != self._generation:
                raise Stale()  # scrolled away or a new query: not needed any more
            return make_thumbnail(cache_dir, path, size)

        def done(image: QImage) -> None:
            if generation != self._generation:
                return
            self._pending.discard(path)
            self._pixmaps[path] = QPixmap.fromImage(image)
            while len(self._pixmaps) > MEMORY_ITEMS:
                self._pixmaps.popitem(last=False)
            self.ready.emit(path)

        def failed(_error: BaseException) -> None:
            if generation != self._generation:
                return
            self._pending.discard(path)
            self._failed.add(path)
            self.ready.emit(path)

        self.runner.run_in_background(make, lane=THUMBS, on_success=done, on_failure=failed)
