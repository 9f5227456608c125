"""BitLens engine: the Qt-free core (library store, scanning, encoding, search).

Importing this package is cheap: torch and open_clip are imported lazily by the
modules that need them, so a GUI can show its window first.
"""

__version__ = "0.1.0"
