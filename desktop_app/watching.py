"""Keeps the window's index in step with the library folders while the app runs.

The engine's FolderWatcher (watchdog, debounced and batched) reports changed paths on its own
thread; this object hands each batch to the GUI thread, which re-indexes the affected folders.
When the folders cannot be watched live (inotify limit), `note` says so for the status bar.
"""

from __future__ import annotations

from typing import Callable, Optional

from PySide6.QtCore import QObject, Signal

DEBOUNCE_S = 2.0
POLL_INTERVAL_S = 300.0


class FolderWatch(QObject):
    """Emits `changed(folders)` (library folders to re-index) and `note_changed(text)`."""

    changed = Signal(list)
    note_changed = Signal(str)
    _batch = Signal(object)  # from the watcher's thread, delivered queued on the GUI thread

    def __init__(
        self,
        parent: Optional[QObject] = None,
        debounce_s: float = DEBOUNCE_S,
        poll_interval_s: float = POLL_INTERVAL_S,
        watch_limit: Optional[int] = -1,
        factory: Optional[Callable] = None,
    ) -> None:
        super().__init__(parent)
        self.debounce_s = debounce_s
        self.poll_interval_s = poll_interval_s
        self.watch_limit = watch_limit
        self.folders: list[str] = []
        self.watcher = None
        self.note = ""
        self._batch.connect(self._on_batch)

    @property
    def mode(self) -> str:
        return "stopped" if self.watcher is None else self.watcher.mode

    def set_folders(self, folders: list[str]) -> None:
        """Watch exactly these library folders (restarts only when the set changed)."""
        folders = sorted(folders)
        if folders == self.folders and self.watcher is not None:
            return
        self.stop()
        self.folders = folders
        if not folders:
            self._set_note("")
            return
        try:
            from engine.facade import FolderWatcher
        except ImportError:  # watchdog missing: say so instead of failing
            self._set_note("Folder watching is off (the watchdog package is missing): use Re-scan after adding photos.")
            return
        self.watcher = FolderWatcher(
            folders, self._batch.emit, debounce_s=self.debounce_s, poll_interval_s=self.poll_interval_s, watch_limit=self.watch_limit
        ).start()
        self._set_note(self.watcher.note)

    def stop(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None

    def _set_note(self, note: str) -> None:
        self.note = note
        self.note_changed.emit(note)

    def _on_batch(self, batch) -> None:
        from engine.facade import library_folders_of

        affected = library_folders_of(batch, self.folders)
        if affected:
            self.changed.emit(affected)
