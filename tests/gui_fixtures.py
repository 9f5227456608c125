"""Fixtures for the desktop app's tests: a window on a tmp library, drops, waiting helpers."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable, Optional

import pytest
from conftest import make_photo, xmp_packet

WAIT_MS = 60_000  # generous: the first job of a session imports torch and open_clip


def drop_urls(target, paths: list[Path]) -> None:
    """Simulate a file manager dropping these files/folders on `target`."""
    from PySide6.QtCore import QMimeData, QUrl

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    _drop(target, mime)


def drop_image_data(target, image) -> None:
    """Simulate dropping picture data (no file) on `target`."""
    from PySide6.QtCore import QMimeData

    mime = QMimeData()
    mime.setImageData(image)
    _drop(target, mime)


def _drop(target, mime) -> None:
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    centre = QPointF(target.rect().center())
    enter = QDragEnterEvent(centre, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted(), "the drag was refused"
    drop = QDropEvent(centre, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, drop)
    assert drop.isAccepted(), "the drop was refused"


@pytest.fixture
def runner(qtbot, tmp_path: Path):
    """A job runner on an empty library of its own, shut down after the test."""
    from desktop_app.jobs import JobRunner

    runner = JobRunner(str(tmp_path / "library"))
    yield runner
    runner.shutdown()


@pytest.fixture
def gui_settings(tmp_path: Path):
    """Settings in an INI file under tmp (never the user's), with small thumbnails."""
    from desktop_app import settings as s

    settings = s.Settings.open(tmp_path / "settings" / "bitlens.ini")
    settings.set(s.THUMBNAIL_SIZE, 96)
    return settings


@pytest.fixture
def make_window(qtbot, gui_settings, tmp_path: Path):
    """Build a started window on a library folder; the tiny offline model unless told otherwise."""
    from desktop_app.first_run import ModelChoice
    from desktop_app.mainwindow import MainWindow

    windows = []

    tiny = ModelChoice(backbone="tiny")

    def build(
        library: Optional[Path] = None,
        model: Optional[ModelChoice] = tiny,
        first_run: str = "skip",
        weights_cached: Callable[[], bool] = lambda: True,
        start: bool = True,
    ) -> MainWindow:
        window = MainWindow(gui_settings, str(library or tmp_path / "library"), model_override=model, first_run=first_run, weights_cached=weights_cached)
        window.photo_actions.open_url = lambda url: window.errors.append(f"opened {url.toLocalFile()}") or True
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        if start:
            with qtbot.waitSignal(window.overview_loaded, timeout=WAIT_MS):
                window.start()
        return window

    yield build
    for window in windows:
        window.close()  # stops the job runner's workers and closes their libraries


@pytest.fixture(scope="module")
def indexed_template(tmp_path_factory):
    """A photo folder and a library indexed with the tiny model, built once per module."""
    from engine.facade import BitLens

    from engine.models.backbones import BackboneSpec

    root = tmp_path_factory.mktemp("gui-template")
    photos = root / "Holiday photos"
    for i in range(12):
        make_photo(photos / "2019-07 beach" / f"beach_{i:02d}.jpg", 100 + i, size=(200, 150))
    make_photo(photos / "Camera Roll" / "DSC01234.jpg", 300)
    (photos / "Camera Roll" / "DSC01234.xmp").write_text(xmp_packet(["waves", "sand"]), encoding="utf-8")
    with BitLens(root / "library") as library:
        library.index([photos], backbone=BackboneSpec.from_args("tiny"))
    return photos, root / "library"


@pytest.fixture
def indexed_library(indexed_template, tmp_path: Path):
    """A private copy of the indexed library (the photos are shared and only read)."""
    photos, template = indexed_template
    library = tmp_path / "library"
    shutil.copytree(template, library)
    return photos, library
