"""Near-duplicate finder: pair scan, planted duplicates with the stand-in CLIP, review, CLI."""

from __future__ import annotations

from contextlib import contextmanager

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, SCENES, tree_fingerprint
from engine.library.fingerprints import fingerprint
from engine.search.duplicates import DEFAULT_MIN_SIMILARITY, Review, aligned_pairs, find_duplicates


def load_bench():
    spec = importlib.util.spec_from_file_location("duplicates_bench", REPO / "bench" / "duplicates_bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_aligned_pair_scan_matches_brute_force():
    rng = np.random.default_rng(3)
    prints = rng.integers(0, 2**63, size=(1200, 11), dtype=np.uint64)
    prints[100] = prints[5]  # an exact copy
    prints[200, 0] = prints[6, 4] ^ np.uint64(0b111)  # a crop of photo 6: its whole picture is 3 bits from one of 6's views
    for k in range(300, 400):  # more near pairs, 1 to 9 bits apart, in all parts of the hash
        other = int(rng.integers(0, 1200))
        flips = rng.choice(64, size=k % 9 + 1, replace=False)
        prints[k, 0] = prints[other, int(rng.integers(0, 11))] ^ np.uint64(sum(1 << int(f) for f in flips))
    rest_of = {}
    for i in range(len(prints)):
        rest = prints[i + 1 :]
        d = np.minimum(np.bitwise_count(prints[i, 0] ^ rest).min(axis=1), np.bitwise_count(rest[:, :1] ^ prints[i]).min(axis=1))
        rest_of[i] = d
    # 6 bits: multi-index hashing on 16-bit chunks; 9 bits: every pair compared
    for most in (6, 9):
        found = {(a, b): d for a, b, d in zip(*(x.tolist() for x in aligned_pairs(prints, most)))}
        expected = {(i, i + 1 + int(j)): int(d[j]) for i, d in rest_of.items() for j in np.flatnonzero(d <= most)}
        assert found == expected and len(expected) > 50, most
    assert found[(5, 100)] == 0 and found[(6, 200)] == 3


def test_fingerprint_aligns_small_crops_and_survives_resizing():
    from PIL import Image, ImageFilter

    rng = np.random.default_rng(0)
    picture = Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).resize((128, 128), Image.BICUBIC).filter(ImageFilter.GaussianBlur(2))
    other = Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).resize((128, 128), Image.BICUBIC).filter(ImageFilter.GaussianBlur(2))
    variants = [picture.resize((96, 96), Image.LANCZOS), picture.crop((4, 4, 124, 124)), picture.crop((8, 0, 128, 120))]
    prints = np.stack([np.frombuffer(fingerprint(im), "<u8").astype(np.uint64) for im in [picture, *variants, other]])
    left, right, _ = aligned_pairs(prints, 6)
    pairs = set(zip(left.tolist(), right.tolist()))
    assert {(0, 1), (0, 2), (0, 3)} <= pairs  # resized, cropped on every side, cropped on two sides
    assert not any(4 in pair for pair in pairs)  # an unrelated picture pairs with none


@contextmanager
def planted_library(tmp_path, spec, originals: int, seed: int):
    """A library of scenes photos with near-duplicates planted among them (bench/duplicates_bench.py), indexed."""
    if not SCENES.is_dir():
        pytest.skip("scenes benchmark not found")
    bench = load_bench()
    truth = bench.build(tmp_path, originals=originals, planted=6, seed=seed)
    from engine.facade import BitLens

    with BitLens(tmp_path / "library") as library:
        library.index([tmp_path / "Photos"], backbone=spec, bits=64, device="cpu")
        yield bench, truth, library


@pytest.fixture
def planted(tmp_path, standin_spec):
    with planted_library(tmp_path, standin_spec, originals=40, seed=1) as (bench, truth, library):
        yield bench, truth, library, tmp_path / "Photos"


def test_planted_duplicates_are_found(planted):
    bench, truth, library, photos = planted
    before = tree_fingerprint(photos)
    groups = find_duplicates(library.searcher(device="cpu"))
    figures = bench.score(groups, truth)
    # copies, 96-px resizes, q55 recompressions and 4-px crops: every pair found, and only those
    assert figures["recall"] == 1.0 and figures["precision"] == 1.0, figures
    for group in groups:
        assert group.photos[0].similarity == 1.0  # the representative heads the group
        assert all(p.similarity >= DEFAULT_MIN_SIMILARITY for p in group.photos)
        areas = [p.area for p in group.photos]
        assert areas[0] == max(areas)
    exact = bench.score(find_duplicates(library.searcher(device="cpu"), min_similarity=1.0), truth)
    assert exact["recall_vs_original"]["copy"] == 1.0 and exact["recall"] < figures["recall"]
    assert tree_fingerprint(photos) == before  # finding duplicates never touches the photos


def test_random_model_finds_duplicates_by_pixels_without_chaining(tmp_path, tiny_spec):
    """With an untrained backbone every embedding looks alike: pixels must carry the decision."""
    with planted_library(tmp_path, tiny_spec, originals=60, seed=2) as (bench, truth, library):
        groups = find_duplicates(library.searcher(device="cpu"))
    figures = bench.score(groups, truth)
    assert figures["recall"] >= 0.95 and figures["precision"] >= 0.95, figures
    assert figures["largest_group"] <= 5  # an original and its four copies, never a chain of unrelated photos


def test_equal_sizes_have_no_largest_picture():
    from engine.search.duplicates import DuplicateGroup, DuplicatePhoto

    same = DuplicateGroup([DuplicatePhoto(1, "/a.jpg", "x", 10, 128, 128, ""), DuplicatePhoto(2, "/b.jpg", "y", 12, 128, 128, "")])
    assert same.largest is None
    bigger = DuplicateGroup([DuplicatePhoto(1, "/a.jpg", "x", 10, 256, 256, ""), DuplicatePhoto(2, "/b.jpg", "y", 12, 128, 128, "")])
    assert bigger.largest.path == "/a.jpg"


def test_review_forget_and_keep_never_touch_files(planted):
    bench, truth, library, photos = planted
    before = tree_fingerprint(photos)
    searcher = library.searcher(device="cpu")
    review = Review(library.paths.root)
    groups = find_duplicates(searcher, review=review)
    first, second = groups[0], groups[1]
    undo = review.keep(first, first.photos[-1].path)
    assert sorted(undo) == sorted(p.path for p in first.photos[:-1])
    review.forget([second.photos[0]])
    again = find_duplicates(searcher, review=Review(library.paths.root))  # read back from disk
    shown = {p.path for g in again for p in g.photos}
    assert not any(p.path in shown for p in first.photos[:-1])  # the others of a kept group are forgotten
    assert second.photos[0].path not in shown
    assert len(again) < len(groups)
    assert tree_fingerprint(photos) == before
    assert all(Path(p).is_file() for p in truth)
    review.restore(undo)  # undoing the keep brings the whole group back
    back = find_duplicates(searcher, review=Review(library.paths.root))
    assert any({p.path for p in g.photos} == {p.path for p in first.photos} for g in back)
    review.clear()
    assert len(find_duplicates(searcher, review=Review(library.paths.root))) == len(groups)


def test_cli_duplicates_json(tmp_path, photo_tree):
    from cli.test_cli import bitlens

    copy = tmp_path / "more" / "copy of sunset.jpg"
    copy.parent.mkdir()
    shutil.copy(photo_tree / "2019-07 beach holiday" / "sunset_dog.jpg", copy)
    lib = tmp_path / "lib"
    bitlens(lib, "index", str(photo_tree), str(copy.parent), "--backbone", "tiny")
    groups = json.loads(bitlens(lib, "duplicates", "--json").stdout)
    pair = [g for g in groups if str(copy) in {p["path"] for p in g["photos"]}]
    assert len(pair) == 1
    assert {Path(p["path"]).name for p in pair[0]["photos"]} == {"sunset_dog.jpg", "copy of sunset.jpg"}
    assert pair[0]["similarity"] == 1.0 and set(pair[0]["photos"][0]) == {"path", "size", "width", "height", "date", "similarity"}
    text = bitlens(lib, "duplicates", "--min-similarity", "100").stdout
    assert "group 1 (2 photos, at least 100% alike)" in text and "copy of sunset.jpg" in text
    bad = bitlens(lib, "duplicates", "--min-similarity", "140", check=False)
    assert bad.returncode == 2 and "between 0 and 100" in bad.stderr
