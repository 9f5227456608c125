"""The one way the app runs work off the GUI thread: lanes, progress, cancel and callbacks.

Like Anki's `CollectionOp`/`QueryOp`, a caller hands `run_in_background` a function of
a `JobContext` plus success/failure callbacks; the function runs on a worker thread of
its *lane*, and the callbacks run back on the GUI thread. Lanes keep the rules in one
place: `write` has a single worker, so database writes and indexing happen one at a
time; `search` and `read` each have one worker of their own, so a long index never
delays a query; `thumbs` decodes pictures on a small pool; `io` is for downloads and
small file jobs. A job started with a `key` replaces the previous job with that key:
the older one is skipped if it has not started and its result dropped if it has.

SQLite connections are never shared between threads: each worker thread opens its own
`BitLens` (the engine's facade) on first use (`JobContext.library`), and they are all closed at shutdown.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Optional

from PySide6.QtCore import QObject, Qt, Signal, Slot

from engine.jobs import Cancelled, CancelToken, ProgressEvent

if TYPE_CHECKING:  # the engine's facade pulls in SQLAlchemy: only workers import it
    from engine.facade import BitLens

log = logging.getLogger(__name__)

WRITE = "write"
SEARCH = "search"
READ = "read"
THUMBS = "thumbs"
IO = "io"
# Workers per lane. `write` must stay 1: SQLite has one writer, and serialising the
# writes here keeps them from waiting on each other's locks inside the database.
LANES: dict[str, int] = {WRITE: 1, SEARCH: 1, READ: 1, THUMBS: 2, IO: 1}

PROGRESS_INTERVAL = 0.05  # seconds between progress signals of one job (stage ends always pass)


class Stale(Exception):
    """Raised inside a job whose result nobody wants any more (a newer one replaced it)."""


@dataclass(eq=False)
class Job:
    """One background call: what it is, how it ends, and how to stop it."""

    id: int
    label: str
    lane: str
    key: Optional[str]
    show_progress: bool
    cancel_token: CancelToken = field(default_factory=CancelToken)
    last_progress: Optional[ProgressEvent] = None
    outcome: Optional[str] = None  # "ok", "failed", "cancelled" or "stale" once finished

    def cancel(self) -> None:
        self.cancel_token.cancel()

    @property
    def cancelled(self) -> bool:
        return self.cancel_token.cancelled


@dataclass(eq=False)
class _Callbacks:
    on_success: Optional[Callable[[Any], None]]
    on_failure: Optional[Callable[[BaseException], None]]
    on_progress: Optional[Callable[[ProgressEvent], None]]
    on_finished: Optional[Callable[[Job], None]]


class JobContext:
    """What a job function gets on its worker thread: the library, progress, cancel."""

    def __init__(self, runner: "JobRunner", job: Job) -> None:
        self._runner = runner
        self.job = job
        self._last_emit = 0.0
        self._last_stage = ""

    @property
    def library(self) -> "BitLens":
        """This worker thread's own library facade (opened on first use, never shared)."""
        return self._runner._thread_library()

    @property
    def cancel(self) -> CancelToken:
        return self.job.cancel_token

    @property
    def state(self) -> dict:
        """A dict private to this worker thread, for things worth keeping (a searcher)."""
        return self._runner._thread_state()

    def check(self) -> None:
        """Stop here if the job was cancelled or replaced by a newer one."""
        self.job.cancel_token.raise_if_cancelled()
        if self._runner.is_stale(self.job):
            raise Stale()

    def progress(self, event: ProgressEvent) -> None:
        """Report progress (an engine progress callback); throttled, stage changes always pass."""
        now = time.monotonic()
        ends = event.total is not None and event.done >= event.total
        if event.stage != self._last_stage or ends or now - self._last_emit >= PROGRESS_INTERVAL:
            self._last_emit, self._last_stage = now, event.stage
            self._runner._progress.emit(self.job, event)


class JobRunner(QObject):
    """Runs functions on lane workers and calls back on the GUI thread."""

    started = Signal(object)  # Job
    progressed = Signal(object, object)  # Job, ProgressEvent
    finished = Signal(object)  # Job (its outcome is set)
    failed = Signal(object, object)  # Job, exception: for jobs without an on_failure callback

    # Worker → GUI thread. Emitted from workers, so Qt queues them to this object's thread.
    _started = Signal(object)
    _progress = Signal(object, object)
    _done = Signal(object, str, object)

    def __init__(self, library_location: Optional[str] = None, lanes: Optional[dict[str, int]] = None, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.library_location = library_location
        self._executors = {name: ThreadPoolExecutor(count, thread_name_prefix=f"bitlens-{name}") for name, count in (lanes or LANES).items()}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._open_lock = threading.Lock()
        self._latest: dict[str, int] = {}
        self._active: dict[int, Job] = {}
        self._callbacks: dict[int, _Callbacks] = {}
        self._local = threading.local()
        self._libraries: list["BitLens"] = []
        self._closed = False
        queued = Qt.ConnectionType.QueuedConnection
        self._started.connect(self._on_started, queued)
        self._progress.connect(self._on_progress, queued)
        self._done.connect(self._on_done, queued)

    # -- the API --------------------------------------------------------------------

    def run_in_background(
        self,
        fn: Callable[[JobContext], Any],
        *,
        lane: str = WRITE,
        label: str = "",
        key: Optional[str] = None,
        show_progress: bool = False,
        on_success: Optional[Callable[[Any], None]] = None,
        on_failure: Optional[Callable[[BaseException], None]] = None,
        on_progress: Optional[Callable[[ProgressEvent], None]] = None,
        on_finished: Optional[Callable[[Job], None]] = None,
    ) -> Job:
        """Run `fn(context)` on a worker of `lane`; callbacks come back on the GUI thread."""
        job = Job(next(self._ids), label, lane, key, show_progress)
        if self._closed:
            # The window is closing and late callbacks may still ask for work: do nothing.
            job.outcome = "cancelled"
            return job
        with self._lock:
            if key is not None:
                previous = self._latest.get(key)
                self._latest[key] = job.id
                if previous is not None and previous in self._active:
                    self._active[previous].cancel()  # a replaced query stops at its next check
            self._active[job.id] = job
            self._callbacks[job.id] = _Callbacks(on_success, on_failure, on_progress, on_finished)
        self._executors[lane].submit(self._execute, fn, job)
        return job

    def is_stale(self, job: Job) -> bool:
        """Whether a newer job with the same key has replaced this one."""
        with self._lock:
            return job.key is not None and self._latest.get(job.key) != job.id

    def active_jobs(self, lane: Optional[str] = None) -> list[Job]:
        with self._lock:
            return [job for job in self._active.values() if lane is None or job.lane == lane]

    def idle(self, lane: Optional[str] = None) -> bool:
        return not self.active_jobs(lane)

    def cancel_all(self, lane: Optional[str] = None) -> None:
        for job in self.active_jobs(lane):
            job.cancel()

    def shutdown(self, wait: bool = True) -> None:
        """Cancel everything, stop the workers and close the per-thread libraries."""
        if self._closed:
            return
        self._closed = True
        self.cancel_all()
        for executor in self._executors.values():
            executor.shutdown(wait=wait, cancel_futures=True)
        with self._lock:
            libraries, self._libraries = self._libraries, []
        for library in libraries:
            try:
                library.close()
            except Exception:  # closing must not stop the others from closing
                log.exception("closing a library failed")

    # -- on the worker threads ----------------------------------------------------------

    def _execute(self, fn: Callable[[JobContext], Any], job: Job) -> None:
        if self.is_stale(job):
            self._done.emit(job, "stale", None)
            return
        if job.cancelled:
            self._done.emit(job, "cancelled", None)
            return
        self._started.emit(job)
        try:
            result = fn(JobContext(self, job))
        except Cancelled:
            self._done.emit(job, "cancelled", None)
        except Stale:
            self._done.emit(job, "stale", None)
        except Exception as error:  # reported to the GUI: a job must never kill its worker
            if job.cancelled:
                self._done.emit(job, "cancelled", None)
            else:
                log.debug("job %s failed", job.label or job.id, exc_info=True)
                self._done.emit(job, "failed", error)
        else:
            self._done.emit(job, "cancelled" if job.cancelled else "ok", result)

    def _thread_library(self) -> "BitLens":
        library = getattr(self._local, "library", None)
        if library is None:
            from engine.facade import BitLens

            # One thread opens at a time: the engine's migration reads the schema version
            # before taking its write lock, so two first opens of a new library would both
            # try to create the tables.
            with self._open_lock:
                library = BitLens(self.library_location)
            self._local.library = library
            with self._lock:
                self._libraries.append(library)
        return library

    def _thread_state(self) -> dict:
        state = getattr(self._local, "state", None)
        if state is None:
            state = self._local.state = {}
        return state

    # -- back on the GUI thread ------------------------------------------------------

    @Slot(object)
    def _on_started(self, job: Job) -> None:
        self.started.emit(job)

    @Slot(object, object)
    def _on_progress(self, job: Job, event: ProgressEvent) -> None:
        if self._closed or job.outcome is not None or self.is_stale(job):
            return
        job.last_progress = event
        callbacks = self._callbacks.get(job.id)
        if callbacks and callbacks.on_progress:
            callbacks.on_progress(event)
        self.progressed.emit(job, event)

    @Slot(object, str, object)
    def _on_done(self, job: Job, outcome: str, payload: Any) -> None:
        if self._closed:
            job.outcome = job.outcome or "cancelled"
            return  # the window is gone or going: nobody to call back
        if outcome == "ok" and self.is_stale(job):
            outcome = "stale"  # finished, but a newer query has been asked since
        job.outcome = outcome
        with self._lock:
            self._active.pop(job.id, None)
            callbacks = self._callbacks.pop(job.id, None)
            if job.key is not None and self._latest.get(job.key) == job.id:
                del self._latest[job.key]
        try:
            if callbacks is None:
                return
            if outcome == "ok" and callbacks.on_success:
                callbacks.on_success(payload)
            elif outcome == "failed":
                if callbacks.on_failure:
                    callbacks.on_failure(payload)
                else:
                    self.failed.emit(job, payload)
        finally:
            if callbacks and callbacks.on_finished:
                callbacks.on_finished(job)
            self.finished.emit(job)
