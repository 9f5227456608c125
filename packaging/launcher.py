"""Entry script of the bundle: one program, two names.

The bundle holds two executables built from this script: `bitlens-gui` starts the
desktop app, `bitlens` is the command line. A first argument `gui` or `cli` picks
explicitly (handy on macOS, where the .app runs the GUI name).
"""

from __future__ import annotations

import multiprocessing
import os
import sys


def main() -> int:
    multiprocessing.freeze_support()
    argv = sys.argv[1:]
    name = os.path.basename(sys.executable if getattr(sys, "frozen", False) else sys.argv[0]).lower()
    wants_gui = "gui" in name
    if argv[:1] in (["gui"], ["cli"]):
        wants_gui, argv = argv[0] == "gui", argv[1:]
    if wants_gui:
        from desktop_app.app import main as gui

        return gui(argv)
    from engine.cli import main as cli

    return cli(argv)


if __name__ == "__main__":
    sys.exit(main())
