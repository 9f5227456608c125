"""Long engine work as plain-Python jobs: a progress callback and a cancel token.

No Qt here: the desktop app wraps these in its own workers, the CLI in a tqdm bar.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional


class Cancelled(Exception):
    """Raised inside a job when its cancel token was set; the job stops cleanly."""


class CancelToken:
    """A thread-safe flag that a caller sets and a job checks between batches."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()


@dataclass(frozen=True)
class ProgressEvent:
    """One progress report: which stage, how far, and an optional line of text."""

    stage: str
    done: int
    total: Optional[int]
    message: str = ""
    data: Optional[dict] = None  # structured extras, e.g. {"loss": …, "eta_s": …} while training


ProgressCallback = Callable[[ProgressEvent], None]


class Reporter:
    """Forwards progress to a callback at most every `interval` seconds (plus stage ends)."""

    def __init__(self, callback: Optional[ProgressCallback], interval: float = 0.1) -> None:
        self._callback = callback
        self._interval = interval
        self._last = 0.0

    def __call__(self, stage: str, done: int, total: Optional[int], message: str = "", force: bool = False) -> None:
        if self._callback is None:
            return
        now = time.monotonic()
        finished = total is not None and done >= total
        if force or finished or now - self._last >= self._interval:
            self._last = now
            self._callback(ProgressEvent(stage, done, total, message))
