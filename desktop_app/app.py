"""The `bitlens-gui` command: arguments, the QApplication, the window, startup markers."""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Optional, Sequence

# Measured from here: the interpreter and this module are loaded, nothing of Qt yet.
_STARTED = time.perf_counter()

MARKERS_ENV = "BITLENS_STARTUP_MARKERS"


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bitlens-gui", description="BitLens: search your photo folders by text or by example image.")
    parser.add_argument("folders", nargs="*", metavar="FOLDER", help="photo folders to add and index in the background at start")
    parser.add_argument("--library", metavar="DIR", help="library folder (default: $BITLENS_HOME, else the settings, else the user data folder)")
    parser.add_argument(
        "--backbone", help="model for a library that has none yet, this run only: 'tiny' (offline, random weights), an open_clip name or a config .json"
    )
    parser.add_argument("--pretrained", help="open_clip pretrained tag for --backbone")
    parser.add_argument("--weights", metavar="FILE", help="local weights file for --backbone")
    parser.add_argument("--settings", metavar="FILE", help="keep settings in this INI file instead of the user's settings")
    parser.add_argument("--query", metavar="TEXT", help="search for TEXT as soon as the library is open")
    parser.add_argument("--no-first-run", action="store_true", help="never show the model dialog (scripted runs)")
    parser.add_argument("--startup-markers", action="store_true", help=f"print timing marker lines on stdout (also ${MARKERS_ENV}=1)")
    parser.add_argument("--quit-after-results", action="store_true", help="quit once the first query's results are shown (benchmarks)")
    from engine import __version__

    parser.add_argument("--version", action="version", version=f"bitlens-gui {__version__}")
    return parser.parse_args(argv)


def _marker(enabled: bool, name: str) -> None:
    if enabled:
        print(f"bitlens-gui: {name} {time.perf_counter() - _STARTED:.3f}", flush=True)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Start the desktop app; returns the exit status."""
    args = parse_args(argv)
    markers = args.startup_markers or os.environ.get(MARKERS_ENV, "") not in ("", "0")

    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    from . import settings as s
    from .first_run import ModelChoice
    from .mainwindow import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "bitlens-gui"])
    app.setApplicationName(s.APPLICATION)
    app.setOrganizationName(s.ORGANIZATION)
    app.setApplicationDisplayName("BitLens")
    from engine import __version__

    from .icon import app_icon
    from .style import apply_style, follow_system

    app.setApplicationVersion(__version__)
    app.setWindowIcon(app_icon())
    apply_style(app)
    follow_system(app)
    settings = s.Settings.open(args.settings)
    # Precedence as in the CLI: --library, then $BITLENS_HOME, then the stored setting, then platformdirs.
    library = args.library or (None if os.environ.get("BITLENS_HOME") else settings.get(s.LIBRARY_LOCATION) or None)
    override = ModelChoice(args.backbone or "", args.pretrained or "", args.weights or "") if (args.backbone or args.pretrained or args.weights) else None
    window = MainWindow(settings, library, model_override=override, first_run="skip" if args.no_first_run else "ask")

    class ExposeWatcher(QObject):
        """Reports the first time the window is really on screen."""

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Expose and window.windowHandle() is not None and window.windowHandle().isExposed():
                watched.removeEventFilter(self)
                _marker(markers, "window-exposed")
            return False

    window.show()
    gaps = {"last": time.perf_counter(), "worst": 0.0}
    if markers:
        # How long the event loop was ever blocked until the first answer (torch's import included).
        def tick() -> None:
            now = time.perf_counter()
            gaps["worst"] = max(gaps["worst"], now - gaps["last"])
            gaps["last"] = now

        ticker = QTimer(window)
        ticker.setInterval(10)
        ticker.timeout.connect(tick)
        ticker.start()
    watcher = ExposeWatcher(window)
    window.windowHandle().installEventFilter(watcher)

    answered = {"done": False}

    def results_shown(page) -> None:
        if answered["done"] or (args.query and page.distances is None):
            return
        answered["done"] = True
        _marker(markers, "first-results")
        if markers:
            print(f"bitlens-gui: largest-event-loop-gap {gaps['worst']:.3f}", flush=True)
        if args.quit_after_results:
            QTimer.singleShot(0, window.close)

    window.results_shown.connect(results_shown)
    if args.query or args.folders:

        def once_open(_overview) -> None:
            window.overview_loaded.disconnect(once_open)
            if args.folders:
                window.add_folders(args.folders)
            if args.query:
                window.search.set_text(args.query)

        window.overview_loaded.connect(once_open)
    QTimer.singleShot(0, window.start)
    status = app.exec()
    return status
