"""The window's indexing queue and first-run gate, on their own: the order folders are indexed in, and when they wait."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from conftest import make_photo  # noqa: E402
from gui_fixtures import WAIT_MS  # noqa: E402

pytest_plugins = ["gui_fixtures"]


def _folder(root: Path, name: str, seed: int) -> str:
    for i in range(2):
        make_photo(root / name / f"photo_{i}.jpg", seed + i, size=(120, 90))
    return str((root / name).resolve())


def test_folders_are_indexed_in_the_order_given_and_a_folder_changed_meanwhile_goes_again(qtbot, runner, tmp_path: Path) -> None:
    from desktop_app.indexing import IndexingQueue
    from desktop_app.operations import IndexOptions

    first, second = _folder(tmp_path, "first", 10), _folder(tmp_path, "second", 20)
    queue = IndexingQueue(runner, lambda: IndexOptions(backbone="tiny"))
    queued, indexed, finished = [], [], []
    queue.queued.connect(lambda folder, _job: queued.append(folder))
    queue.indexed.connect(lambda folder, report: indexed.append((folder, report.added)))
    queue.finished.connect(lambda folder, job: finished.append((folder, job.outcome)))

    queue.index([first, second])
    assert queued == [first, second] and set(queue.running) == {first, second} and queue.busy
    queue.changed_on_disk([first])  # its job has not ended: it runs again after it, not beside it
    assert queued == [first, second]
    qtbot.waitUntil(lambda: len(finished) == 3, timeout=WAIT_MS)

    assert finished == [(first, "ok"), (second, "ok"), (first, "ok")]
    assert queued == [first, second, first]
    assert indexed == [(first, 2), (second, 2), (first, 0)]  # the second pass finds nothing new
    assert not queue.busy


def test_folders_wait_for_the_model_choice_and_are_released_in_order(qtbot, runner, monkeypatch) -> None:
    from desktop_app.first_run_gate import FirstRunGate
    from desktop_app.operations import IndexOptions

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    gate = FirstRunGate(runner, policy="ask", weights_cached=lambda: False)
    released, put_off = [], []
    gate.released.connect(released.append)
    gate.put_off.connect(put_off.append)
    assert gate.hold(["/photos/a"])  # the library is not open yet: nothing is indexed before the model is settled

    with qtbot.waitSignal(gate.ask, timeout=WAIT_MS) as asked:
        gate.check(SimpleNamespace(status={"active_model": None}), IndexOptions())
        assert gate.state == "checking"
    assert asked.args == []  # the dialog checks the hub itself (offline: at once), so it opens without waiting for the network
    assert gate.state == "needed"
    with qtbot.waitSignal(gate.ask, timeout=1000):
        assert gate.hold(["/photos/b"])  # a folder dropped while the dialog is up asks again
    gate.dialog_closed()  # "Later": the folders are given up on, not indexed
    assert put_off == [["/photos/a", "/photos/b"]] and released == [] and gate.waiting == []

    assert gate.hold(["/photos/c", "/photos/d"])
    gate.chosen()
    assert released == [["/photos/c", "/photos/d"]]
    assert not gate.hold(["/photos/e"])  # a model is settled: folders go straight to indexing
    gate.dialog_closed()
    assert put_off == [["/photos/a", "/photos/b"]]


def test_a_library_with_a_model_never_asks_and_lets_waiting_folders_go(qtbot, runner) -> None:
    from desktop_app.first_run_gate import FirstRunGate
    from desktop_app.operations import IndexOptions

    gate = FirstRunGate(runner, policy="ask", weights_cached=lambda: False)
    asked, released = [], []
    gate.ask.connect(lambda: asked.append("ask"))
    gate.released.connect(released.append)
    assert gate.hold(["/photos/a", "/photos/b"])
    gate.check(SimpleNamespace(status={"active_model": {"backbone": "tiny"}}), IndexOptions())
    assert gate.state == "not_needed" and released == [["/photos/a", "/photos/b"]] and asked == []
    gate.weights_missing()  # indexing later found the weights gone: now the dialog is due
    assert gate.state == "needed" and asked == ["ask"]

    skipping = FirstRunGate(runner, policy="skip", weights_cached=lambda: False)
    skipping.ask.connect(lambda: asked.append("ask"))
    skipping.check(SimpleNamespace(status={"active_model": None}), IndexOptions())
    skipping.weights_missing()
    assert skipping.state == "not_needed" and asked == ["ask"]  # a scripted run never shows the dialog
