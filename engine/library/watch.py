"""Watching library folders for new, changed, moved and deleted photos (Qt-free).

File events come from `watchdog` (inotify on Linux, FSEvents on macOS, ReadDirectoryChanges
on Windows). Events are debounced and batched: a batch is handed over once the folders have
been quiet for `debounce_s`, or at the latest `max_wait_s` after its first event, so copying
a thousand photos in gives a few rescans, not a thousand.

inotify needs one watch per directory and the system caps them
(`/proc/sys/fs/inotify/max_user_watches`, shared by every program of the user). Before
watching, the tree's directories are counted; if they would take more than half of the
limit, or the system refuses a watch (ENOSPC), the watcher falls back to a periodic rescan
every `poll_interval_s` and says why in `note`, for the UI to show.

The watcher only reads: it never writes below a photo folder.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Optional, Protocol

from .formats import SUPPORTED_EXTENSIONS

if TYPE_CHECKING:
    from watchdog.events import FileSystemEvent, FileSystemEventHandler


class Observer(Protocol):
    """What the watcher needs of a watchdog observer (a test passes its own)."""

    def schedule(self, event_handler: FileSystemEventHandler, path: str, *, recursive: bool = False) -> object: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def join(self, timeout: Optional[float] = None) -> None: ...


__all__ = ["FolderWatcher", "inotify_watch_limit", "count_directories", "is_relevant"]

SIDECAR_EXTENSIONS = frozenset({".xmp", ".txt"})
LIMIT_FILE = Path("/proc/sys/fs/inotify/max_user_watches")
LIMIT_SHARE = 0.5  # leave the other half of the user's watches to other programs

Batch = Optional[set[str]]  # changed paths, or None for "rescan everything" (polling)


def inotify_watch_limit() -> Optional[int]:
    """The system's inotify watch limit, or None where there is no inotify (macOS, Windows)."""
    try:
        return int(LIMIT_FILE.read_text().strip())
    except (OSError, ValueError):
        return None


def count_directories(roots: Iterable[str], stop_after: int) -> int:
    """Directories below the roots (the roots included), counting no further than `stop_after`."""
    count = 0
    for root in roots:
        stack = [root]
        while stack:
            folder = stack.pop()
            count += 1
            if count > stop_after:
                return count
            try:
                with os.scandir(folder) as entries:
                    stack.extend(e.path for e in entries if e.is_dir(follow_symlinks=False))
            except OSError:
                continue
    return count


def is_relevant(path: str) -> bool:
    """Photos and their sidecars matter; anything else (editor temp files, .DS_Store) does not."""
    suffix = os.path.splitext(path)[1].lower()
    name = os.path.basename(path)
    if name.startswith(".") or name.endswith("~"):
        return False
    return suffix in SUPPORTED_EXTENSIONS or suffix in SIDECAR_EXTENSIONS or suffix == ""  # "" = a folder


class FolderWatcher:
    """Calls `on_batch(paths)` with debounced batches of changed paths (None: rescan all, when polling)."""

    def __init__(
        self,
        folders: Iterable[str],
        on_batch: Callable[[Batch], None],
        debounce_s: float = 2.0,
        max_wait_s: float = 30.0,
        poll_interval_s: float = 300.0,
        watch_limit: Optional[int] = -1,
        observer_factory: Optional[Callable[[], Observer]] = None,
    ) -> None:
        self.folders = [str(Path(f)) for f in folders]
        self.on_batch = on_batch
        self.debounce_s = debounce_s
        self.max_wait_s = max_wait_s
        self.poll_interval_s = poll_interval_s
        self.watch_limit = inotify_watch_limit() if watch_limit == -1 else watch_limit
        self.observer_factory = observer_factory
        self.mode = "stopped"  # "watching", "polling" or "stopped"
        self.note = ""
        self._pending: set[str] = set()
        self._first = 0.0
        self._last = 0.0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._observer: Optional[Observer] = None
        self._thread: Optional[threading.Thread] = None

    # -- starting and stopping -------------------------------------------------------------

    def start(self) -> "FolderWatcher":
        self._stop.clear()
        folders = [f for f in self.folders if os.path.isdir(f)]
        if self.watch_limit is not None:
            budget = int(self.watch_limit * LIMIT_SHARE)
            needed = count_directories(folders, budget)
            if needed > budget:
                self._poll(
                    f"These folders hold more sub-folders than the system lets BitLens watch (inotify limit "
                    f"{self.watch_limit:,} watches, shared with other programs)"
                )
                return self
        try:
            self._observer = self._watch(folders)
        except OSError as error:
            if error.errno in (errno.ENOSPC, errno.EMFILE):
                self._poll(f"The system refused more folder watches ({error.strerror or error})")
                return self
            raise
        self.mode = "watching"
        self.note = ""
        self._thread = threading.Thread(target=self._debounce_loop, name="bitlens-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._observer is not None:
            try:
                self._observer.stop()
                self._observer.join(timeout=5)
            except RuntimeError:
                pass
            self._observer = None
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._thread = None
        self.mode = "stopped"

    def __enter__(self) -> "FolderWatcher":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- watching ----------------------------------------------------------------------------

    def _watch(self, folders: list[str]) -> Observer:
        from watchdog.events import FileSystemEventHandler

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.event_type in ("opened", "closed_no_write"):
                    return
                paths = [event.src_path, getattr(event, "dest_path", "") or ""]
                watcher.notice(os.fsdecode(p) for p in paths if p)

        observer: Observer
        if self.observer_factory is not None:
            observer = self.observer_factory()
        else:
            from watchdog.observers import Observer as WatchdogObserver

            observer = WatchdogObserver()
        handler = Handler()
        for folder in folders:
            observer.schedule(handler, folder, recursive=True)
        observer.start()
        return observer

    def notice(self, paths: Iterable[str]) -> None:
        """Record changed paths (called from the observer's thread; tests may call it too)."""
        relevant = [p for p in paths if is_relevant(p)]
        if not relevant:
            return
        now = time.monotonic()
        with self._lock:
            if not self._pending:
                self._first = now
            self._pending.update(relevant)
            self._last = now
        self._wake.set()

    def _debounce_loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                pending = bool(self._pending)
                due = min(self._last + self.debounce_s, self._first + self.max_wait_s) if pending else None
            if due is None:
                self._wake.wait()
                self._wake.clear()
                continue
            delay = due - time.monotonic()
            if delay > 0:
                self._wake.wait(delay)
                self._wake.clear()
                continue
            with self._lock:
                batch, self._pending = self._pending, set()
            self._deliver(batch)

    # -- polling -----------------------------------------------------------------------------

    def _poll(self, why: str) -> None:
        minutes = self.poll_interval_s / 60
        every = f"{minutes:g} minutes" if minutes >= 1 else f"{self.poll_interval_s:g} seconds"
        self.mode = "polling"
        self.note = f"{why}: changes are picked up by a rescan every {every} instead of as they happen."
        if self.watch_limit is not None:
            self.note += " (Raising fs.inotify.max_user_watches lets BitLens watch them live.)"
        self._thread = threading.Thread(target=self._poll_loop, name="bitlens-poll", daemon=True)
        self._thread.start()

    def _poll_loop(self) -> None:
        while not self._stop.wait(self.poll_interval_s):
            self._deliver(None)

    def _deliver(self, batch: Batch) -> None:
        try:
            self.on_batch(batch)
        except Exception:  # noqa: BLE001 - a failing consumer must not kill the watcher
            import logging

            logging.getLogger(__name__).exception("handling a batch of folder changes failed")


def library_folders_of(paths: Optional[set[str]], folders: Iterable[str]) -> list[str]:
    """The library folders that contain any of the changed paths (all of them for None)."""
    folders = list(folders)
    if paths is None:
        return folders
    hit = []
    for folder in folders:
        prefix = folder.rstrip(os.sep) + os.sep
        if any(p == folder or p.startswith(prefix) for p in paths):
            hit.append(folder)
    return hit
