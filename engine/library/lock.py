"""One writer per library across processes: an advisory lock on `library.lock`.

Searches and listings only read (SQLite's WAL lets them run beside a writer), so they
take no lock. Jobs that change the library (scan, index, train, folder changes) hold
this lock; a second process that wants to write at the same time is told clearly that
the library is in use, instead of both racing on the same rows.

Within one process every thread and every `Library` object shares one holding of the
lock (a GUI opens a library per worker thread and serialises its writes itself), so
only other processes are kept out. The kernel drops an flock when its process ends,
even on SIGKILL, so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import json
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

try:
    import fcntl
except ImportError:  # Windows: no advisory locks here; SQLite still serialises the writes
    fcntl = None  # type: ignore[assignment]  # the module or None: callers test for None


class LibraryBusy(RuntimeError):
    """Another process is changing this library right now."""


class LibraryNotWritable(PermissionError):
    """The library folder cannot be written (read-only disk or permissions)."""


class _Holding:
    """This process's hold on one lock file: an open descriptor and a nesting count."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.count = 0


_holdings: dict[str, _Holding] = {}
_guard = threading.RLock()


def holder(path: Path) -> Optional[dict]:
    """What the lock file says about the process holding it (pid, job, since), if readable."""
    try:
        return json.loads(path.read_text(encoding="utf-8") or "null")
    except (OSError, ValueError):
        return None


def _busy_message(path: Path) -> str:
    info = holder(path) or {}
    who = f"process {info['pid']}" if info.get("pid") else "another process"
    what = f" ({info['job']} since {time.strftime('%H:%M:%S', time.localtime(info['since']))})" if info.get("job") and info.get("since") else ""
    return (
        f"the library {path.parent} is in use by another BitLens ({who}{what}); "
        "searching still works, but wait until that job has finished before changing the library"
    )


def _try_lock(fd: int) -> bool:
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


@contextmanager
def writer_lock(path: Path, job: str, wait: float = 0.0) -> Iterator[None]:
    """Hold the library's writer lock for the duration of a job.

    Raises LibraryBusy if another process holds it for longer than `wait` seconds.
    Re-entrant within a process (index → scan → add_folder nest).
    """
    key = str(path)
    with _guard:
        held = _holdings.get(key)
        if held is None:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as error:
                raise LibraryNotWritable(
                    f"cannot write to the library folder {path.parent} ({error.strerror or error}): it is read-only for "
                    "BitLens; searching still works, but indexing and training need a writable library folder"
                ) from None
            deadline = time.monotonic() + wait
            while not _try_lock(fd):
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise LibraryBusy(_busy_message(path))
                time.sleep(0.1)
            # Who holds it, for the message another process shows; advisory text only.
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps({"pid": os.getpid(), "job": job, "since": time.time()}).encode("utf-8"), 0)
            held = _holdings[key] = _Holding(fd)
        held.count += 1
    try:
        yield
    finally:
        with _guard:
            held.count -= 1
            if held.count == 0:
                del _holdings[key]
                try:
                    os.ftruncate(held.fd, 0)
                finally:
                    os.close(held.fd)  # closing the descriptor releases the flock
