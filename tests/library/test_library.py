"""Scanning and indexing a library: what a user sees after `bitlens index`."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from conftest import make_photo, tree_fingerprint


def tags_of(library, path: Path) -> set[tuple[str, str]]:
    info = library.photo(path)
    assert info is not None, f"{path} is not in the library"
    return {(t["tag"], t["source"]) for t in info["tags"]}


def codes_by_path(library) -> dict[str, bytes]:
    with library.store.raw() as db:
        return dict(db.execute("SELECT i.path, c.code FROM codes c JOIN images i ON i.id = c.image_id JOIN models m ON m.id = c.model_id WHERE m.active"))


def test_index_then_search_finds_the_query_photo_first(library, photo_tree, tiny_spec):
    report = library.index([photo_tree], backbone=tiny_spec)
    assert report.added == 9 and report.encoded == 9 and report.coded == 9
    assert report.problems == []
    searcher = library.searcher()
    query = photo_tree / "Camera Roll" / "IMG_0002.png"
    results = searcher.search(image=str(query), limit=3)
    assert results[0].path == str(query) and results[0].distance == 0
    assert [r.rank for r in results] == [1, 2, 3]
    assert all(a.distance <= b.distance for a, b in zip(results, results[1:]))
    text_results = searcher.search(text="a dog on the beach", limit=0)
    assert len(text_results) == 9  # limit 0 = the whole ranking


def test_tags_from_every_source(library, photo_tree, tiny_spec):
    library.index([photo_tree], backbone=tiny_spec)
    holiday = photo_tree / "2019-07 beach holiday"
    assert tags_of(library, holiday / "IMG_0001.jpg") == {("beach", "folder"), ("holiday", "folder")}
    assert {("sunset", "filename"), ("dog", "filename")} <= tags_of(library, holiday / "sunset_dog.jpg")
    assert {("waves", "sidecar"), ("sand", "sidecar")} <= tags_of(library, holiday / "DSC01234.jpg")
    roll = photo_tree / "Camera Roll"
    assert tags_of(library, roll / "PXL_20200101_101010000.jpg") == {("mountain", "xmp"), ("snow", "xmp")}
    assert tags_of(library, roll / "IMG_0002.png") == {("red car", "sidecar"), ("street", "sidecar")}
    # the top folder's own name ("Photos") and camera file names give no tags
    assert tags_of(library, roll / "DCIM" / "IMG_0003.webp") == set()


def test_rescan_of_unchanged_folders_is_a_no_op(library, photo_tree, tiny_spec):
    library.index([photo_tree], backbone=tiny_spec)
    before = codes_by_path(library)
    with library.store.raw() as db:
        rows_before = db.execute("SELECT * FROM images ORDER BY id").fetchall()
    report = library.index(backbone=tiny_spec)
    assert (report.unchanged, report.added, report.updated, report.encoded, report.coded) == (9, 0, 0, 0, 0)
    assert codes_by_path(library) == before
    with library.store.raw() as db:
        rows_after = db.execute("SELECT * FROM images ORDER BY id").fetchall()
    assert [r[:-1] for r in rows_after] == [r[:-1] for r in rows_before]  # only last_seen may move


def test_rename_and_copy_reuse_codes_without_encoding(library, photo_tree, tiny_spec):
    library.index([photo_tree], backbone=tiny_spec)
    old = photo_tree / "Camera Roll" / "IMG_0005.bmp"
    old_code = codes_by_path(library)[str(old)]
    old_id = library.photo(old)
    new = photo_tree / "Camera Roll" / "DCIM" / "renamed.bmp"
    old.rename(new)
    copy = photo_tree / "2019-07 beach holiday" / "copy_of_sunset.jpg"
    copy.write_bytes((photo_tree / "2019-07 beach holiday" / "sunset_dog.jpg").read_bytes())
    report = library.index(backbone=tiny_spec)
    assert report.encoded == 0, "a moved or copied photo must not be encoded again"
    assert report.moved == 1 and report.added == 1 and report.missing == 0
    codes = codes_by_path(library)
    assert codes[str(new)] == old_code
    assert codes[str(copy)] == codes[str(photo_tree / "2019-07 beach holiday" / "sunset_dog.jpg")]
    assert library.photo(old) is None
    assert library.photo(new)["content_hash"] == old_id["content_hash"]
    assert ("renamed", "filename") in tags_of(library, new)


def test_deleted_photo_becomes_missing_and_is_not_searched(library, photo_tree, tiny_spec):
    library.index([photo_tree], backbone=tiny_spec)
    gone = photo_tree / "Camera Roll" / "IMG_0004.gif"
    gone.unlink()
    report = library.index(backbone=tiny_spec)
    assert report.missing == 1
    info = library.photo(gone)
    assert info["status"] == "missing" and info["tags"] is not None
    status = library.status()
    assert (status["photos"], status["missing"]) == (8, 1)
    paths = [r.path for r in library.searcher().search(text="anything", limit=0)]
    assert str(gone) not in paths and len(paths) == 8
    # it comes back when the file does
    make_photo(gone, 7)
    library.index(backbone=tiny_spec)
    assert library.photo(gone)["status"] == "ok"


def test_unreachable_folder_keeps_everything(library, photo_tree, tiny_spec, tmp_path):
    library.index([photo_tree], backbone=tiny_spec)
    codes = codes_by_path(library)
    moved_away = tmp_path / "unmounted"
    photo_tree.rename(moved_away)  # like a USB drive that is not plugged in
    report = library.index(backbone=tiny_spec)
    assert report.missing == 0 and any("not reachable" in note for note in report.notes)
    assert library.status()["photos"] == 9
    assert codes_by_path(library) == codes
    assert library.folders()[0].reachable is False


def test_changed_file_is_re_read_and_re_encoded(library, photo_tree, tiny_spec):
    library.index([photo_tree], backbone=tiny_spec)
    target = photo_tree / "Camera Roll" / "IMG_0006.tif"
    before = codes_by_path(library)[str(target)]
    make_photo(target, 99)
    report = library.index(backbone=tiny_spec)
    assert report.updated == 1 and report.encoded == 1
    assert codes_by_path(library)[str(target)] != before


def test_user_tags_survive_rescans(library, photo_tree, tiny_spec):
    from sqlalchemy import select

    from engine.library.schema import Image, ImageTag, Tag

    library.index([photo_tree], backbone=tiny_spec)
    target = photo_tree / "Camera Roll" / "IMG_0002.png"
    with library.store.session() as session:
        image_id = session.scalar(select(Image.id).where(Image.path == str(target)))
        tag = Tag(name="Grandma")
        session.add(tag)
        session.flush()
        session.add(ImageTag(image_id=image_id, tag_id=tag.id, source="user"))
    (photo_tree / "Camera Roll" / "IMG_0002.txt").write_text("blue car", encoding="utf-8")
    os.utime(target, ns=(1, 1))  # force a re-read of the photo
    library.index(backbone=tiny_spec)
    assert tags_of(library, target) == {("Grandma", "user"), ("blue car", "sidecar")}


def test_folder_filter(library, photo_tree, tiny_spec):
    library.index([photo_tree], backbone=tiny_spec)
    searcher = library.searcher()
    holiday = photo_tree / "2019-07 beach holiday"
    results = searcher.search(text="sea", limit=0, folder=str(holiday))
    assert len(results) == 3 and all(Path(r.path).parent == holiday for r in results)
    unfiltered = searcher.search(text="sea", limit=0)
    # the filter keeps the unfiltered order of the photos it keeps
    assert [r.path for r in results] == [r.path for r in unfiltered if Path(r.path).parent == holiday]


def test_photo_folders_are_never_written(library, photo_tree, tiny_spec):
    before = tree_fingerprint(photo_tree)
    library.index([photo_tree], backbone=tiny_spec)
    library.searcher().search(text="beach", limit=5)
    library.searcher().search(image=str(photo_tree / "Camera Roll" / "IMG_0002.png"), limit=5)
    library.remove_folder(photo_tree)
    assert tree_fingerprint(photo_tree) == before
    assert library.status()["photos"] == 0


def test_bad_files_are_reported_and_the_rest_indexed(library, photo_tree, tiny_spec):
    roll = photo_tree / "Camera Roll"
    (roll / "empty.jpg").write_bytes(b"")
    (roll / "notes.jpg").write_text("this is not a photo", encoding="utf-8")
    good = (roll / "IMG_0002.png").read_bytes()
    (roll / "truncated.png").write_bytes(good[: len(good) // 3])
    (roll / "dangling.jpg").symlink_to(roll / "does-not-exist.jpg")
    (roll / "loop").symlink_to(roll)
    report = library.index([photo_tree], backbone=tiny_spec)
    reasons = dict(report.problems)
    for name in ("empty.jpg", "notes.jpg", "truncated.png", "dangling.jpg"):
        assert str(roll / name) in reasons, f"{name} is not in the scan report"
    assert "symbolic link" in reasons[str(roll / "dangling.jpg")]
    assert library.status()["photos"] == 9  # every good photo, once (the loop adds none)


def test_nested_folder_add_is_refused_and_parent_absorbs_child(library, photo_tree):
    from engine.library.library import LibraryError

    child = photo_tree / "Camera Roll"
    library.add_folder(child)
    library.add_folder(photo_tree)
    assert [f.path for f in library.folders()] == [str(photo_tree)]
    with pytest.raises(LibraryError, match="already in the library"):
        library.add_folder(child)


def test_schema_is_versioned_and_matches_the_orm(library):
    from engine.library.migrations import SCHEMA_VERSION
    from engine.library.schema import Base

    with library.store.raw() as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        for table in Base.metadata.sorted_tables:
            columns = {row[1] for row in db.execute(f"PRAGMA table_info({table.name})")}
            assert columns == {c.name for c in table.columns}, table.name


def test_a_newer_library_is_refused_clearly(tmp_path):
    from engine.facade import BitLens

    from engine.library.migrations import LibraryTooNew

    with BitLens(tmp_path / "lib"):
        pass
    db = sqlite3.connect(tmp_path / "lib" / "library.sqlite")
    db.execute("PRAGMA user_version = 999")
    db.close()
    with pytest.raises(LibraryTooNew, match="update BitLens"):
        BitLens(tmp_path / "lib")


def test_bitlens_home_environment_variable(tmp_path, monkeypatch):
    from engine.paths import library_paths

    monkeypatch.setenv("BITLENS_HOME", str(tmp_path / "home"))
    paths = library_paths()
    assert paths.root == tmp_path / "home" and paths.database.parent == tmp_path / "home"
    assert library_paths(tmp_path / "explicit").root == tmp_path / "explicit"


def test_two_processes_opening_a_new_library_at_once(tmp_path):
    """The second opener must wait for the first one's migration, not repeat it."""
    import subprocess
    import sys

    from conftest import REPO

    code = "import sys; from engine.facade import BitLens; BitLens(sys.argv[1]).close()"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "lib")], cwd=REPO, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errors


def test_indexing_a_folder_without_readable_photos_is_not_an_error(tmp_path, tiny_spec):
    """An empty folder, or one holding only bad files, gives a note, not a failure; a later index works."""
    from engine.facade import BitLens

    (tmp_path / "empty").mkdir()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "broken.jpg").write_bytes(b"not a photo")
    with BitLens(tmp_path / "lib") as library:
        report = library.index([tmp_path / "empty", tmp_path / "bad"], backbone=tiny_spec)
        assert any("nothing to search" in note for note in report.notes)
        assert library.current_backbone() is None
        make_photo(tmp_path / "good" / "IMG_0001.jpg", 1)
        library.index([tmp_path / "good"], backbone=tiny_spec)
        assert len(library.searcher()) == 1


def test_formats_lists_the_readable_photos_types(library, photo_tree, tiny_spec):
    assert library.formats() == []
    library.index([photo_tree], backbone=tiny_spec)
    assert library.formats() == ["BMP", "GIF", "JPEG", "PNG", "TIFF", "WEBP"]


def test_subfolders_with_counts_below_each_library_folder(library, photo_tree, tiny_spec):
    library.index([photo_tree], backbone=tiny_spec)
    root = str(photo_tree.resolve())
    subfolders = dict(library.subfolders()[root])
    assert subfolders == {
        f"{root}/2019-07 beach holiday": 3,
        f"{root}/Camera Roll": 6,  # its own five readable photos and the one in DCIM below it
        f"{root}/Camera Roll/DCIM": 1,
    }


def test_tag_names_most_used_first(library, photo_tree, tiny_spec):
    library.index([photo_tree], backbone=tiny_spec)
    names = library.tag_names()
    assert {"waves", "sand", "mountain", "snow"} <= set(names)
    library.add_user_tag([str(p) for p in sorted(photo_tree.rglob("*.jpg"))[:3]], "grandma")
    assert library.tag_names()[0] == "grandma" or library.tag_names().index("grandma") < library.tag_names().index("waves")


@pytest.mark.parametrize("change", ["add", "remove"])
def test_a_folder_change_waits_for_a_write_by_another_thread(library, tmp_path, change):
    """In the app another thread may write at any moment (a first search creates the code-cache
    triggers): adding or removing a folder then waits for it instead of failing with "database is locked"."""
    import threading

    photos = tmp_path / "Photos"
    make_photo(photos / "IMG_0001.jpg", 1)
    if change == "remove":
        library.add_folder(photos)
    other = sqlite3.connect(library.paths.database, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE another_threads_table (x)")
    commit = threading.Timer(0.5, lambda: other.execute("COMMIT"))
    commit.start()
    try:
        if change == "add":
            assert library.add_folder(photos) == str(photos.resolve())
        else:
            assert library.remove_folder(photos) == 0
    finally:
        commit.join()
        other.close()
    assert [f.path for f in library.folders()] == ([str(photos.resolve())] if change == "add" else [])
