"""The `bitlens` command, problem reports, and the PyInstaller bundle."""
