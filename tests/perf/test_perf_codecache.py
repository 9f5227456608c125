"""The on-disk code copy: used when it matches the database, never when anything changed."""

from __future__ import annotations

import os
import sqlite3

import numpy as np
import pytest

from engine.search.codecache import load_codes


@pytest.fixture
def indexed(library, photo_tree, tiny_spec):
    library.add_folder(photo_tree)
    library.index(backbone=tiny_spec, bits=64, device="cpu")
    return library


def _ranking(searcher, query):
    return [(r.path, r.distance) for r in searcher.search(image=str(query), limit=0)]


def _db(library) -> sqlite3.Connection:
    return sqlite3.connect(library.paths.database, isolation_level=None)


def test_second_open_uses_the_copy_and_ranks_the_same(indexed, photo_tree):
    query = photo_tree / "Camera Roll" / "IMG_0002.png"
    first = indexed.searcher()
    assert not first.codes_from_cache  # nothing on disk yet: decoded from the database
    second = indexed.searcher()
    assert second.codes_from_cache
    assert np.array_equal(first.ids, second.ids)
    assert np.array_equal(first.index.codes, second.index.codes)
    assert np.array_equal(first.folder_ids, second.folder_ids)
    assert _ranking(first, query) == _ranking(second, query)
    assert list(second.paths) == list(first.paths) and all(os.path.isfile(p) for p in second.paths)


def test_a_changed_code_is_never_served_from_a_stale_copy(indexed, photo_tree):
    query = photo_tree / "Camera Roll" / "IMG_0002.png"
    searcher = indexed.searcher()
    before = _ranking(searcher, query)
    assert before[0][1] == 0
    # Flip every bit of the query photo's own code, behind the engine's back.
    db = _db(indexed)
    image_id = db.execute("SELECT id FROM images WHERE path = ?", (str(query),)).fetchone()[0]
    code = db.execute("SELECT code FROM codes WHERE image_id = ? AND model_id = ?", (image_id, searcher.model_id)).fetchone()[0]
    flipped = bytes(b ^ 0xFF for b in code)
    db.execute("UPDATE codes SET code = ? WHERE image_id = ? AND model_id = ?", (flipped, image_id, searcher.model_id))
    db.close()
    again = indexed.searcher()
    assert not again.codes_from_cache  # same row count, same max id: the counter caught it
    row = int(np.searchsorted(again.ids, image_id))
    assert again.index.codes[row].tobytes() == flipped
    # The photo is still found as itself (the stored code is reused for a library photo) ...
    assert [p for p, d in _ranking(again, query) if d == 0] == [str(query)]
    # ... but its code is now the farthest from its old one.
    assert again.index.distances(searcher.index.codes[row])[row] == 64
    assert indexed.searcher().codes_from_cache  # and the rebuilt copy serves the next open


def test_deleted_and_missing_photos_rebuild_the_copy(indexed, photo_tree):
    first = indexed.searcher()
    assert indexed.searcher().codes_from_cache
    db = _db(indexed)
    db.execute("UPDATE images SET status = 'missing' WHERE id = ?", (int(first.ids[0]),))
    db.close()
    after = indexed.searcher()
    assert not after.codes_from_cache and len(after) == len(first) - 1
    assert int(first.ids[0]) not in after.ids.tolist()


def test_dropped_triggers_make_copies_untrusted_until_reopening_restores_them(indexed):
    first = indexed.searcher()
    assert indexed.searcher().codes_from_cache
    db = _db(indexed)
    # Something (an older tool, a table rebuild) removed the triggers and then wrote.
    for name in [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'bitlens_cc_%'")]:
        db.execute(f"DROP TRIGGER {name}")
    db.execute("UPDATE codes SET code = zeroblob(8) WHERE image_id = ?", (int(first.ids[1]),))
    db.close()
    after = indexed.searcher()
    assert not after.codes_from_cache
    assert after.index.codes[1].tolist() == [0]
    # Opening the library puts the triggers back (schema step 4) and bumps the counter: the
    # copy written before the uncounted write never serves again, a new one does.
    from engine.facade import BitLens

    with BitLens(indexed.paths.root) as reopened:
        assert not reopened.searcher().codes_from_cache
        again = reopened.searcher()
        assert again.codes_from_cache and again.index.codes[1].tolist() == [0]


def test_corrupt_or_foreign_copies_are_ignored(indexed, tmp_path):
    first = indexed.searcher()
    files = list(indexed.paths.cache.glob("codes-*.npy"))
    assert len(files) == 1
    files[0].write_bytes(files[0].read_bytes()[:100])  # truncated by a crash or a full disk
    again = indexed.searcher()
    assert not again.codes_from_cache and np.array_equal(again.index.codes, first.index.codes)
    # A copy is only read for the library (token) and model it was made for.
    with indexed.store.raw() as db:
        other = load_codes(db, indexed.paths.cache, first.model_id + 1, 64)
    assert not other.from_cache and len(other.ids) == 0


def test_a_read_only_database_is_decoded_without_a_copy(indexed, tmp_path):
    first = indexed.searcher()
    db = _db(indexed)
    for name in [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'bitlens_cc_%'")]:
        db.execute(f"DROP TRIGGER {name}")  # so opening would have to write them again
    db.close()
    readonly = sqlite3.connect(f"file:{indexed.paths.database}?mode=ro", uri=True, isolation_level=None)
    try:
        loaded = load_codes(readonly, tmp_path / "copies", first.model_id, 64)
    finally:
        readonly.close()
    assert not loaded.from_cache and np.array_equal(loaded.codes, first.index.codes)
    assert not (tmp_path / "copies").exists()  # no copy without a trustworthy counter
