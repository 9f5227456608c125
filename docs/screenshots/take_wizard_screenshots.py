"""Walk the training wizard and save a screenshot of every page here.

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/take_wizard_screenshots.py

Each window is rendered by Qt itself (`QWidget.grab`), so any platform does: offscreen,
or an X display such as `xvfb-run -a -s "-screen 0 1280x800x24"` with QT_QPA_PLATFORM=xcb.

It indexes a few albums of the scenes benchmark (read in place, never written) into a
fresh library under /tmp with the offline stand-in CLIP, then trains, evaluates and
activates a model through the wizard. The Data, Model and
Evaluate pages are also saved at 800×500 and in the dark palette (NAME-800x500.png,
NAME-dark.png, NAME-800x500-dark.png), the others at the wizard's size in light only.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SHARED = REPO.parent / "shared" / "benchmark"
sys.path.insert(0, str(REPO))

from take_screenshots import fresh_library  # noqa: E402 - the same safe clean-up as the main screenshots


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--library", default="/tmp/bitlens-wizard-shots/library")
    parser.add_argument("--photos", default=str(SHARED / "scenes-s0"))
    parser.add_argument("--albums", type=int, default=8, help="how many albums of the scenes set to index")
    parser.add_argument("--epochs", type=int, default=12, help="epochs to train (0: what the wizard proposes for this library)")
    args = parser.parse_args()

    from PySide6.QtWidgets import QApplication

    from desktop_app import settings as s
    from desktop_app.first_run import ModelChoice
    from desktop_app.mainwindow import MainWindow
    from engine.library.library import Library
    from engine.models.backbones import BackboneSpec

    library = Path(args.library)
    fresh_library(library)
    config, weights = SHARED / "backbone" / "scenes-clip-tiny.json", SHARED / "backbone" / "scenes-clip-tiny.safetensors"
    albums = sorted(p for p in Path(args.photos).iterdir() if p.is_dir() and p.name != "Camera Roll")[: args.albums]
    started = time.monotonic()
    with Library(library) as engine_library:
        engine_library.index(albums, backbone=BackboneSpec.from_args(str(config), weights=str(weights)))
        print(f"indexed {engine_library.status()['photos']} photos in {time.monotonic() - started:.0f} s", flush=True)

    app = QApplication(["bitlens-gui"])
    from desktop_app.style import apply_style

    apply_style(app, "light")
    settings = s.Settings.open(library.parent / "settings.ini")
    window = MainWindow(settings, str(library), model_override=ModelChoice(backbone=str(config), weights=str(weights)), first_run="skip")
    window.move(0, 0)
    window.resize(1280, 800)
    window.show()

    def wait(condition, timeout: float = 900.0, settle: float = 0.0) -> None:
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

    def grab(name: str, widget) -> None:
        app.processEvents()
        widget.grab().save(str(HERE / f"{name}.png"))
        print(f"saved {name}.png", flush=True)

    def grab_variants(name: str, wizard) -> None:
        """The page at the wizard's size and at 800×500, light and dark; back to light at the wizard's size."""
        for scheme in ("light", "dark"):
            apply_style(app, scheme)
            for width, height in ((1100, 700), (800, 500)):
                wizard.resize(width, height)
                wait(lambda: True, settle=0.4)
                grab(name + ("" if width == 1100 else f"-{width}x{height}") + ("" if scheme == "light" else "-dark"), wizard)
        apply_style(app, "light")
        wizard.resize(1100, 700)
        wait(lambda: True, settle=0.3)

    window.start()
    wait(lambda: window.overview is not None, settle=0.5)
    wizard = window.models_menu.open_training_wizard(default_epochs=args.epochs or None)
    wizard.move(60, 40)
    wizard.resize(1100, 700)
    wait(lambda: wizard.data_page.isComplete(), settle=0.5)
    grab_variants("wizard-data", wizard)

    wizard.next()
    wait(lambda: wizard.model_page.estimate_seconds is not None, settle=0.3)
    grab_variants("wizard-model", wizard)

    wizard.next()
    session = wizard.plan.session
    wait(lambda: len(session.epochs) >= max(2, args.epochs // 2) or not session.running, settle=0.2)
    grab("wizard-train", wizard)
    wait(lambda: not session.running)
    if session.state != "ok":
        print(f"training ended: {session.state} {session.error}", flush=True)
        return 1

    wizard.next()
    wait(lambda: wizard.evaluate_page.isComplete(), settle=0.5)
    grab_variants("wizard-evaluate", wizard)

    wizard.next()
    wizard.activate_page.activate_button.click()
    wait(lambda: wizard.activate_page.activated, settle=0.5)
    grab("wizard-activate", wizard)
    wizard.close()

    dialog = window.open_models()
    dialog.move(120, 120)
    wait(lambda: len(dialog.rows) >= 1, settle=0.5)
    dialog.select_model(session.model_id)
    wait(lambda: True, settle=0.3)
    grab("models-dialog", dialog)
    dialog.close()
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
