"""Tag suggestions: the user's tags nearest an untagged photo, with a calibrated confidence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from conftest import SCENES, tree_fingerprint
from engine.search.suggest import TagSuggester, accept_tag, reject_tag

ALBUMS = ("2010-02 sea life", "2012-06 cars and trains", "2016-12 flowers")


def reencode(source: Path, target: Path) -> None:
    """Copy the pixels only (no XMP, no sidecar): the copy carries no tag of its own."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(source) as image:
        image.convert("RGB").save(target, quality=95)


@pytest.fixture
def sorted_and_unsorted(tmp_path, standin_spec):
    """Three albums whose folder names are the tags, and a Camera Roll of photos of the same subjects."""
    if not SCENES.is_dir():
        pytest.skip("scenes benchmark not found")
    from engine.facade import BitLens

    root = tmp_path / "Photos"
    truth: dict[str, str] = {}
    number = 0
    for album in ALBUMS:
        sources = sorted((SCENES / album).glob("*.jpg"))
        for source in sources[:20]:
            reencode(source, root / album.split(" ", 1)[1] / source.name)
        for source in sources[20:24]:
            number += 1
            target = root / "Camera Roll" / f"IMG_{number:04d}.jpg"
            reencode(source, target)
            truth[str(target)] = album
    library = BitLens(tmp_path / "library")
    library.index([root], backbone=standin_spec, bits=64, device="cpu")
    yield library, root, truth
    library.close()


def album_tags(library, root: Path, album: str) -> set[str]:
    folder = root / album.split(" ", 1)[1]
    first = next(folder.glob("*.jpg"))
    return {t["tag"].casefold() for t in library.photo(first)["tags"]}


def test_untagged_photos_get_their_albums_tag_first(sorted_and_unsorted):
    library, root, truth = sorted_and_unsorted
    suggester = TagSuggester(library.searcher(device="cpu"))
    assert sorted(suggester.untagged_paths()) == sorted(truth)
    right, confident_right, confident_wrong = 0, [], []
    for path, album in truth.items():
        wanted = album_tags(library, root, album)
        suggestions = suggester.suggest(path, limit=3, min_confidence=0.0)
        assert suggestions, path
        assert all(0.0 <= s.confidence <= 1.0 for s in suggestions)
        if suggestions[0].tag.casefold() in wanted:
            right += 1
        for s in suggestions:
            (confident_right if s.tag.casefold() in wanted else confident_wrong).append(s.confidence)
    # top suggestion is the album's tag for most photos (chance: 1 in 3 albums; measured 8 of 12)
    assert right >= 7
    # the confidence means something: right tags are suggested with more of it than wrong ones
    assert sum(confident_right) / len(confident_right) > sum(confident_wrong) / max(len(confident_wrong), 1) + 0.1


def test_accept_and_reject(sorted_and_unsorted):
    library, root, truth = sorted_and_unsorted
    before = tree_fingerprint(root)
    path = next(iter(truth))
    suggester = TagSuggester(library.searcher(device="cpu"))
    first, second = suggester.suggest(path, limit=2, min_confidence=0.0)
    accept_tag(library, path, first.tag.upper())  # matched case-insensitively: no second spelling
    assert {"tag": first.tag, "source": "user"} in library.photo(path)["tags"]
    reject_tag(library, path, second.tag)
    again = TagSuggester(library.searcher(device="cpu")).suggest(path, limit=5, min_confidence=0.0)
    assert first.tag not in {s.tag for s in again} and second.tag not in {s.tag for s in again}
    assert path not in TagSuggester(library.searcher(device="cpu")).untagged_paths()
    library.index()  # a rescan keeps the accepted tag
    assert {"tag": first.tag, "source": "user"} in library.photo(path)["tags"]
    assert tree_fingerprint(root) == before  # tags live in the library, never in the photos


def test_cli_suggest(tmp_path, photo_tree):
    from cli.test_cli import bitlens

    lib = tmp_path / "lib"
    bitlens(lib, "index", str(photo_tree), "--backbone", "tiny")
    target = photo_tree / "Camera Roll" / "IMG_0004.gif"
    out = json.loads(bitlens(lib, "suggest", str(target), "--min-confidence", "0", "--json").stdout)
    assert out[0]["path"] == str(target)
    for s in out[0]["suggestions"]:
        assert set(s) == {"tag", "confidence", "score", "basis"} and 0 <= s["confidence"] <= 1
    bitlens(lib, "suggest", str(target), "--accept", "Grandma")
    shown = json.loads(bitlens(lib, "show", str(target), "--json").stdout)
    assert {"tag": "Grandma", "source": "user"} in shown["tags"]
    bad = bitlens(lib, "suggest", check=False)
    assert bad.returncode == 1 and "--untagged" in bad.stderr
