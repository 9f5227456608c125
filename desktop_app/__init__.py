"""BitLens desktop application (PySide6): `bitlens-gui [--library DIR] [FOLDER...]`.

It drives the Qt-free engine in `engine/` through the `engine.library.library.Library`
facade. Every engine call is a small function in `operations.py` that runs off the GUI
thread through the one job helper, `jobs.JobRunner.run_in_background`; torch and
open_clip are imported inside those jobs, after the window is on screen. The design
note is `docs/desktop_app.md`.
"""
