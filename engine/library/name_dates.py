"""Dates read from camera file names and folder names, for photos with no date in their metadata.

Phones and cameras write the capture time into the file name (`PXL_20110520_093012345.jpg`,
`IMG_20190712_101010.jpg`, `20190712_101010.jpg`, `IMG-20190712-WA0001.jpg`,
`Screenshot_2019-07-12-10-10-10.png`), and people file photos in dated folders
(`2019-07 beach`, `2019/07/12`). Photo managers fall back to these before the file
time, which changes with every copy; so does BitLens, and it says which one it used.
Dates are local time, like EXIF's, as "YYYY-MM-DDTHH:MM:SS".
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from typing import Optional

__all__ = [
    "FILE_NAME",
    "FILE_TIME",
    "FOLDER_NAME",
    "METADATA",
    "NameDate",
    "photo_date",
    "date_from_file_name",
    "date_from_folders",
    "date_from_path",
    "name_date_sql",
]

FILE_NAME = "file name"
FOLDER_NAME = "folder name"
FOLDER_LEVELS = 3  # folders looked at above the file: 2019/07/12/x.jpg is three levels

# YYYYMMDD or YYYY-MM-DD (any of - _ . between), then optionally a time HHMMSS or HH-MM-SS / HH.MM.SS.
_IN_NAME = re.compile(
    r"(?<!\d)((?:19|20)\d\d)([-_.]?)(0[1-9]|1[0-2])\2(0[1-9]|[12]\d|3[01])"
    r"(?:[-_ T.]?([01]\d|2[0-3])([-_.:]?)([0-5]\d)\6([0-5]\d)\d{0,3})?(?!\d)"
)
# A folder that starts with a year, a year and month, or a full date: "2019", "2019-07 beach", "2019_07_12 trip".
_FOLDER = re.compile(r"^((?:19|20)\d\d)(?:[-_. ](0[1-9]|1[0-2])(?:[-_. ](0[1-9]|[12]\d|3[01]))?)?(?!\d)")
_TWO = re.compile(r"^(0[1-9]|1[0-2]|[12]\d|3[01])$")


@dataclass(frozen=True)
class NameDate:
    """A date read from a name: ISO text for sorting and filtering, what the name really said, where."""

    iso: str  # "YYYY-MM-DDTHH:MM:SS" (the start of the span when the name gives only a year or month)
    shown: str  # as precise as the name: "2019", "2019-07", "2019-07-12" or "2019-07-12 10:10:10"
    source: str  # FILE_NAME or FOLDER_NAME


def _iso(year: int, month: int = 1, day: int = 1, hour: int = 0, minute: int = 0, second: int = 0) -> Optional[str]:
    try:
        return dt.datetime(year, month, day, hour, minute, second).strftime("%Y-%m-%dT%H:%M:%S")
    except ValueError:  # 2019-02-31 and the like: not a date
        return None


def date_from_file_name(name: str) -> Optional[NameDate]:
    """The capture time a camera or phone wrote into a file name, or None."""
    stem = os.path.splitext(os.path.basename(name))[0]
    for found in _IN_NAME.finditer(stem):
        year, _sep, month, day, hour, _tsep, minute, second = found.groups()
        iso = _iso(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
        if iso:
            return NameDate(iso, iso.replace("T", " ") if hour else iso[:10], FILE_NAME)
    return None


def date_from_folders(path: str, levels: int = FOLDER_LEVELS) -> Optional[NameDate]:
    """The date of the nearest dated folder above `path` ("2019-07 beach", or 2019/07/12), or None."""
    parts = [p for p in os.path.dirname(os.path.abspath(path)).split(os.sep) if p][-levels:]
    for i in range(len(parts) - 1, -1, -1):
        found = _FOLDER.match(parts[i])
        if not found:
            continue
        year, month, day = int(found.group(1)), int(found.group(2) or 0), int(found.group(3) or 0)
        if not month and found.end() == len(parts[i]):
            # "2019/07/12": month and day as the folders below the year
            below = parts[i + 1 : i + 3]
            if below and _TWO.match(below[0]) and int(below[0]) <= 12:
                month = int(below[0])
                if len(below) > 1 and _TWO.match(below[1]):
                    day = int(below[1])
        iso = _iso(year, month or 1, day or 1)
        if iso:
            shown = iso[:10] if day else iso[:7] if month else iso[:4]
            return NameDate(iso, shown, FOLDER_NAME)
    return None


def date_from_path(path: str) -> Optional[NameDate]:
    """The date in the file name, else in the nearest dated folder; None when neither has one."""
    return date_from_file_name(path) or date_from_folders(path)


def name_date_sql(path: Optional[str]) -> Optional[str]:
    """`date_from_path` as the SQLite function name_date(path): the ISO date only."""
    found = date_from_path(path) if path else None
    return found.iso if found else None


METADATA = "photo's metadata"
FILE_TIME = "file time"


def photo_date(path: str, date_taken: Optional[str], mtime_ns: Optional[int]) -> dict:
    """The date filters and sorting use for a photo, as {"date", "date_shown", "date_source"}.

    The same order as search.filters.DATE_SQL: date taken (EXIF/XMP), the file name, a
    folder name, then the file's modification time (local time).
    """
    if date_taken:
        return {"date": date_taken, "date_shown": date_taken.replace("T", " "), "date_source": METADATA}
    found = date_from_path(path)
    if found:
        return {"date": found.iso, "date_shown": found.shown, "date_source": found.source}
    if mtime_ns:
        iso = dt.datetime.fromtimestamp(mtime_ns / 1e9).strftime("%Y-%m-%dT%H:%M:%S")
        return {"date": iso, "date_shown": iso.replace("T", " "), "date_source": FILE_TIME}
    return {"date": None, "date_shown": None, "date_source": None}
