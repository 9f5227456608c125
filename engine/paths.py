"""Where BitLens keeps its own files (never inside the user's photo folders)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "BitLens"
HOME_ENV = "BITLENS_HOME"


@dataclass(frozen=True)
class LibraryPaths:
    """The files of one library: its database, its models and its caches."""

    root: Path
    cache: Path

    @property
    def database(self) -> Path:
        return self.root / "library.sqlite"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def lock(self) -> Path:
        return self.root / "library.lock"

    def ensure(self) -> "LibraryPaths":
        """Create the folders (not the database) if they do not exist yet."""
        for folder in (self.root, self.models, self.cache):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def library_paths(library: str | os.PathLike[str] | None = None) -> LibraryPaths:
    """Resolve the library folder: an explicit path, else $BITLENS_HOME, else platformdirs.

    With an explicit folder or BITLENS_HOME everything (caches too) lives below it, so
    a test or a portable install never spills into the user's real data directories.
    """
    chosen = library or os.environ.get(HOME_ENV)
    if chosen:
        root = Path(chosen).expanduser().resolve()
        return LibraryPaths(root=root, cache=root / "cache")
    import platformdirs

    root = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    cache = Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
    return LibraryPaths(root=root, cache=cache)
