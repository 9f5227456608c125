"""Dates from camera file names and folder names, the fallback before the file time."""

from __future__ import annotations

import os
import time
from pathlib import Path

from conftest import make_photo
from engine.library.name_dates import FILE_NAME, FILE_TIME, FOLDER_NAME, METADATA, date_from_path, photo_date
from engine.search.filters import Filters


def test_camera_and_phone_file_names():
    cases = {
        "PXL_20110520_093012345.jpg": "2011-05-20T09:30:12",
        "IMG_20190712_101010.jpg": "2019-07-12T10:10:10",
        "20190712_101010.heic": "2019-07-12T10:10:10",
        "IMG-20190712-WA0001.jpg": "2019-07-12T00:00:00",
        "Screenshot_2019-07-12-10-10-10.png": "2019-07-12T10:10:10",
        "2019-07-12 10.10.10.jpg": "2019-07-12T10:10:10",
    }
    for name, iso in cases.items():
        found = date_from_path(f"/photos/misc/{name}")
        assert found is not None and found.iso == iso and found.source == FILE_NAME, name
    for name in ("IMG_0001.jpg", "DSC01234.jpg", "IMG_20191332_101010.jpg", "photo_123456789012.jpg"):
        assert date_from_path(f"/photos/misc/{name}") is None, name


def test_folder_names_as_precise_as_they_are():
    assert date_from_path("/p/2019-07 beach/IMG_0001.jpg").shown == "2019-07"
    assert date_from_path("/p/2019-07-14 party/x.jpg").shown == "2019-07-14"
    assert date_from_path("/p/2019/07/12/x.jpg").shown == "2019-07-12"
    assert date_from_path("/p/2019/x.jpg").shown == "2019"
    found = date_from_path("/p/2019-07 beach/DCIM/IMG_0001.jpg")  # the nearest dated folder, up to three levels
    assert found.source == FOLDER_NAME and found.iso == "2019-07-01T00:00:00"
    # the file name wins over the folder
    assert date_from_path("/p/2019-07 beach/PXL_20110520_093012345.jpg").iso.startswith("2011-05-20")
    assert date_from_path("/p/Holiday/x.jpg") is None


def test_photo_date_says_where_it_came_from():
    assert photo_date("/p/x.jpg", "2020-01-02T03:04:05", 0)["date_source"] == METADATA
    assert photo_date("/p/PXL_20110520_093012345.jpg", None, 0) == {
        "date": "2011-05-20T09:30:12",
        "date_shown": "2011-05-20 09:30:12",
        "date_source": FILE_NAME,
    }
    stamp = time.mktime((2023, 1, 1, 12, 0, 0, 0, 0, -1))
    assert photo_date("/p/x.jpg", None, int(stamp * 1e9)) == {"date": "2023-01-01T12:00:00", "date_shown": "2023-01-01 12:00:00", "date_source": FILE_TIME}


def test_filters_sorting_and_details_use_name_dates(library, tmp_path: Path, tiny_spec):
    root = tmp_path / "Phone"
    named = make_photo(root / "PXL_20110520_093012345.jpg", 1)
    foldered = make_photo(root / "2015-03 skiing" / "IMG_0001.jpg", 2)
    plain = make_photo(root / "IMG_0002.jpg", 3)
    noon = time.mktime((2023, 1, 1, 12, 0, 0, 0, 0, -1))
    for path in (named, foldered, plain):  # copied yesterday: every file time is new
        os.utime(path, (noon, noon))
    library.index([root], backbone=tiny_spec)
    searcher = library.searcher()
    stems = lambda results: [Path(r.path).stem for r in results]  # noqa: E731
    assert stems(searcher.search("x", limit=0, filters=Filters(before="2012"))) == ["PXL_20110520_093012345"]
    assert stems(searcher.search("x", limit=0, filters=Filters(after="2015-03", before="2015-04"))) == ["IMG_0001"]
    assert stems(searcher.search("x", limit=0, radius=searcher.bits, sort="date")) == ["IMG_0002", "IMG_0001", "PXL_20110520_093012345"]
    details = library.photo(named)
    assert details["date_shown"] == "2011-05-20 09:30:12" and details["date_source"] == FILE_NAME
    assert library.photo(foldered)["date_shown"] == "2015-03" and library.photo(plain)["date_source"] == FILE_TIME
