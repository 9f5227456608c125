"""What a training run would learn from: counts of photos and tags, and warnings about them.

Plain SQL, no torch: the wizard's Data page asks this every time the user ticks a
folder or a tag source, so it has to answer in milliseconds.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Optional, Sequence

from ..library.schema import TAG_SOURCES
from .data import MIN_TAGGED_PHOTOS, below_folders

# The data section of the default hashing config decides which tags are kept; the
# same numbers are used here so the page counts what training will really use.
MIN_TAG_COUNT = 2
MAX_TAG_FRACTION = 0.5
DOMINANT_FRACTION = 0.5  # a tag on more photos than this says little (and is dropped)

_MONTH = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
_DATE_RE = re.compile(
    rf"(?:\d{{4}}(?:[-_./ ]\d{{1,2}}){{0,2}}|\d{{1,2}}[-_./]\d{{1,2}}[-_./]\d{{2,4}}|{_MONTH}\.?(?:[ -]\d{{2,4}})?|\d{{4}}[ -]{_MONTH})",
    re.IGNORECASE,
)
_CAMERA_WORDS = frozenset(
    """canon nikon sony fujifilm fuji olympus panasonic lumix leica pentax ricoh samsung huawei xiaomi
    oneplus pixel iphone ipad gopro dji hasselblad sigma kodak eos dslr mirrorless""".split()
)
_AMBIGUOUS_BRANDS = frozenset("fuji pixel sigma kodak".split())  # also a mountain, a dot, a letter, a moment
_CAMERA_MODEL_RE = re.compile(r"(?:[a-z]{1,4}(?:-[a-z]{1,4})?[- ]?\d{2,5}[a-z]{0,3}|\d{1,4}d|eos[ -].*|ilce[- ]?\w+|dmc[- ]?\w+)", re.IGNORECASE)


def looks_like_date(tag: str) -> bool:
    """ "2019", "2019-07", "12.03.2018", "July 2019": a when, not a what."""
    return bool(_DATE_RE.fullmatch(tag.strip()))


def looks_like_camera(tag: str) -> bool:
    """ "Canon EOS 5D", "iPhone 12", "DSC-RX100": which camera, not what is in the photo.

    A brand counts when the tag starts with it ("mount fuji" is a mountain, "fuji x100" a
    camera); a brand that is also a common word (fuji, pixel, sigma) only with a model number.
    """
    words = tag.casefold().split()
    if words and words[0] in _CAMERA_WORDS:
        if words[0] not in _AMBIGUOUS_BRANDS or any(any(c.isdigit() for c in word) for word in words[1:]):
            return True
    return bool(_CAMERA_MODEL_RE.fullmatch(tag.strip()))


@dataclass
class TagOverview:
    """The numbers and warnings the Data page shows."""

    photos: int = 0
    tagged_photos: int = 0  # photos with any tag from the chosen sources
    usable_photos: int = 0  # photos with a tag training keeps (seen at least twice, not on most photos)
    distinct_tags: int = 0
    usable_tags: int = 0
    top_tags: list[tuple[str, int]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def enough(self) -> bool:
        return self.usable_photos >= MIN_TAGGED_PHOTOS


def tag_overview(library, sources: Sequence[str] = TAG_SOURCES, folders: Optional[Sequence[str]] = None, top: int = 15) -> TagOverview:
    """Photos, tags and warnings for a choice of folders and tag sources (distinct contents, as training counts them)."""
    sources = [s for s in sources if s in TAG_SOURCES]
    folder_clause, folder_args = below_folders(folders)
    with library.store.raw() as db:
        photos = db.execute(f"SELECT count(DISTINCT i.content_hash) FROM images i WHERE i.status = 'ok'{folder_clause}", folder_args).fetchone()[0]
        rows = []
        if sources:
            marks = ",".join("?" * len(sources))
            rows = db.execute(
                "SELECT DISTINCT i.content_hash, t.name FROM image_tags it JOIN images i ON i.id = it.image_id JOIN tags t ON t.id = it.tag_id "
                f"WHERE i.status = 'ok' AND it.source IN ({marks}){folder_clause}",
                [*sources, *folder_args],
            ).fetchall()
    by_photo: dict[str, set[str]] = {}
    for digest, name in rows:
        by_photo.setdefault(digest, set()).add(name)
    counts = Counter(tag for tags in by_photo.values() for tag in tags)
    usable = {t for t, n in counts.items() if n >= MIN_TAG_COUNT and n <= MAX_TAG_FRACTION * max(photos, 1)}
    overview = TagOverview(
        photos=photos,
        tagged_photos=len(by_photo),
        usable_photos=sum(1 for tags in by_photo.values() if tags & usable),
        distinct_tags=len(counts),
        usable_tags=len(usable),
        top_tags=sorted(counts.items(), key=lambda kv: (-kv[1], kv[0].casefold()))[:top],
    )
    overview.warnings = _warnings(overview, counts, photos)
    return overview


def _warnings(overview: TagOverview, counts: Counter, photos: int) -> list[str]:
    warnings = []
    if photos == 0:
        return ["No indexed photos in the chosen folders: index them first."]
    if overview.usable_photos < MIN_TAGGED_PHOTOS:
        warnings.append(
            f"Only {overview.usable_photos} photos have a tag that occurs at least {MIN_TAG_COUNT} times; training needs at least "
            f"{MIN_TAGGED_PHOTOS}. Add folders with meaningful names or keywords, or tag some photos yourself in the preview pane."
        )
    for tag, n in counts.most_common(3):
        if n > DOMINANT_FRACTION * photos:
            warnings.append(f"“{tag}” is on {100 * n // photos}% of the photos: it tells photos apart no better than “the”, so training ignores it.")
    dates = [t for t in counts if looks_like_date(t)]
    if dates:
        warnings.append(f"{len(dates)} tag(s) look like dates ({', '.join(sorted(dates)[:4])}): they say when, not what, and teach search little.")
    cameras = [t for t in counts if looks_like_camera(t)]
    if cameras:
        warnings.append(
            f"{len(cameras)} tag(s) look like camera names ({', '.join(sorted(cameras)[:4])}): untick their source if they are not what you search for."
        )
    if counts and overview.usable_tags < 2:
        warnings.append("Fewer than two tags can be used: the network needs several different tags to learn what tells photos apart.")
    return warnings
