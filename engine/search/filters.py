"""Filters that narrow any query: tags, a date range and file types (the folder filter is the searcher's).

Dates are the photo's date taken (EXIF, else XMP, as the scanner stored it: camera local
time "YYYY-MM-DDTHH:MM:SS"); photos without one fall back to a date in the file name
(`PXL_20110520_…`) or a folder name (`2019-07 beach`), then to the file's modification
time in local time. `after` is inclusive and `before` exclusive, at the precision given:
`--after 2019-07 --before 2019-08` is July 2019.
"""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass
from typing import Iterable, Optional

import numpy as np

__all__ = ["FilterError", "Filters", "parse_date", "matching_ids", "photo_dates", "TYPE_ALIASES"]

# What users type -> Pillow's format names (the scanner stores those).
TYPE_ALIASES = {
    "jpg": "JPEG",
    "jpeg": "JPEG",
    "jpe": "JPEG",
    "mpo": "MPO",
    "png": "PNG",
    "gif": "GIF",
    "bmp": "BMP",
    "tif": "TIFF",
    "tiff": "TIFF",
    "webp": "WEBP",
    "heic": "HEIF",
    "heif": "HEIF",
    "avif": "AVIF",
}
# A JPEG from a phone is often stored as MPO (a JPEG with a depth map): it is still a JPEG to the user.
_SAME_AS = {"JPEG": ("JPEG", "MPO")}
_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?$")
# SQLite expression for a photo's date: date taken, else a date in its file or folder name
# (engine.library.name_dates, registered on every connection), else mtime in local time.
DATE_SQL = "COALESCE(i.date_taken, name_date(i.path), strftime('%Y-%m-%dT%H:%M:%S', i.mtime_ns / 1000000000, 'unixepoch', 'localtime'))"


class FilterError(ValueError):
    """A filter value that cannot be understood, explained in one sentence."""


def parse_date(text: str, end: bool = False) -> str:
    """'2019', '2019-07' or '2019-07-14' as an ISO prefix bound; `end` gives the day after the span."""
    found = _DATE.match(text.strip())
    if not found:
        raise FilterError(f"not a date: '{text}' (use YYYY, YYYY-MM or YYYY-MM-DD)")
    year, month, day = int(found.group(1)), int(found.group(2) or 1), int(found.group(3) or 1)
    try:
        stamp = time.strptime(f"{year:04d}-{month:02d}-{day:02d}", "%Y-%m-%d")
    except ValueError:
        raise FilterError(f"not a date: '{text}'") from None
    if not end:
        return time.strftime("%Y-%m-%dT00:00:00", stamp)
    import datetime as dt

    start = dt.date(year, month, day)
    if found.group(3):
        nxt = start + dt.timedelta(days=1)
    elif found.group(2):
        nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    else:
        nxt = dt.date(year + 1, 1, 1)
    return nxt.strftime("%Y-%m-%dT00:00:00")


def _types(values: Iterable[str]) -> set[str]:
    formats: set[str] = set()
    for value in values:
        key = value.strip().lower().lstrip(".")
        if not key:
            continue
        name = TYPE_ALIASES.get(key, key.upper())
        formats.update(_SAME_AS.get(name, (name,)))
    return formats


@dataclass(frozen=True)
class Filters:
    """What a result must be: every tag (any source, any case), in the date span, one of the types."""

    tags: tuple[str, ...] = ()
    after: Optional[str] = None  # "YYYY[-MM[-DD]]", inclusive
    before: Optional[str] = None  # "YYYY[-MM[-DD]]", exclusive
    types: tuple[str, ...] = ()  # "jpg", "png", ... (or Pillow format names)

    @property
    def empty(self) -> bool:
        return not (self.tags or self.after or self.before or self.types)

    def bounds(self) -> tuple[Optional[str], Optional[str]]:
        low = parse_date(self.after) if self.after else None
        # "before 2019-07" means before July starts; at day precision, before that day starts.
        high = parse_date(self.before) if self.before else None
        if low and high and low >= high:
            raise FilterError(f"the date range is empty: after {self.after} and before {self.before}")
        return low, high

    def describe(self) -> str:
        parts = [f"tag {t}" for t in self.tags]
        if self.after:
            parts.append(f"from {self.after}")
        if self.before:
            parts.append(f"before {self.before}")
        if self.types:
            parts.append("type " + "/".join(self.types))
        return ", ".join(parts)


def matching_ids(db: sqlite3.Connection, filters: Filters) -> np.ndarray:
    """Sorted ids (int64) of 'ok' photos that pass the filters (`db` is a raw sqlite connection)."""
    where = ["i.status = 'ok'"]
    params: list[str | int] = []
    low, high = filters.bounds()
    if low:
        where.append(f"{DATE_SQL} >= ?")
        params.append(low)
    if high:
        where.append(f"{DATE_SQL} < ?")
        params.append(high)
    formats = _types(filters.types)
    if formats:
        where.append(f"UPPER(i.format) IN ({','.join('?' * len(formats))})")
        params.extend(sorted(formats))
    wanted = [t.strip().casefold() for t in filters.tags if t.strip()]
    if wanted:
        # Case-insensitive for any script (SQLite's LOWER folds ASCII only): resolve ids here.
        by_name: dict[str, list[int]] = {}
        for tag_id, name in db.execute("SELECT id, name FROM tags"):
            by_name.setdefault(name.casefold(), []).append(tag_id)
        for name in wanted:
            tag_ids = by_name.get(name)
            if not tag_ids:
                return np.zeros(0, dtype=np.int64)  # nobody has this tag
            where.append(f"EXISTS (SELECT 1 FROM image_tags it WHERE it.image_id = i.id AND it.tag_id IN ({','.join('?' * len(tag_ids))}))")
            params.extend(tag_ids)
    rows = db.execute(f"SELECT i.id FROM images i WHERE {' AND '.join(where)} ORDER BY i.id", params).fetchall()
    return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))


def photo_dates(db: sqlite3.Connection, ids: Iterable[int] | np.ndarray) -> dict[int, str]:
    """Each photo's date (taken, else mtime) as ISO text, for sorting results by date."""
    out: dict[int, str] = {}
    wanted = [int(i) for i in ids]
    for start in range(0, len(wanted), 900):
        chunk = wanted[start : start + 900]
        for image_id, date in db.execute(f"SELECT i.id, {DATE_SQL} FROM images i WHERE i.id IN ({','.join('?' * len(chunk))})", chunk):
            out[int(image_id)] = date or ""
    return out
