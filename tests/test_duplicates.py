"""Near-duplicate finder: pair scan, planted duplicates with the stand-in CLIP, review, CLI."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, SCENES, tree_fingerprint
from engine.search.duplicates import Review, default_duplicate_radius, find_duplicates, pairs_within
from engine.search.hamming import hamming_distance_reference, pack_bits


def load_bench():
    spec = importlib.util.spec_from_file_location("duplicates_bench", REPO / "bench" / "duplicates_bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pair_scan_matches_brute_force():
    rng = np.random.default_rng(3)
    bits = rng.integers(0, 2, size=(700, 64), dtype=np.uint8)
    bits[100] = bits[5]  # an exact duplicate
    bits[200] = bits[6]
    bits[200, :3] ^= 1  # a near one, 3 bits away
    left, right, dist = pairs_within(pack_bits(bits), 3)
    found = {(a, b): d for a, b, d in zip(left.tolist(), right.tolist(), dist.tolist())}
    expected = {}
    for i in range(len(bits)):
        d = hamming_distance_reference(bits[i], bits[i + 1 :])
        for j in np.flatnonzero(d <= 3):
            expected[(i, i + 1 + int(j))] = int(d[j])
    assert found == expected
    assert found[(5, 100)] == 0 and found[(6, 200)] == 3


def test_default_radius_per_code_length():
    assert [default_duplicate_radius(k) for k in (16, 32, 64, 128)] == [2, 4, 8, 16]


@pytest.fixture
def planted(tmp_path, standin_spec):
    if not SCENES.is_dir():
        pytest.skip("scenes benchmark not found")
    bench = load_bench()
    truth = bench.build(tmp_path, originals=40, planted=6, seed=1)
    from engine.library.library import Library

    with Library(tmp_path / "library") as library:
        library.index([tmp_path / "Photos"], backbone=standin_spec, bits=64, device="cpu")
        yield bench, truth, library, tmp_path / "Photos"


def test_planted_duplicates_are_found(planted):
    bench, truth, library, photos = planted
    before = tree_fingerprint(photos)
    groups = find_duplicates(library.searcher(device="cpu"))
    figures = bench.score(groups, truth)
    # copies, resized and recompressed copies are always caught; most slight crops too
    assert figures["recall_vs_original"]["copy"] == 1.0
    assert figures["recall_vs_original"]["resized"] == 1.0
    assert figures["recall_vs_original"]["recompressed"] == 1.0
    assert figures["recall"] >= 0.8
    assert figures["precision"] >= 0.9
    # the biggest picture heads each group; a radius of 0 finds only byte-identical or same-code photos
    for group in groups:
        areas = [(p.width or 0) * (p.height or 0) for p in group.photos]
        assert areas[0] == max(areas)
        assert group.max_distance <= default_duplicate_radius(64)
    exact = bench.score(find_duplicates(library.searcher(device="cpu"), radius=0), truth)
    assert exact["recall_vs_original"]["copy"] == 1.0 and exact["recall"] < figures["recall"]
    assert tree_fingerprint(photos) == before  # finding duplicates never touches the photos


def test_review_forget_and_keep_never_touch_files(planted):
    bench, truth, library, photos = planted
    before = tree_fingerprint(photos)
    searcher = library.searcher(device="cpu")
    review = Review(library.paths.root)
    groups = find_duplicates(searcher, review=review)
    first, second = groups[0], groups[1]
    review.keep(first, first.photos[-1].path)
    review.forget([second.photos[0]])
    again = find_duplicates(searcher, review=Review(library.paths.root))  # read back from disk
    shown = {p.path for g in again for p in g.photos}
    assert not any(p.path in shown for p in first.photos[:-1])  # the others of a kept group are forgotten
    assert second.photos[0].path not in shown
    assert len(again) < len(groups)
    assert tree_fingerprint(photos) == before
    assert all(Path(p).is_file() for p in truth)
    review.clear()
    assert len(find_duplicates(searcher, review=Review(library.paths.root))) == len(groups)


def test_cli_duplicates_json(tmp_path, photo_tree):
    from test_cli import bitlens

    copy = tmp_path / "more" / "copy of sunset.jpg"
    copy.parent.mkdir()
    shutil.copy(photo_tree / "2019-07 beach holiday" / "sunset_dog.jpg", copy)
    lib = tmp_path / "lib"
    bitlens(lib, "index", str(photo_tree), str(copy.parent), "--backbone", "tiny")
    groups = json.loads(bitlens(lib, "duplicates", "--radius", "0", "--json").stdout)
    pair = [g for g in groups if str(copy) in {p["path"] for p in g["photos"]}]
    assert len(pair) == 1
    assert {Path(p["path"]).name for p in pair[0]["photos"]} == {"sunset_dog.jpg", "copy of sunset.jpg"}
    assert pair[0]["max_distance"] == 0 and set(pair[0]["photos"][0]) == {"path", "size", "width", "height", "date"}
    text = bitlens(lib, "duplicates", "--radius", "0").stdout
    assert "group 1 (within 0 bits)" in text and "copy of sunset.jpg" in text
    bad = bitlens(lib, "duplicates", "--radius", "99", check=False)
    assert bad.returncode == 1 and "between 0 and 64" in bad.stderr
