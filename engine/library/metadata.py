"""Read what BitLens needs to know about one photo file: size, date, camera, orientation and its weak tags.

Everything here is read-only towards the photo folders: files are opened for reading
only, pixels are never decoded (Pillow's lazy ``Image.open`` reads headers and metadata
segments), and sidecars are read with a size cap.  Nothing imports Qt or torch.

Tag sources and the photo-manager rule (``weak_tags``):

* ``xmp``: the embedded XMP ``dc:subject`` (plus the leaves of ``lr:hierarchicalSubject``
  that ``dc:subject`` lacks) — when the photo has any, its IPTC keywords are ignored,
  because XMP is what current software keeps up to date (the Metadata Working Group rule);
* ``iptc``: IPTC-IIM keywords (record 2, dataset 25), only when there is no embedded XMP
  subject;
* ``sidecar``: the keywords of ``photo.xmp`` / ``photo.jpg.xmp`` and of ``photo.txt``.
"""

from __future__ import annotations

import os
import re
import stat
import threading
import warnings
from collections.abc import Iterable, Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Optional

from PIL import Image, IptcImagePlugin, UnidentifiedImageError

from ..pixels.decode import is_raw
from ..pixels.limits import photo_pixel_limit, too_many_pixels
from .xmp import MetadataError, XmpInfo, clean_tags, decode_text, iso_datetime, parse_xmp

__all__ = [
    "MAX_SIDECAR_BYTES",
    "PhotoMetadata",
    "read_photo_metadata",
    "weak_tags",
]
MAX_SIDECAR_BYTES = 4 * 1024 * 1024  # same cap for .xmp and .txt sidecars


@dataclass
class PhotoMetadata:
    """Everything BitLens reads from one photo file and its sidecars."""

    width: int  # as displayed, i.e. after the EXIF orientation
    height: int
    format: str  # Pillow's format name ("JPEG", "MPO", "PNG", "TIFF", ...)
    date_taken: Optional[str] = None  # "YYYY-MM-DDTHH:MM:SS", camera local time
    camera_make: Optional[str] = None
    camera_model: Optional[str] = None
    orientation: Optional[int] = None  # EXIF orientation 1..8
    xmp_subject: list[str] = field(default_factory=list)
    xmp_hierarchical: list[str] = field(default_factory=list)
    iptc_keywords: list[str] = field(default_factory=list)
    sidecar_xmp: list[str] = field(default_factory=list)  # subject + missing hierarchical leaves
    sidecar_txt: list[str] = field(default_factory=list)
    sidecar_files: list[str] = field(default_factory=list)  # names of the sidecars read (change detection)
    warnings: list[str] = field(default_factory=list)  # non-fatal problems; the photo itself is fine
    embedded: Optional["XmpInfo"] = field(default=None, repr=False, compare=False)  # the XMP packet inside the file, if any

    def weak_tags(self) -> list[tuple[str, str]]:
        """(tag, source) pairs by the photo-manager rule; see the module function."""
        return weak_tags(self)


def _leaves(hierarchical: Iterable[str]) -> list[str]:
    """Leaf of each "A|B|C" hierarchical keyword ("C")."""
    return [leaf for value in hierarchical if (leaf := value.rsplit("|", 1)[-1].strip())]


def weak_tags(meta: PhotoMetadata) -> list[tuple[str, str]]:
    """(tag, source) pairs: embedded XMP where present, else IPTC; plus sidecar keywords."""
    embedded = list(meta.xmp_subject)
    subject_keys = {tag.casefold() for tag in embedded}
    embedded += [leaf for leaf in _leaves(meta.xmp_hierarchical) if leaf.casefold() not in subject_keys]
    pairs = [(tag, "xmp") for tag in embedded] if embedded else [(tag, "iptc") for tag in meta.iptc_keywords]
    pairs += [(tag, "sidecar") for tag in (*meta.sidecar_xmp, *meta.sidecar_txt)]
    seen: set[str] = set()
    unique: list[tuple[str, str]] = []
    for tag, source in pairs:
        tag = tag.strip()
        if tag and tag.casefold() not in seen:  # first spelling wins, across sources too
            seen.add(tag.casefold())
            unique.append((tag, source))
    return unique


_EXIF_IFD = 0x8769
_TAG_DATETIME_ORIGINAL = 0x9003
_TAG_DATETIME = 0x0132
_TAG_MAKE = 0x010F
_TAG_MODEL = 0x0110
_TAG_ORIENTATION = 0x0112
_IPTC_KEYWORDS = (2, 25)


def _open_image(handle: BinaryIO) -> Image.Image:
    """Image.open on an open file, with Pillow's failures turned into MetadataError."""
    try:
        return Image.open(handle)
    except Image.DecompressionBombError as error:
        pixels = re.search(r"\((\d+) pixels\)", str(error))
        size = f"{int(pixels.group(1)):,} pixels" if pixels else "too many pixels"
        raise MetadataError(f"image is too large: {size}") from None
    except UnidentifiedImageError:
        raise MetadataError("not an image Pillow can read (unknown or corrupt format)") from None
    except EOFError:
        raise MetadataError("image is truncated") from None
    except OSError as error:
        text = str(error)
        reason = "image is truncated" if "truncated" in text.lower() else f"cannot read image: {text}"
        raise MetadataError(reason) from None
    except Exception as error:  # plugins raise ValueError, struct.error, IndexError... on corrupt headers
        raise MetadataError(f"cannot read image: {type(error).__name__}: {error}") from None


def _text_value(value: Any) -> Optional[str]:
    """An EXIF ASCII value as a stripped string (NULs and padding removed), or None."""
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", " ").strip()
    return value or None


def _as_bytes(value: Any) -> Optional[bytes]:
    """An XMP blob as Pillow exposes it (bytes, str, or a tuple of ints for TIFF) to bytes."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (tuple, list)) and all(isinstance(v, int) and 0 <= v < 256 for v in value):
        return bytes(value)
    return None


def _decode_iptc(value: bytes) -> str:
    """IPTC text: UTF-8 if valid (what modern tools write), else Latin-1."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _read_exif(image: Image.Image, meta: PhotoMetadata) -> None:
    """Fill date, camera and orientation from EXIF; problems become warnings."""
    if image.format == "PNG" and "exif" not in image.info and "Raw profile type exif" not in image.info:
        return  # Pillow's PNG getexif() would decode all pixels to look for a late eXIf chunk
    try:
        exif = image.getexif()
    except Exception as error:
        meta.warnings.append(f"EXIF data is unreadable: {error}")
        return
    _fill_from_exif(exif, meta)


def _fill_from_exif(exif: Image.Exif, meta: PhotoMetadata) -> None:
    try:
        exif_ifd = exif.get_ifd(_EXIF_IFD)
    except Exception as error:
        meta.warnings.append(f"EXIF sub-directory is unreadable: {error}")
        exif_ifd = {}
    meta.date_taken = (
        iso_datetime(exif_ifd.get(_TAG_DATETIME_ORIGINAL))
        or iso_datetime(exif.get(_TAG_DATETIME_ORIGINAL))  # some writers put it in IFD0
        or iso_datetime(exif.get(_TAG_DATETIME))
    )
    meta.camera_make = _text_value(exif.get(_TAG_MAKE))
    meta.camera_model = _text_value(exif.get(_TAG_MODEL))
    orientation = exif.get(_TAG_ORIENTATION)
    if isinstance(orientation, (tuple, list)) and orientation:
        orientation = orientation[0]
    if isinstance(orientation, int) and 1 <= orientation <= 8:
        meta.orientation = orientation


def _read_embedded_xmp(image: Image.Image, meta: PhotoMetadata) -> Optional[XmpInfo]:
    """Parse the XMP packet Pillow found (JPEG APP1, PNG iTXt, WebP chunk, TIFF tag 700)."""
    raw = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
    data = _as_bytes(raw) if raw else None
    if not data:
        return None
    try:
        xmp = parse_xmp(data)
    except MetadataError as error:
        meta.warnings.append(f"embedded XMP ignored: {error.reason}")
        return None
    meta.xmp_subject = xmp.subject
    meta.xmp_hierarchical = xmp.hierarchical
    return xmp


def _read_iptc(image: Image.Image, meta: PhotoMetadata) -> None:
    """IPTC-IIM keywords (2:25) from a JPEG's Photoshop APP13 or a TIFF's IPTC tag."""
    try:
        iptc = IptcImagePlugin.getiptcinfo(image)  # type: ignore[arg-type]  # wants an ImageFile; any opened Image works (no IPTC: None)
    except Exception as error:
        meta.warnings.append(f"IPTC data is unreadable: {error}")
        return
    if not iptc:
        return
    keywords = iptc.get(_IPTC_KEYWORDS)
    if keywords is None:
        return
    values = [keywords] if isinstance(keywords, (bytes, bytearray)) else list(keywords)
    meta.iptc_keywords = clean_tags(_decode_iptc(bytes(v)) for v in values if isinstance(v, (bytes, bytearray)))


# One-slot cache of a directory listing's lower-case index, keyed on the very set object
# a scanner passes for every photo of that directory, so the index is built once per folder.
_sibling_cache_lock = threading.Lock()
_sibling_cache: tuple[Optional[Set[str]], int, dict[str, str]] = (None, -1, {})


def _lower_index(siblings: Set[str]) -> dict[str, str]:
    """lower-case name → actual name; on a clash the smallest name wins, so it does not depend on set order."""
    global _sibling_cache
    with _sibling_cache_lock:
        cached, length, index = _sibling_cache
        if cached is siblings and length == len(siblings):
            return index
    index = {}
    for name in siblings:  # O(n), no sort: this runs once per folder, or per photo for a fresh set
        key = name.lower()
        if key not in index or name < index[key]:
            index[key] = name
    with _sibling_cache_lock:
        _sibling_cache = (siblings, len(siblings), index)
    return index


def _find_sibling(candidate: str, siblings: Set[str]) -> Optional[str]:
    """The sibling named `candidate`, exact case first, else matched case-insensitively."""
    if candidate in siblings:
        return candidate
    return _lower_index(siblings).get(candidate.lower())


def _read_capped(path: Path) -> bytes:
    """A sidecar's bytes, refusing non-regular files and anything over MAX_SIDECAR_BYTES."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):  # a FIFO named photo.xmp would block open() forever
            raise MetadataError("not a regular file")
        with open(path, "rb") as handle:
            data = handle.read(MAX_SIDECAR_BYTES + 1)
    except OSError as error:
        raise MetadataError(f"cannot be read: {error.strerror or error}") from None
    if len(data) > MAX_SIDECAR_BYTES:
        raise MetadataError(f"is larger than {MAX_SIDECAR_BYTES // (1024 * 1024)} MiB; ignored")
    return data


def _parse_txt_keywords(data: bytes) -> list[str]:
    """Keywords of a .txt sidecar: separated by commas and/or line breaks."""
    return clean_tags(re.split(r"[,\r\n]+", decode_text(data)))


def _read_sidecars(path: Path, siblings: Optional[Set[str]], meta: PhotoMetadata) -> Optional[XmpInfo]:
    """Read photo.xmp, photo.jpg.xmp and photo.txt beside the photo; returns the first XMP read."""
    if siblings is None:
        try:
            siblings = frozenset(os.listdir(path.parent))
        except OSError as error:
            meta.warnings.append(f"folder cannot be listed for sidecars: {error.strerror or error}")
            return None
    name, stem = path.name, path.stem
    xmp_names: list[str] = []
    for candidate in (f"{stem}.xmp", f"{name}.xmp"):  # Lightroom style, darktable style
        found = _find_sibling(candidate, siblings)
        if found and found != name and found not in xmp_names:
            xmp_names.append(found)
    first_xmp: Optional[XmpInfo] = None
    tags: list[str] = []
    for sidecar in xmp_names:
        try:
            xmp = parse_xmp(_read_capped(path.with_name(sidecar)))
        except MetadataError as error:
            meta.warnings.append(f"sidecar {sidecar} ignored: {error.reason}")
            continue
        meta.sidecar_files.append(sidecar)
        subject_keys = {tag.casefold() for tag in xmp.subject}
        tags += xmp.subject + [leaf for leaf in _leaves(xmp.hierarchical) if leaf.casefold() not in subject_keys]
        first_xmp = first_xmp or xmp
    meta.sidecar_xmp = clean_tags(tags)
    txt = _find_sibling(f"{stem}.txt", siblings)
    if txt and txt != name:
        try:
            meta.sidecar_txt = _parse_txt_keywords(_read_capped(path.with_name(txt)))
            meta.sidecar_files.append(txt)
        except MetadataError as error:
            meta.warnings.append(f"sidecar {txt} ignored: {error.reason}")
    return first_xmp


def read_photo_metadata(path: Path | str, siblings: Optional[Set[str]] = None) -> PhotoMetadata:
    """Read one photo's size, date, camera and keywords (and its sidecars) without decoding pixels.

    ``siblings`` is the set of names in the photo's folder, so that a scanner lists each
    folder once; pass the same set object for every photo of a folder.  Raises
    ``MetadataError`` when the image itself cannot be read; sidecar and metadata-block
    problems are only ``warnings``.
    """
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise MetadataError("file not found") from None
    except OSError as error:
        raise MetadataError(f"cannot read file: {error.strerror or error}") from None
    if not stat.S_ISREG(info.st_mode):
        raise MetadataError("not a regular file")
    if info.st_size == 0:
        raise MetadataError("file is empty")
    try:
        handle = open(path, "rb")
    except OSError as error:
        raise MetadataError(f"cannot read file: {error.strerror or error}") from None
    # Pillow reports damaged metadata ("Corrupt EXIF data", "Tag data larger than file") as
    # warnings; record them as this photo's warnings instead of letting them reach stderr.
    # (catch_warnings is process-wide before Python 3.14: with several reader threads a
    # warning may land on a neighbour's photo, which is harmless.)
    with handle, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if is_raw(path):
            meta = _read_raw(path, handle, info.st_size)
        else:
            meta = _read_pillow(handle, info.st_size)
    if messages := list(dict.fromkeys(str(w.message) for w in caught)):
        # One line per photo: damaged EXIF can yield dozens of "Skipping tag N" messages.
        more = f"; and {len(messages) - 3} more" if len(messages) > 3 else ""
        meta.warnings.append("Pillow: " + "; ".join(messages[:3]) + more)
    if meta.orientation is not None and meta.orientation >= 5:  # 5-8 turn the picture a quarter
        meta.width, meta.height = meta.height, meta.width
    sidecar = _read_sidecars(path, siblings, meta)
    if meta.date_taken is None:
        meta.date_taken = (meta.embedded.date_taken if meta.embedded else None) or (sidecar.date_taken if sidecar else None)
    return meta


# LibRaw's `flip` as the EXIF orientation that means the same turn.
_FLIP_TO_ORIENTATION = {0: 1, 3: 3, 5: 8, 6: 6}


def _read_raw(path: Path, handle: BinaryIO, file_size: int) -> PhotoMetadata:
    """Size from LibRaw (without decoding the sensor data), date and camera from the TIFF/EXIF header."""
    import rawpy

    raw = rawpy.RawPy()
    try:
        raw.open_file(os.fspath(path))
        sizes = raw.sizes
    except Exception as error:  # rawpy.LibRawError and its kin
        raise MetadataError(f"not a camera RAW file LibRaw can read ({type(error).__name__}: {error})") from None
    finally:
        raw.close()
    if reason := too_many_pixels(sizes.width, sizes.height, file_size):
        raise MetadataError(reason)
    meta = PhotoMetadata(width=sizes.width, height=sizes.height, format=path.suffix.lstrip(".").upper())
    head = handle.read(1 << 20)  # DNG, CR2, NEF, ARW, ORF, PEF keep IFD0 and EXIF near the start
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        exif = Image.Exif()
        try:
            exif.load(head)
            _fill_from_exif(exif, meta)
        except Exception as error:
            meta.warnings.append(f"EXIF data is unreadable: {error}")
    if meta.orientation is None:
        meta.orientation = _FLIP_TO_ORIENTATION.get(sizes.flip)
    return meta


def _read_pillow(handle: BinaryIO, file_size: int) -> PhotoMetadata:
    """Size, EXIF, embedded XMP and IPTC of an image Pillow opens."""
    with photo_pixel_limit():  # real 100–250 MP photos open; Pillow refuses far beyond
        image = _open_image(handle)
    with image:
        width, height = image.size
        # Pillow only warns up to twice its limit; BitLens refuses by its own rule.
        if reason := too_many_pixels(width, height, file_size):
            raise MetadataError(reason)
        meta = PhotoMetadata(width=width, height=height, format=image.format or "unknown")
        _read_exif(image, meta)
        meta.embedded = _read_embedded_xmp(image, meta)
        _read_iptc(image, meta)
    return meta
