"""The engine's facade: what the desktop app relies on when it lists, searches and swaps models."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO


def test_every_exported_name_resolves_and_importing_the_facade_stays_light():
    code = (
        "import json, sys, engine.facade as f; light = sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'torch', 'PIL', 'PySide6')); "
        "missing = [n for n in f.__all__ if getattr(f, n, None) is None]; print(json.dumps([light, missing, sorted(f.__all__) == sorted(f._EXPORTS)]))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout
    light, missing, consistent = json.loads(out)
    assert light == []  # the GUI thread can import it for a constant without loading the engine
    assert missing == [] and consistent


def test_listing_a_folder_shows_only_its_photos_and_sorts_by_date(library, photo_tree, tiny_spec):
    library.index([photo_tree], backbone=tiny_spec)
    everything = library.listing()
    assert len(everything) == library.status()["photos"] == 9
    assert [i for i, _ in everything] == sorted(i for i, _ in everything)  # the order photos were indexed
    below = library.listing(str(photo_tree / "Camera Roll"))
    assert {p.split("/")[-1] for _, p in below} == {
        "PXL_20200101_101010000.jpg",
        "IMG_0002.png",
        "IMG_0003.webp",
        "IMG_0004.gif",
        "IMG_0005.bmp",
        "IMG_0006.tif",
    }
    deeper = library.listing(str(photo_tree / "Camera Roll" / "DCIM"))
    assert [p.split("/")[-1] for _, p in deeper] == ["IMG_0003.webp"]
    # "Camera Roll" must not also list a sibling folder whose name merely starts the same
    assert all("/Camera Roll/" in p for _, p in below)
    newest = library.listing(str(photo_tree / "Camera Roll"), sort="date")
    oldest = library.listing(str(photo_tree / "Camera Roll"), sort="date-asc")
    assert sorted(newest) == sorted(below) and newest != oldest
    assert newest[-1][1].endswith("PXL_20200101_101010000.jpg")  # dated 2020 by its name: older than the files made today


def test_codes_version_changes_when_what_search_ranks_changes(library, photo_tree, tiny_spec):
    before = library.codes_version()
    library.index([photo_tree / "2019-07 beach holiday", photo_tree / "Camera Roll"], backbone=tiny_spec)
    indexed = library.codes_version()
    assert indexed != before and indexed[1] is not None  # codes written, a model active
    assert library.codes_version() == indexed  # reading changes nothing
    library.remove_folder(str(photo_tree / "Camera Roll"))
    assert library.codes_version() != indexed  # photos gone from the ranking
