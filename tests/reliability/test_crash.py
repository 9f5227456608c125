"""Crash safety: kill -9 the indexing or training process at random moments.

After every kill the database passes `PRAGMA integrity_check`, nothing is duplicated,
photos that were searchable before the run still are, and a plain re-run finishes with
a library equal to that of an uninterrupted run. Killed training leaves the active
model active and searchable.

Kill moments are random points in the run's work (a stage, a position in it, a few ms
of jitter) drawn from a seeded generator (BITLENS_KILL_SEED, default 7), so a failure
can be replayed; wall-clock moments would mostly land in the start-up on a busy machine.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from conftest import config_file, make_photo, run_cli

from .helpers import integrity, snapshot, start_cli

SEED = int(os.environ.get("BITLENS_KILL_SEED", "7"))
INDEX_ARGS = ("--backbone", "tiny", "--batch-size", "4")


def _albums(root: Path, start: int, count: int) -> Path:
    for i in range(start, start + count):
        make_photo(root / f"20{10 + i % 3} {('beach', 'forest', 'city')[i % 3]}" / f"IMG_{i:04d}.jpg", i, size=(64, 48))
    return root


def _searchable(database: Path) -> set[str]:
    db = sqlite3.connect(database)
    try:
        return {
            p
            for (p,) in db.execute(
                "SELECT i.path FROM codes c JOIN images i ON i.id = c.image_id JOIN models m ON m.id = c.model_id WHERE m.active AND i.status = 'ok'"
            )
        }
    finally:
        db.close()


def _check_after_kill(database: Path, before: set[str]) -> dict:
    """What must hold right after a SIGKILL, whatever the moment; returns the state seen."""
    assert integrity(database) == "ok"
    db = sqlite3.connect(database)
    try:
        assert db.execute("SELECT count(*) FROM models WHERE active").fetchone()[0] <= 1
        state = {
            "images": db.execute("SELECT count(*) FROM images").fetchone()[0],
            "embeddings": db.execute("SELECT count(*) FROM embeddings").fetchone()[0],
            "codes": db.execute("SELECT count(*) FROM codes").fetchone()[0],
            "models": db.execute("SELECT count(*) FROM models").fetchone()[0],
        }
        # Content-addressed rows are never written twice (a re-run must not re-add them).
        assert db.execute("SELECT count(*) - count(DISTINCT path) FROM images").fetchone()[0] == 0
    finally:
        db.close()
    lost = before - _searchable(database)
    assert not lost, f"{len(lost)} photos that were searchable before the run no longer are"
    return state


def _counts(database: Path) -> tuple[int, int, int]:
    """(images, embeddings, codes) as another reader sees them right now."""
    try:
        db = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)
        try:
            return tuple(db.execute("SELECT (SELECT count(*) FROM images), (SELECT count(*) FROM embeddings), (SELECT count(*) FROM codes)").fetchone())
        finally:
            db.close()
    except sqlite3.Error:
        return (0, 0, 0)


def _kill_during(args: list[str], library: Path, milestone: tuple[str, int], delay: float) -> bool:
    """Start the CLI and SIGKILL it `delay` s after the library reached `milestone`.

    A milestone is ("start", 0) (the database was opened), ("file", glob) (a file below
    the library appeared), or (column, n): the images, embeddings or codes count exceeded n.
    Returns whether the kill ended the run (False if the run had ended before it).
    """
    process = start_cli(library, *args)
    column, threshold = milestone
    position = {"images": 0, "embeddings": 1, "codes": 2}.get(column)
    deadline = time.monotonic() + 300
    while process.is_alive() and time.monotonic() < deadline:
        if column == "file":
            if any(library.glob(threshold)):
                break
        elif position is None:
            if (library / "library.sqlite-wal").exists():
                break
        elif _counts(library / "library.sqlite")[position] > threshold:
            break
        time.sleep(0.01)
    time.sleep(delay)
    if process.is_alive():
        process.kill()
    process.join(timeout=60)
    assert process.exitcode is not None, "the run outlived its SIGKILL"
    assert process.exitcode in (0, -signal.SIGKILL), f"the run failed on its own (exit status {process.exitcode})"
    return process.exitcode == -signal.SIGKILL


def _random_moment(rng: random.Random, stage: str | None = None) -> tuple[tuple[str, int], float]:
    """A random point in the run: a stage, a position within it and a little jitter."""
    stage = stage or rng.choice(["start", "images", "embeddings", "embeddings", "codes"])
    # The seed library holds 12 photos; the run adds 24 (embeddings arrive 4 at a time).
    threshold = {"start": 0, "images": 12, "embeddings": 12 + 4 * rng.randrange(6), "codes": 12}[stage]
    return (stage, threshold), rng.uniform(0, 0.25)


def _index_here(library: Path, folder: Path) -> None:
    """Index in this process, as `bitlens index FOLDER --backbone tiny --batch-size 4` does."""
    from engine.facade import BitLens

    from engine.models.backbones import BackboneSpec

    with BitLens(library) as lib:
        lib.index([folder], backbone=BackboneSpec.from_args("tiny"), batch_size=4)


@pytest.fixture(scope="module")
def grown(tmp_path_factory):
    """A library of 12 photos, and 24 more photos to add: the run that adds them refits the codes."""
    root = tmp_path_factory.mktemp("crash")
    first = _albums(root / "first", 0, 12)
    second = _albums(root / "second", 12, 24)
    seed_library = root / "seed-lib"
    _index_here(seed_library, first)
    reference = root / "reference"
    shutil.copytree(seed_library, reference)
    _index_here(reference, second)  # the same engine code the CLI runs, without a second interpreter
    return {"root": root, "seed": seed_library, "second": second, "reference": snapshot(reference / "library.sqlite")}


def _kill_and_recover(grown, moments: list, tmp_path: Path, retry: bool = False) -> list[dict]:
    """Kill the run at each moment in turn on one library, then run the command to its end.

    retry: a moment that came after the run had ended is tried again on a fresh copy of the
    library with no delay after its milestone (the latest point of it still inside the run).
    """
    library = tmp_path / "lib"
    shutil.copytree(grown["seed"], library)
    before = _searchable(library / "library.sqlite")
    assert len(before) == 12
    command = ["index", str(grown["second"]), *INDEX_ARGS]
    seen = []
    for milestone, delay in moments:  # several kills in a row on one library, then one full run
        killed = _kill_during(command, library, milestone, delay)
        if not killed and retry:
            shutil.rmtree(library)
            shutil.copytree(grown["seed"], library)
            delay = 0.0
            killed = _kill_during(command, library, milestone, delay)
        state = _check_after_kill(library / "library.sqlite", before)
        seen.append({"after": f"{milestone[0]}>{milestone[1]}", "delay_s": round(delay, 3), "killed": killed, **state})
    # The same command again, as a user would type it (in this process); a kill before the folder
    # was added leaves nothing by which a bare `bitlens index` could know it.
    run_cli(library, *command)
    assert integrity(library / "library.sqlite") == "ok"
    assert snapshot(library / "library.sqlite") == grown["reference"], f"library after kills {seen} differs from an uninterrupted run"
    return seen


def test_index_killed_three_times_ends_equal_to_an_uninterrupted_run(grown, tmp_path):
    rng = random.Random(SEED)
    # Mid-encoding, once the new codes are being written, and anywhere.
    moments = [_random_moment(rng, "embeddings"), _random_moment(rng, "codes"), _random_moment(rng)]
    seen = _kill_and_recover(grown, moments, tmp_path)
    print(json.dumps({"kills": seen}))
    assert sum(k["killed"] for k in seen) >= 2, f"the kills came too late to test anything: {seen}"


@pytest.mark.slow
@pytest.mark.parametrize("point", range(20))
def test_index_killed_at_twenty_random_moments(grown, tmp_path, point):
    seen = _kill_and_recover(grown, [_random_moment(random.Random(SEED * 1000 + point))], tmp_path, retry=True)
    print(json.dumps({"kill": seen}))
    assert seen[0]["killed"], f"the run ended before the kill: nothing was tested ({seen})"


def test_interrupted_refit_keeps_the_old_codes_serving(tmp_path, tiny_spec, monkeypatch):
    """Between fitting new codes and writing them all, searches must still see every photo."""
    from engine.library import library as library_module
    from engine.facade import BitLens

    root = tmp_path / "photos"
    _albums(root / "first", 0, 6)
    with BitLens(tmp_path / "lib") as library:
        library.index([root / "first"], backbone=tiny_spec)
        before = {r.path for r in library.searcher().search(text="x", limit=0)}
        _albums(root / "second", 6, 12)  # 3× the photos: the projection is refitted

        def crash(*args, **kwargs):
            raise KeyboardInterrupt  # as if the process died while writing the new codes

        monkeypatch.setattr(library_module, "write_codes", crash)
        with pytest.raises(KeyboardInterrupt):
            library.index([root / "second"], backbone=tiny_spec)
        assert {r.path for r in library.searcher().search(text="x", limit=0)} == before
        monkeypatch.undo()
        report = library.index(backbone=tiny_spec)
        assert report.coded == 18
        assert len(library.searcher().search(text="x", limit=0)) == 18
        with library.store.raw() as db:
            assert db.execute("SELECT count(*) FROM models").fetchone()[0] == 1, "the fit left by the crash is cleaned up"


# -- training ------------------------------------------------------------------------

FAST = {"network": {"dim": 32, "heads": 2}, "training": {"batch_size": 16, "warmup_steps": 2}, "data": {"validation_fraction": 0.2}}


@pytest.fixture(scope="module")
def trainable(tmp_path_factory):
    """An indexed library with tagged albums, a small training config and one timed training run."""
    root = tmp_path_factory.mktemp("train")
    photos = _albums(root / "photos", 0, 24)
    library = root / "lib"
    _index_here(library, photos)
    return {"library": library, "photos": photos, "config": config_file(root / "fast.json", FAST)}


def _train_args(config: Path) -> list[str]:
    return ["train", "--bits", "32", "--epochs", "2", "--config", str(config), "--device", "cpu"]


def _active(database: Path) -> tuple:
    db = sqlite3.connect(database)
    try:
        return db.execute("SELECT id, kind, checkpoint_sha256 FROM models WHERE active").fetchone()
    finally:
        db.close()


def _counts_models(database: Path) -> int:
    db = sqlite3.connect(database)
    try:
        return db.execute("SELECT count(*) FROM models").fetchone()[0]
    finally:
        db.close()


# Training writes a resumable checkpoint after each epoch; before that it loads the backbone
# and caches patch tokens. Moments: somewhere in the start-up, or just after an epoch ended.
def _training_moment(rng: random.Random, stage: str | None = None) -> tuple[tuple[str, object], float]:
    stage = stage or rng.choice(["start", "epoch"])
    if stage == "start":
        return ("start", 0), rng.uniform(0, 4.0)
    return ("file", "models/runs/training-*.safetensors"), rng.uniform(0, 0.5)


def _kill_training_and_recover(trainable, moments: list, tmp_path: Path, retry: bool = False) -> list[dict]:
    """As _kill_and_recover, for training runs."""
    from engine.facade import BitLens

    library = tmp_path / "lib"
    shutil.copytree(trainable["library"], library)
    database = library / "library.sqlite"
    active = _active(database)
    before = _searchable(database)
    seen = []
    for milestone, delay in moments:
        killed = _kill_during(_train_args(trainable["config"]), library, milestone, delay)
        if not killed and retry:
            shutil.rmtree(library)
            shutil.copytree(trainable["library"], library)
            delay = 0.0
            killed = _kill_during(_train_args(trainable["config"]), library, milestone, delay)
        assert integrity(database) == "ok"
        assert _active(database) == active, "a killed training run must not change the active model"
        with BitLens(library) as lib:
            results = lib.searcher().search(image=sorted(before)[0], limit=0)
            assert {r.path for r in results} == before and results[0].distance == 0
        seen.append({"after": milestone[0], "delay_s": round(delay, 2), "killed": killed, "models": _counts_models(database)})
    run_cli(library, *_train_args(trainable["config"]))  # the run after the crash finishes (in this process)
    assert integrity(database) == "ok" and _active(database) == active
    db = sqlite3.connect(database)
    hashing = db.execute("SELECT id FROM models WHERE kind = 'hashing'").fetchall()
    db.close()
    killed_after_register = sum(1 for k in seen if k["models"] > 1)
    assert len(hashing) >= 1 and len(hashing) <= 1 + killed_after_register
    with BitLens(library) as lib:
        from engine.training.lifecycle import activate_model

        activate_model(lib, hashing[-1][0])
        assert {r.path for r in lib.searcher().search(text="beach", limit=0)} == before
    return seen


def test_training_killed_leaves_the_active_model_searchable(trainable, tmp_path):
    rng = random.Random(SEED)
    # One kill right after an epoch's checkpoint (near the registration); the slow variant
    # adds start-up kills.
    seen = _kill_training_and_recover(trainable, [_training_moment(rng, "epoch")], tmp_path, retry=True)
    print(json.dumps({"training_kills": seen}))
    assert seen[0]["killed"], f"the training ended before the kill: nothing was tested ({seen})"


@pytest.mark.slow
@pytest.mark.parametrize("point", range(8))
def test_training_killed_at_random_moments(trainable, tmp_path, point):
    moment = _training_moment(random.Random(SEED * 1000 + point))
    seen = _kill_training_and_recover(trainable, [moment], tmp_path, retry=True)
    print(json.dumps({"training_kill": seen}))
    assert seen[0]["killed"], f"the training ended before the kill: nothing was tested ({seen})"
