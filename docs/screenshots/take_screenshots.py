"""Drive the real app on an X display and save the screenshots in this folder.

    Xvfb :99 -screen 0 1280x800x24 &
    DISPLAY=:99 QT_QPA_PLATFORM=xcb .venv/bin/python docs/screenshots/take_screenshots.py
    DISPLAY=:99 QT_QPA_PLATFORM=xcb .venv/bin/python docs/screenshots/take_screenshots.py --scheme dark

The light run writes NAME.png, the dark run NAME-dark.png (the app's Fusion palettes);
`--size 800x500` adds the size to the name (NAME-800x500.png, NAME-800x500-dark.png).
`--reuse-library` keeps a library indexed by an earlier run (same --library) and takes
only the first-run, results and preview shots, e.g. the dark ones after the light run.

It indexes the scenes benchmark (read in place, never written) into a fresh library
under /tmp with the offline stand-in CLIP, and grabs the screen with Pillow.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SHARED = REPO.parent / "shared" / "benchmark"
sys.path.insert(0, str(REPO))


def take_indexing(window, args, wait, grab, thumbnails_done) -> None:
    """Add the photos and grab the window while they are being encoded."""
    window.add_folders([args.photos])

    def encoding_under_way() -> bool:
        events = [j.last_progress for j in window.runner.active_jobs() if j.last_progress]
        return any(e.stage == "encode" and e.total and e.done >= 0.3 * e.total for e in events)

    wait(encoding_under_way, settle=0.3)
    wait(thumbnails_done, timeout=60, settle=0.3)
    grab("indexing")


def fresh_library(library: Path) -> None:
    """Delete an earlier screenshot library: only that folder, and only if it is a BitLens library."""
    if library.exists():
        if not (library / "library.sqlite").is_file():
            raise SystemExit(f"{library} exists and is not a BitLens library: choose another --library")
        shutil.rmtree(library)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--library", default="/tmp/bitlens-screenshots/library")
    parser.add_argument("--photos", default=str(SHARED / "scenes-s0"))
    parser.add_argument("--display", default=":99")
    parser.add_argument("--query", default="a dog")
    parser.add_argument("--scheme", choices=("light", "dark"), default="light", help="the palette to show (the system's is ignored)")
    parser.add_argument("--size", default="1280x800", help="window size WxH (other than 1280x800 it is part of the file names)")
    parser.add_argument("--reuse-library", action="store_true", help="keep an indexed library from an earlier run; skip the empty and indexing shots")
    args = parser.parse_args()
    suffix = ("" if args.size == "1280x800" else f"-{args.size}") + ("" if args.scheme == "light" else f"-{args.scheme}")
    width, height = (int(v) for v in args.size.split("x"))

    from PIL import ImageGrab
    from PySide6.QtWidgets import QApplication

    from desktop_app import settings as s
    from desktop_app.first_run import FirstRunDialog, ModelChoice
    from desktop_app.mainwindow import MainWindow

    library = Path(args.library)
    if not args.reuse_library:
        fresh_library(library)
    app = QApplication(["bitlens-gui"])
    from desktop_app.icon import app_icon
    from desktop_app.style import apply_style

    apply_style(app, args.scheme)
    app.setWindowIcon(app_icon())
    settings = s.Settings.open(library.parent / "settings.ini")
    model = ModelChoice(backbone=str(SHARED / "backbone" / "scenes-clip-tiny.json"), weights=str(SHARED / "backbone" / "scenes-clip-tiny.safetensors"))
    window = MainWindow(settings, str(library), model_override=model, first_run="skip")
    window.move(0, 0)
    window.resize(width, height)
    window.show()

    def wait(condition, timeout: float = 600.0, settle: float = 0.0) -> None:
        end = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > end:
                raise TimeoutError("the app did not get there in time")
            app.processEvents()
            time.sleep(0.01)
        end = time.monotonic() + settle
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    def grab(name: str, widget=None) -> None:
        widget = widget or window
        app.processEvents()
        top_left = widget.mapToGlobal(widget.rect().topLeft())
        box = (top_left.x(), top_left.y(), top_left.x() + widget.width(), top_left.y() + widget.height())
        ImageGrab.grab(bbox=box, xdisplay=args.display).save(HERE / f"{name}{suffix}.png")
        print(f"saved {name}{suffix}.png", flush=True)

    thumbnails_done = lambda: not window.thumbnails._pending  # noqa: E731
    window.start()
    wait(lambda: window.overview is not None, settle=1.0)
    if not args.reuse_library:
        grab("empty")

    dialog = FirstRunDialog(window.runner, hub_reachable=False, parent=window)
    dialog.open()
    wait(lambda: dialog.isVisible(), settle=0.5)
    grab("first-run", dialog)
    dialog.reject()

    if not args.reuse_library:
        take_indexing(window, args, wait, grab, thumbnails_done)
    wait(lambda: not window.indexing.busy and window.has_model, timeout=1800, settle=1.0)
    window.search.set_text(args.query)
    wait(lambda: window.last_page is not None and window.last_page.distances is not None and window.last_page.query.text == args.query)
    window.sidebar.list.expandAll()  # the folder's albums (sub-folders) in the sidebar tree
    window.toggle_preview()  # the grid alone first
    wait(thumbnails_done, timeout=60, settle=0.5)
    grab("results")

    window.toggle_preview()
    window.grid.setFocus()
    window.grid.setCurrentIndex(window.results.index(0))
    wait(lambda: window.preview.details is not None and window.preview.image.pixmap() is not None and not window.preview.image.pixmap().isNull(), settle=0.3)
    wait(thumbnails_done, timeout=60, settle=0.3)
    grab("preview")

    # the filter row with the cutoff on and newest first: it wraps, nothing is squeezed
    bar = window.filters_bar
    bar.cutoff.setChecked(True)
    bar.sort.setCurrentIndex(bar.sort.findData("date"))
    wait(lambda: window.last_page is not None and window.last_page.query.sort == "date" and window.last_page.query.radius is not None)
    wait(thumbnails_done, timeout=60, settle=0.5)
    grab("filters")

    # Settings: the library's model, Model files… and Change model and re-index…
    from desktop_app.settings_dialog import SettingsDialog

    window.open_settings()
    settings_dialog = window.findChildren(SettingsDialog)[-1]
    wait(lambda: settings_dialog.isVisible(), settle=0.5)
    grab("settings", settings_dialog)
    settings_dialog.reject()
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
