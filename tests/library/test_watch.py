"""Watched folders: debounced batches from real file events, the polling fallback, the CLI verb."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import REPO, make_photo
from engine.library.watch import FolderWatcher, count_directories, is_relevant, library_folders_of

pytest.importorskip("watchdog")


class Collector:
    def __init__(self) -> None:
        self.batches: list = []
        self.times: list[float] = []  # time.monotonic() at each batch's arrival
        self.arrived = threading.Event()

    def __call__(self, batch) -> None:
        self.times.append(time.monotonic())
        self.batches.append(batch)
        self.arrived.set()

    def wait(self, timeout: float = 10.0):
        assert self.arrived.wait(timeout), "no batch arrived"
        self.arrived.clear()
        return self.batches[-1]


def test_new_photos_arrive_as_one_debounced_batch(tmp_path):
    root = tmp_path / "Photos"
    (root / "sub").mkdir(parents=True)
    got = Collector()
    with FolderWatcher([str(root)], got, debounce_s=0.6, watch_limit=None) as watcher:
        assert watcher.mode == "watching"
        for i in range(5):
            make_photo(root / "sub" / f"new_{i}.jpg", i)
            time.sleep(0.05)  # a copy in progress: events keep coming within the debounce
        (root / "sub" / ".hidden.swp").write_text("editor noise")
        batch = got.wait()
        assert {Path(p).name for p in batch if p.endswith(".jpg")} == {f"new_{i}.jpg" for i in range(5)}
        assert not any(p.endswith(".swp") for p in batch)
        assert len(got.batches) == 1
        # a move and a delete are changes too
        os.rename(root / "sub" / "new_0.jpg", root / "moved.jpg")
        (root / "sub" / "new_1.jpg").unlink()
        batch = got.wait()
        assert {str(root / "moved.jpg"), str(root / "sub" / "new_0.jpg"), str(root / "sub" / "new_1.jpg")} <= batch


def test_a_long_copy_is_batched_at_the_latest_after_max_wait(tmp_path):
    root = tmp_path / "Photos"
    root.mkdir()
    got = Collector()
    with FolderWatcher([str(root)], got, debounce_s=0.5, max_wait_s=0.8, watch_limit=None):
        for i in range(12):
            make_photo(root / f"p{i}.png", i)
            time.sleep(0.15)  # never quiet for 0.5 s: a debounce alone would wait for the end
        copy_ended = time.monotonic()
        assert got.arrived.wait(5)
    # The first batch came while the copy went on (after max_wait, not after the copy), with part of it.
    assert got.times[0] < copy_ended, f"the first batch came {got.times[0] - copy_ended:.2f} s after the copy ended"
    assert 0 < sum(p.endswith(".png") for p in got.batches[0]) < 12


def test_too_many_folders_for_inotify_falls_back_to_periodic_rescans(tmp_path):
    root = tmp_path / "Big"
    for i in range(6):
        (root / f"d{i}").mkdir(parents=True)
    assert count_directories([str(root)], 100) == 7
    got = Collector()
    with FolderWatcher([str(root)], got, poll_interval_s=0.3, watch_limit=8) as watcher:  # half of 8 < 7 folders
        assert watcher.mode == "polling"
        assert "inotify limit 8" in watcher.note and "every 0.3 seconds" in watcher.note
        assert got.wait(5) is None  # None = rescan everything


def test_a_refused_watch_falls_back_too(tmp_path):
    class Refusing:
        def schedule(self, *args, **kwargs):
            raise OSError(errno.ENOSPC, "inotify watch limit reached")

    got = Collector()
    with FolderWatcher([str(tmp_path)], got, poll_interval_s=0.2, watch_limit=None, observer_factory=Refusing) as watcher:
        assert watcher.mode == "polling" and "refused" in watcher.note
        assert got.wait(5) is None


def test_relevance_and_folder_mapping():
    assert is_relevant("/p/a/IMG_1.JPG") and is_relevant("/p/a/IMG_1.xmp") and is_relevant("/p/a/new folder")
    assert not is_relevant("/p/a/.DS_Store") and not is_relevant("/p/a/notes.docx") and not is_relevant("/p/a/x.jpg~")
    assert library_folders_of({"/p/a/x.jpg"}, ["/p/a", "/p/ab", "/q"]) == ["/p/a"]
    assert library_folders_of(None, ["/p/a", "/q"]) == ["/p/a", "/q"]


def test_watch_verb_indexes_a_new_photo(tmp_path, photo_tree):
    from cli.test_cli import bitlens

    lib = tmp_path / "lib"
    bitlens(lib, "index", str(photo_tree), "--backbone", "tiny")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("BITLENS_HOME", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "--library", str(lib), "watch", "--debounce", "0.5"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout.readline().startswith("watching 1 folder")
        make_photo(photo_tree / "Camera Roll" / "arrived.jpg", 77)
        line = process.stdout.readline()
        assert "1 added" in line, line
    finally:
        process.terminate()
        process.wait(timeout=30)
    shown = bitlens(lib, "show", str(photo_tree / "Camera Roll" / "arrived.jpg")).stdout
    assert "status: ok" in shown
