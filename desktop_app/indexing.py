"""The indexing queue: one index job per folder on the write lane, in the order asked.

The queue knows which folders are being indexed, re-indexes a folder whose files changed
on disk while its job ran, and says what happens through signals; the window shows it.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import QObject, Signal


from . import operations as ops
from .jobs import WRITE, Job, JobRunner


def folder_name(folder: str) -> str:
    """How messages name an index job's folder ("" is a re-scan of the whole library)."""
    return Path(folder).name if folder else "the library"


class IndexingQueue(QObject):
    """Starts index jobs and tracks them by folder; the write lane runs them one after another."""

    queued = Signal(str, object)  # folder ("" for the whole library), Job
    progressed = Signal(str, object)  # folder, ProgressEvent
    indexed = Signal(str, object)  # folder, ScanReport
    failed = Signal(str, object)  # folder, exception
    finished = Signal(str, object)  # folder, Job (its outcome set), after indexed or failed

    def __init__(self, runner: JobRunner, options: Callable[[], ops.IndexOptions], parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.options = options  # asked at each job's start: the settings may have changed
        self.running: dict[str, Job] = {}  # folder → its job, queued or running (re-scans of the library are not kept)
        self._changed_meanwhile: set[str] = set()

    @property
    def busy(self) -> bool:
        """Whether a folder is being indexed or waits its turn."""
        return bool(self.running)

    def index(self, folders: list[str]) -> None:
        """One job per folder, in this order; no folder means a re-scan of every library folder."""
        for folder in folders or [""]:
            job = self.runner.run_in_background(
                partial(ops.index_folders, folders=[folder] if folder else [], options=self.options()),
                lane=WRITE,
                label=f"Indexing {folder_name(folder)}",
                show_progress=True,
                on_progress=partial(self.progressed.emit, folder),
                on_success=partial(self.indexed.emit, folder),
                on_failure=partial(self.failed.emit, folder),
                on_finished=partial(self._finished, folder),
            )
            if folder:
                self.running[folder] = job
            self.queued.emit(folder, job)

    def changed_on_disk(self, folders: list[str]) -> None:
        """Index folders whose files changed; one being indexed now goes again once its job ends."""
        self._changed_meanwhile.update(f for f in folders if f in self.running)
        waiting = [f for f in folders if f not in self.running]
        if waiting:
            self.index(waiting)

    def cancel(self, folder: str) -> None:
        job = self.running.get(folder)
        if job is not None:
            job.cancel()

    def _finished(self, folder: str, job: Job) -> None:
        if folder:
            self.running.pop(folder, None)
        self.finished.emit(folder, job)
        if folder in self._changed_meanwhile:
            self._changed_meanwhile.discard(folder)
            self.index([folder])  # files changed on disk while this folder was being indexed
