"""The desktop app under pytest-qt (offscreen): the window, search, trust, indexing, the wizard, help."""
