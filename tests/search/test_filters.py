"""Filters (tag, date taken or file time, type), the relevance cutoff and sorting by date."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from PIL import Image

from conftest import make_photo, xmp_packet
from engine.search.cutoff import default_radius, parse_radius
from engine.search.filters import FilterError, Filters, parse_date
from engine.search.searcher import SearchError


def local_noon(y: int, m: int, d: int) -> float:
    return time.mktime((y, m, d, 12, 0, 0, 0, 0, -1))


def exif_date(text: str) -> bytes:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = text
    return exif.tobytes()


@pytest.fixture
def dated_tree(tmp_path: Path) -> dict[str, Path]:
    """Four photos: two JPEGs with EXIF dates, two PNGs dated only by their file time."""
    root = tmp_path / "Dated"
    photos = {
        "a": make_photo(root / "trip" / "a.jpg", 11, exif=exif_date("2019:07:12 08:00:01")),
        "b": make_photo(root / "trip" / "b.jpg", 12, exif=exif_date("2021:03:01 10:00:00"), xmp=xmp_packet(["Beach"]).encode()),
        "c": make_photo(root / "old" / "c.png", 13),
        "d": make_photo(root / "old" / "d.png", 14),
    }
    (root / "old" / "d.txt").write_text("beach, dog", encoding="utf-8")
    # file times far from the EXIF dates, so a filter using the wrong date would be caught
    os.utime(photos["a"], (local_noon(2023, 1, 1), local_noon(2023, 1, 1)))
    os.utime(photos["b"], (local_noon(2023, 1, 1), local_noon(2023, 1, 1)))
    os.utime(photos["c"], (local_noon(2018, 5, 5), local_noon(2018, 5, 5)))
    os.utime(photos["d"], (local_noon(2022, 1, 1), local_noon(2022, 1, 1)))
    return photos


@pytest.fixture
def searcher(library, dated_tree, tiny_spec):
    library.index([dated_tree["a"].parents[1]], backbone=tiny_spec)
    return library.searcher()


def names(results) -> list[str]:
    return [Path(r.path).stem for r in results]


def test_tag_filter_is_case_insensitive_and_needs_every_tag(searcher):
    assert sorted(names(searcher.search("anything", limit=0, filters=Filters(tags=("BEACH",))))) == ["b", "d"]
    assert names(searcher.search("anything", limit=0, filters=Filters(tags=("beach", "dog")))) == ["d"]
    assert searcher.search("anything", limit=0, filters=Filters(tags=("nobody has this",))) == []


def test_date_filter_uses_date_taken_then_file_time(searcher):
    span = Filters(after="2019", before="2022")
    assert sorted(names(searcher.search("anything", limit=0, filters=span))) == ["a", "b"]
    assert sorted(names(searcher.search("anything", limit=0, filters=Filters(after="2021-03", before="2022-01-02")))) == ["b", "d"]
    assert names(searcher.search("anything", limit=0, filters=Filters(before="2019"))) == ["c"]
    with pytest.raises(SearchError, match="empty"):
        searcher.search("anything", filters=Filters(after="2020", before="2019"))
    with pytest.raises(SearchError, match="not a date"):
        searcher.search("anything", filters=Filters(after="last week"))


def test_type_filter_and_combination_with_folder(searcher, dated_tree):
    assert sorted(names(searcher.search("anything", limit=0, filters=Filters(types=("jpg",))))) == ["a", "b"]
    assert sorted(names(searcher.search("anything", limit=0, filters=Filters(types=(".PNG",))))) == ["c", "d"]
    mixed = searcher.search("anything", limit=0, folder=str(dated_tree["c"].parent), filters=Filters(tags=("beach",), types=("png",)))
    assert names(mixed) == ["d"]


def test_radius_cuts_and_can_leave_nothing(searcher, dated_tree):
    only_itself = searcher.search(image=str(dated_tree["a"]), limit=0, radius=0)
    assert names(only_itself) == ["a"] and only_itself[0].distance == 0
    everything = searcher.search(image=str(dated_tree["a"]), limit=0, radius=searcher.bits)
    assert len(everything) == 4
    for r in searcher.search("a red car", limit=0, radius=default_radius(searcher.bits)):
        assert r.distance <= default_radius(searcher.bits)
    # an image query outside the chosen folder: nothing within 0 bits there
    assert searcher.search(image=str(dated_tree["a"]), limit=0, radius=0, folder=str(dated_tree["c"].parent)) == []


def test_sort_by_date_within_the_cutoff(searcher, dated_tree):
    newest_first = searcher.search("anything", limit=0, radius=searcher.bits, sort="date")
    assert names(newest_first) == ["d", "b", "a", "c"]
    assert names(searcher.search("anything", limit=2, radius=searcher.bits, sort="date-asc")) == ["c", "a"]
    by_distance = searcher.search("anything", limit=0)
    assert [r.distance for r in by_distance] == sorted(r.distance for r in by_distance)


def test_default_radius_per_code_length():
    assert [default_radius(k) for k in (16, 32, 64, 128)] == [4, 10, 24, 52]
    assert parse_radius("auto", 64) == 24 and parse_radius("7", 64) == 7
    with pytest.raises(ValueError):
        parse_radius("65", 64)


def test_dates_parse_at_any_precision():
    assert parse_date("2019") == "2019-01-01T00:00:00"
    assert parse_date("2019-12", end=True) == "2020-01-01T00:00:00"
    with pytest.raises(FilterError):
        parse_date("2019-13")


def test_cli_filters_radius_and_sort(tmp_path, dated_tree):
    from cli.test_cli import bitlens

    lib = tmp_path / "lib"
    bitlens(lib, "index", str(dated_tree["a"].parents[1]), "--backbone", "tiny")
    out = json.loads(bitlens(lib, "search", "sea", "--tag", "beach", "--type", "png,jpg", "--after", "2021", "--json", "--limit", "0").stdout)
    assert sorted(Path(r["path"]).stem for r in out) == ["b", "d"]
    out = json.loads(bitlens(lib, "search", "--image", str(dated_tree["c"]), "--radius", "0", "--json").stdout)
    assert [Path(r["path"]).stem for r in out] == ["c"]
    out = json.loads(bitlens(lib, "search", "sea", "--radius", "64", "--sort", "date", "--json").stdout)
    assert [Path(r["path"]).stem for r in out] == ["d", "b", "a", "c"]
    bad = bitlens(lib, "search", "sea", "--radius", "99", check=False)
    assert bad.returncode == 1 and "between 0 and 64" in bad.stderr


def test_last_matched_counts_what_passed_folder_filters_and_radius(searcher, dated_tree):
    searcher.search("anything", limit=1)
    assert searcher.last_matched == 4  # one shown of four ranked
    searcher.search("anything", limit=1, filters=Filters(types=("png",)))
    assert searcher.last_matched == 2
    searcher.search("anything", limit=1, folder=str(dated_tree["a"].parent))
    assert searcher.last_matched == 2
    assert len(searcher.search(image=str(dated_tree["a"]), limit=10, radius=0)) == searcher.last_matched == 1


def test_sort_by_date_without_a_cutoff_orders_the_closest_only(searcher, dated_tree):
    # without a radius the matches are the `limit` closest photos; the newest photo of the
    # library must not push in just because it is new
    closest = names(searcher.search(image=str(dated_tree["c"]), limit=2))
    newest_first = names(searcher.search(image=str(dated_tree["c"]), limit=2, sort="date"))
    assert sorted(newest_first) == sorted(closest)
    assert searcher.last_matched == 4
