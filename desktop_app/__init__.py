"""BitLens desktop application (PySide6).

It drives the Qt-free engine in `engine/` through the `engine.library.library.Library`
facade and runs long engine jobs (progress callback + cancel token, `engine.jobs`) in
Qt workers. The window is built in a later step of the roadmap; see `docs/engine.md`.
"""
