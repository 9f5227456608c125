"""Weak tags from folder and file names ("2019-07 Hawaii" -> "hawaii"), with camera and date noise dropped."""

from __future__ import annotations

import re

from .pathtext import legible


STOP_WORDS: frozenset[str] = frozenset(
    """a an the and or but nor of in on at to into onto with without for from by via
    over under up out off as is are was were be been my our your his her their its me
    we us you it this that these those some any all etc vs""".split()
)

# Folder words that name a container, not what is in the photos ("Camera Roll", "Misc").
GENERIC_WORDS: frozenset[str] = frozenset(
    """dcim camera misc miscellaneous unsorted uncategorized uncategorised unfiled sort sorted todo
    imported import imports backup backups phone mobile cellphone iphone ipad android
    pictures picture pics pic photos photo images image imgs img downloads download desktop
    documents document files file folder folders screenshots screenshot screencaps
    whatsapp telegram messenger viber wechat snapchat instagram facebook
    icloud dropbox onedrive gdrive uploads upload uploaded sent received shared
    temp tmp untitled other others various stuff random export exports exported
    originals original edited edits raw jpg jpeg png heic gallery album albums library
    media video videos movies thumbnails thumbs cache archive archives copy""".split()
)

# Multi-word container names whose words are fine on their own ("New York", "sushi roll").
GENERIC_PHRASES: tuple[tuple[str, ...], ...] = (
    ("new", "folder"),
    ("camera", "roll"),
    ("photo", "stream"),
    ("photostream",),
    ("screen", "shots"),
    ("saved", "pictures"),
    ("saved", "photos"),
    ("google", "photos"),
    ("live", "photos"),
)

# File-name words written by cameras, phones and editors (IMG_1234, PXL_..., "- Copy").
CAMERA_WORDS: frozenset[str] = frozenset(
    """img imag dsc dscn dscf dsci dscim pxl photo image pic pict mvimg pano vid mvi mov
    gopr gp gh gx dji sam cimg wp wa mg screenshot screenshots snapshot scan scanned
    edited edit copy final orig original resized small large thumb thumbnail web hdr
    burst mmexport fb com""".split()
)

_FOLDER_DROP = STOP_WORDS | GENERIC_WORDS
_FILENAME_DROP = STOP_WORDS | GENERIC_WORDS | CAMERA_WORDS

# Letters and digits of any script; apostrophes inside a word keep "mum's" whole.
# Everything else (space _ - . , & + parentheses, ...) separates words.
_TOKEN_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_LETTERS_DIGITS_RE = re.compile(r"([^\W\d_]+)(\d+)")  # "birds2016", "wa0001", "dsc01234"
_DIGITS_LETTERS_RE = re.compile(r"(\d{4,})([^\W\d_]+)")  # "2016birds"
_ORDINAL_RE = re.compile(r"\d+(?:st|nd|rd|th)")
_DCF_FOLDER_RE = re.compile(r"\d{3}[A-Za-z0-9_]{5}")  # DCIM/100CANON, 101MSDCF, 100_FUJI
_HEX_RE = re.compile(r"[0-9a-f]{16,}")


def _is_noise(token: str) -> bool:
    """True for tokens that carry no meaning: numbers, dates, counters, short scraps."""
    if len(token) < 2:
        return True
    digits = sum(ch.isdigit() for ch in token)
    if digits == 0:
        return False
    if digits * 2 >= len(token):  # "2019", "20190712", "r2d2", "9a0c" (a UUID piece)
        return True
    return bool(_ORDINAL_RE.fullmatch(token) or _DCF_FOLDER_RE.fullmatch(token))


def _name_tags(name: str, drop: frozenset[str]) -> list[str]:
    """Lower-cased meaningful words of a name, in order, without repeats."""
    tokens = [token.lower() for token in _TOKEN_RE.findall(name)]
    # Remove generic phrases first, so their words do not have to be generic alone.
    kept: list[str] = []
    i = 0
    while i < len(tokens):
        for phrase in GENERIC_PHRASES:
            if tuple(tokens[i : i + len(phrase)]) == phrase:
                i += len(phrase)
                break
        else:
            kept.append(tokens[i])
            i += 1
    tags: list[str] = []
    for token in kept:
        if match := _LETTERS_DIGITS_RE.fullmatch(token):
            letters, number = match.groups()
            if len(number) >= 4 or letters in drop:  # a year or a counter glued to a word
                token = letters
        elif match := _DIGITS_LETTERS_RE.fullmatch(token):
            token = match.group(2)
        if _is_noise(token) or token in drop or token in tags:
            continue
        tags.append(token)
    return tags


def tags_from_folder_name(name: str) -> list[str]:
    """Tags from a folder name: "2012-06 cars and trains" → ["cars", "trains"]; generic → []."""
    name = legible(name)  # undecodable bytes of an old archive's name read as Windows-1252
    if _DCF_FOLDER_RE.fullmatch(name.strip()):
        return []
    return _name_tags(name, _FOLDER_DROP)


def tags_from_filename(stem: str) -> list[str]:
    """Tags from a file name without extension: "beach_sunset_2019" → ["beach", "sunset"]; IMG_1234 → []."""
    stem = legible(stem)
    compact = re.sub(r"[\W_]+", "", stem).lower()
    if _HEX_RE.fullmatch(compact) and any(ch.isdigit() for ch in compact):
        return []  # UUID-like or hash-like names
    return _name_tags(stem, _FILENAME_DROP)
