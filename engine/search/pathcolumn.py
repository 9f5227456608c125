"""Photo paths by row position, read from the database when asked for.

A searcher over a million photos needs a path only for the results it shows; loading a
million Python strings up front would cost more than everything else it loads.  This
column behaves like the list it replaces (``len``, ``column[i]``, iteration): single
rows are read by id (and remembered), and the first full iteration reads them all once.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Iterator, Optional

import numpy as np

from ..library.store import BUSY_TIMEOUT_MS, Store, _configure


class PathColumn:
    """``paths[i]`` is the path of the photo with id ``ids[i]``."""

    def __init__(self, store: Store, ids: np.ndarray) -> None:
        self._store_path = store.path
        self._ids = ids
        self._known: dict[int, str] = {}
        self._all: Optional[list[str]] = None
        self._lock = threading.Lock()
        self._db: Optional[sqlite3.Connection] = None

    def __len__(self) -> int:
        return int(self._ids.shape[0])

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            # One connection, used under the lock: searches may run on any worker thread.
            self._db = sqlite3.connect(self._store_path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
            _configure(self._db)
        return self._db

    def __getitem__(self, position: int) -> str:
        if isinstance(position, slice):
            return [self[i] for i in range(*position.indices(len(self)))]
        if self._all is not None:
            return self._all[position]
        image_id = int(self._ids[position])
        with self._lock:
            path = self._known.get(image_id)
            if path is None:
                row = self._connection().execute("SELECT path FROM images WHERE id = ?", (image_id,)).fetchone()
                path = row[0] if row is not None else ""  # removed since the searcher loaded
                self._known[image_id] = path
        return path

    def __iter__(self) -> Iterator[str]:
        return iter(self.all())

    def all(self) -> list[str]:
        """Every path in row order (one query, then kept)."""
        if self._all is None:
            with self._lock:
                rows = self._connection().execute("SELECT id, path FROM images ORDER BY id").fetchall()
            found_ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            at = np.searchsorted(found_ids, self._ids)
            paths = []
            for image_id, i in zip(self._ids.tolist(), at.tolist()):
                paths.append(rows[i][1] if i < len(rows) and rows[i][0] == image_id else "")
            self._all = paths
        return self._all

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
