"""Store evolution and hostile disks: older libraries migrate; a read-only or full disk
gives one clear error and loses nothing."""

from __future__ import annotations

import os
import resource
import sqlite3
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, make_photo

from .helpers import bitlens, cli_command, cli_env, integrity, snapshot, unprivileged_prefix


def _v1_library(path: Path, photo: Path) -> None:
    """A library as release 1 wrote it: its frozen SQL, one folder, photo, tag, model and code."""
    from engine.library.migrations import MIGRATIONS

    path.mkdir(parents=True)
    db = sqlite3.connect(path / "library.sqlite", isolation_level=None)
    db.execute("BEGIN")
    MIGRATIONS[0](db)
    db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO folders VALUES (1, ?, 1.0, 2.0, 1)", (str(photo.parent),))
    db.execute("INSERT INTO images VALUES (1, 1, ?, 10, 20, 'abc', 160, 120, 'JPEG', NULL, NULL, NULL, 'ok', NULL, 1.0, 2.0)", (str(photo),))
    db.execute("INSERT INTO tags VALUES (1, 'Grandma')")
    db.execute("INSERT INTO image_tags VALUES (1, 1, 'user')")
    db.execute("INSERT INTO models VALUES (1, 'm', 'itq', 'tiny', NULL, 16, '{}', NULL, NULL, NULL, 1, 3.0)")
    db.execute("INSERT INTO codes VALUES (1, 1, x'0102')")
    db.execute("COMMIT")
    db.close()


def test_an_older_library_migrates_step_by_step_and_keeps_its_data(tmp_path, monkeypatch):
    """A library at version 1 opened by a release with a step 2 gets exactly that step, data intact."""
    from engine.library import migrations
    from engine.facade import BitLens

    photo = make_photo(tmp_path / "photos" / "a.jpg", 1)
    _v1_library(tmp_path / "lib", photo)
    before = snapshot(tmp_path / "lib" / "library.sqlite")
    runs = []

    def v2_add_rating(db):
        runs.append(1)
        migrations._run_script(db, "ALTER TABLE images ADD COLUMN rating INTEGER NOT NULL DEFAULT 0;\nCREATE INDEX ix_images_rating ON images(rating);")

    latest = len(migrations.MIGRATIONS)
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, v2_add_rating])
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", latest + 1)
    for _ in range(2):  # the second open finds nothing to do
        with BitLens(tmp_path / "lib") as library:
            assert library.photo(photo)["tags"] == [{"tag": "Grandma", "source": "user"}]
    assert runs == [1]
    db = sqlite3.connect(tmp_path / "lib" / "library.sqlite")
    assert db.execute("PRAGMA user_version").fetchone()[0] == latest + 1
    assert db.execute("SELECT rating FROM images").fetchall() == [(0,)]
    db.close()
    assert snapshot(tmp_path / "lib" / "library.sqlite") == before


def test_a_failing_migration_step_leaves_the_old_library_untouched(tmp_path, monkeypatch):
    from engine.library import migrations
    from engine.facade import BitLens

    photo = make_photo(tmp_path / "photos" / "a.jpg", 1)
    _v1_library(tmp_path / "lib", photo)
    before = snapshot(tmp_path / "lib" / "library.sqlite")

    def v2_breaks_halfway(db):
        db.execute("ALTER TABLE images ADD COLUMN rating INTEGER")
        db.execute("DELETE FROM image_tags")
        raise sqlite3.OperationalError("disk I/O error")  # e.g. the drive went away mid-step

    latest = len(migrations.MIGRATIONS)
    with BitLens(tmp_path / "lib"):  # every real step first, so only the breaking one is left
        pass
    before = snapshot(tmp_path / "lib" / "library.sqlite")
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, v2_breaks_halfway])
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", latest + 1)
    with pytest.raises(Exception):
        BitLens(tmp_path / "lib")
    db = sqlite3.connect(tmp_path / "lib" / "library.sqlite")
    assert db.execute("PRAGMA user_version").fetchone()[0] == latest
    assert "rating" not in {r[1] for r in db.execute("PRAGMA table_info(images)")}
    db.close()
    assert snapshot(tmp_path / "lib" / "library.sqlite") == before


def test_every_older_version_upgrades_to_the_same_schema_as_a_new_library(tmp_path):
    from engine.facade import BitLens

    from engine.library.migrations import MIGRATIONS

    def schema(path: Path) -> list:
        db = sqlite3.connect(path)
        try:
            return sorted(db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").fetchall())
        finally:
            db.close()

    BitLens(tmp_path / "new").close()
    for version in range(len(MIGRATIONS)):
        folder = tmp_path / f"v{version}"
        folder.mkdir()
        db = sqlite3.connect(folder / "library.sqlite", isolation_level=None)
        for step in MIGRATIONS[:version]:
            db.execute("BEGIN")
            step(db)
            db.execute("COMMIT")
        db.execute(f"PRAGMA user_version = {version}")
        db.close()
        BitLens(folder).close()
        assert schema(folder / "library.sqlite") == schema(tmp_path / "new" / "library.sqlite"), f"from version {version}"


@pytest.fixture
def indexed(tmp_path, photo_tree, tiny_spec):
    from engine.facade import BitLens

    with BitLens(tmp_path / "lib") as library:
        library.index([photo_tree], backbone=tiny_spec)
    return tmp_path / "lib", photo_tree


@pytest.mark.parametrize("what", ["folder", "database file"])
def test_read_only_library_gives_a_clear_error_and_loses_nothing(indexed, tmp_path, request, what):
    lib_dir, photos = indexed
    more = tmp_path / "More"
    make_photo(more / "IMG_1.jpg", 77)
    before = snapshot(lib_dir / "library.sqlite")
    modes = {p: p.stat().st_mode for p in [lib_dir, *lib_dir.iterdir()]}
    request.addfinalizer(lambda: [os.chmod(p, m) for p, m in modes.items() if p.exists()])
    for path in lib_dir.iterdir():
        if path.is_file() and (what == "folder" or path.name == "library.sqlite"):
            os.chmod(path, 0o444)
    if what == "folder":
        os.chmod(lib_dir, 0o555)
    prefix = unprivileged_prefix()
    for args in (["index", str(more), "--backbone", "tiny"], ["folders", "remove", str(photos)]):
        result = bitlens(lib_dir, *args, check=False, prefix=prefix)
        assert result.returncode == 1, result.stderr
        assert result.stderr.startswith("bitlens: error: ") and "Traceback" not in result.stderr, result.stderr
        assert "read-only" in result.stderr or "cannot write" in result.stderr, result.stderr
    for path, mode in modes.items():
        if path.exists():
            os.chmod(path, mode)
    assert snapshot(lib_dir / "library.sqlite") == before
    assert integrity(lib_dir / "library.sqlite") == "ok"
    assert bitlens(lib_dir, "status", "--json").stdout.count('"photos": 9') == 1


def test_full_disk_gives_a_clear_error_and_loses_nothing(indexed, tmp_path):
    """The disk fills up mid-index (a file-size limit on the process stands in for it)."""
    lib_dir, photos = indexed
    before = snapshot(lib_dir / "library.sqlite")
    more = tmp_path / "More"
    for i in range(80):
        make_photo(more / "2021 snow trip" / f"IMG_{i:04d}.jpg", 500 + i, size=(320, 240))
    limit = (lib_dir / "library.sqlite").stat().st_size + 64 * 1024

    def small_disk():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = subprocess.run(
        cli_command(lib_dir, "index", str(more), "--backbone", "tiny"),
        cwd=REPO,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=small_disk,
    )
    assert result.returncode == 1, (result.returncode, result.stderr[-2000:])
    assert result.stderr.startswith("bitlens: error: ") and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert "full" in result.stderr, result.stderr
    assert integrity(lib_dir / "library.sqlite") == "ok"
    after = snapshot(lib_dir / "library.sqlite")
    assert set(before["photos"]) <= set(after["photos"]) and set(before["tags"]) <= set(after["tags"])
    assert {r[0] for r in before["codes"]} <= {r[0] for r in after["codes"]}
    # With space again, the same command finishes the job.
    bitlens(lib_dir, "index", "--backbone", "tiny")
    assert bitlens(lib_dir, "status", "--json").stdout.count('"photos": 89') == 1


def test_a_moved_or_copied_library_keeps_working_and_leaves_the_original_alone(indexed, tmp_path):
    """Rows record absolute checkpoint paths; a library restored elsewhere must still find its
    own files, and re-coding the copy must never delete the original's files."""
    import shutil

    from engine.facade import BitLens

    lib_dir, photos = indexed
    original_models = sorted(p.name for p in (lib_dir / "models").iterdir())
    copy = tmp_path / "restored" / "lib"
    shutil.copytree(lib_dir, copy)
    moved = tmp_path / "moved-away"
    lib_dir.rename(moved)  # the original location is gone, as after a move
    query = photos / "Camera Roll" / "IMG_0002.png"
    with BitLens(copy) as library:
        assert library.searcher().search(image=str(query), limit=1)[0].path == str(query)
    moved.rename(lib_dir)  # both copies exist now; grow the copy so its codes are refitted
    for i in range(20):
        make_photo(tmp_path / "More" / f"IMG_{i:04d}.jpg", 300 + i)
    with BitLens(copy) as library:
        report = library.index([tmp_path / "More"], backbone=library.current_backbone())
        assert any("refitting" in note for note in report.notes)
        assert len(library.searcher().search(text="x", limit=0)) == 29
    assert sorted(p.name for p in (lib_dir / "models").iterdir()) == original_models, "the copy deleted the original's model files"
    with BitLens(lib_dir) as library:
        assert library.searcher().search(image=str(query), limit=1)[0].path == str(query)
