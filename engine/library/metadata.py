"""Read what BitLens needs to know about one photo file, and derive weak tags from names.

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

import codecs
import datetime as _dt
import os
import re
import stat
import threading
import warnings
from collections.abc import Iterable, Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Optional
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_et
from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from PIL import Image, IptcImagePlugin, UnidentifiedImageError

from .pathtext import legible
from ..pixels.decode import RAW_EXTENSIONS, is_raw
from ..pixels.limits import photo_pixel_limit, too_many_pixels

__all__ = [
    "HEIF_AVAILABLE",
    "MAX_SIDECAR_BYTES",
    "MAX_XMP_BYTES",
    "MetadataError",
    "PhotoMetadata",
    "SUPPORTED_EXTENSIONS",
    "XmpInfo",
    "is_supported",
    "parse_xmp",
    "read_photo_metadata",
    "tags_from_filename",
    "tags_from_folder_name",
    "weak_tags",
]

MAX_XMP_BYTES = 4 * 1024 * 1024  # real packets are a few KiB; anything this big is broken or hostile
MAX_SIDECAR_BYTES = 4 * 1024 * 1024  # same cap for .xmp and .txt sidecars
MAX_TAG_LENGTH = 200  # longer "keywords" are captions or junk (e.g. a .txt that is a note, not a tag list)


class MetadataError(Exception):
    """A photo (or an XMP packet) could not be read; ``reason`` says why, for people."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --------------------------------------------------------------------------------------
# Supported files
# --------------------------------------------------------------------------------------


def _register_heif() -> bool:
    """Register pillow_heif's HEIC/HEIF opener if it is installed; True when it is."""
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
    except Exception:  # not installed, or a broken native build: HEIC just stays unsupported
        return False
    return True


HEIF_AVAILABLE: bool = _register_heif()  # module import runs once, so this registers once


def _raw_available() -> bool:
    """Whether rawpy (LibRaw) is installed to read camera RAW files (the `raw` extra)."""
    try:
        import rawpy  # noqa: F401
    except Exception:  # not installed, or a broken native build: RAW files are just not indexed
        return False
    return True


RAW_AVAILABLE: bool = _raw_available()
SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".tif", ".tiff", ".bmp"}
    | ({".heic", ".heif"} if HEIF_AVAILABLE else set())
    | (RAW_EXTENSIONS if RAW_AVAILABLE else set())
)


def is_supported(name: str) -> bool:
    """True when the file name has an extension BitLens indexes (case-insensitive)."""
    dot = name.rfind(".")
    return dot > 0 and name[dot:].lower() in SUPPORTED_EXTENSIONS


# --------------------------------------------------------------------------------------
# Weak tags from folder and file names
# --------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------
# XMP
# --------------------------------------------------------------------------------------

NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
NS_DC = "http://purl.org/dc/elements/1.1/"
NS_LR = "http://ns.adobe.com/lightroom/1.0/"
NS_EXIF = "http://ns.adobe.com/exif/1.0/"
NS_PHOTOSHOP = "http://ns.adobe.com/photoshop/1.0/"
NS_XMP = "http://ns.adobe.com/xap/1.0/"

_RDF_RDF = f"{{{NS_RDF}}}RDF"
_RDF_DESCRIPTION = f"{{{NS_RDF}}}Description"
_RDF_LI = f"{{{NS_RDF}}}li"
_RDF_VALUE = f"{{{NS_RDF}}}value"
_RDF_NODE_ID = f"{{{NS_RDF}}}nodeID"
_RDF_BAG = f"{{{NS_RDF}}}Bag"
_RDF_SEQ = f"{{{NS_RDF}}}Seq"
_RDF_ALT = f"{{{NS_RDF}}}Alt"
_CONTAINERS = frozenset({_RDF_BAG, _RDF_SEQ, _RDF_ALT})
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

_SUBJECT = f"{{{NS_DC}}}subject"
_HIERARCHICAL = f"{{{NS_LR}}}hierarchicalSubject"
_DATE_PROPERTIES = (  # in order of preference
    f"{{{NS_EXIF}}}DateTimeOriginal",
    f"{{{NS_PHOTOSHOP}}}DateCreated",
    f"{{{NS_XMP}}}CreateDate",
)
_WANTED = frozenset({_SUBJECT, _HIERARCHICAL, *_DATE_PROPERTIES})

# The packet wrapper and XML declaration are removed: the text is re-encoded as UTF-8 before
# parsing, so a declared encoding would be wrong, and <?xpacket?> carries nothing we need.
_PROLOG_RE = re.compile(r"<\?(?:xpacket|xml)\b.*?\?>", re.DOTALL)


@dataclass
class XmpInfo:
    """What BitLens takes from one XMP packet."""

    subject: list[str] = field(default_factory=list)  # dc:subject
    hierarchical: list[str] = field(default_factory=list)  # lr:hierarchicalSubject, raw "A|B|C"
    date_taken: Optional[str] = None  # ISO 8601 "YYYY-MM-DDTHH:MM:SS"


def _decode_text(data: bytes) -> str:
    """Bytes of an XML packet or text file to str: BOM or UTF-16 shape, else UTF-8, else Latin-1."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: its BOM starts the same way
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, "replace")
    first = data.find(b"<")
    if first >= 0 and data[first + 1 : first + 2] == b"\x00" and data[first + 2 : first + 3] != b"\x00":
        return data[first:].decode("utf-16-le", "replace")  # BOM-less UTF-16 written by some tools
    if first >= 1 and data[first - 1] == 0 and data[first + 1 : first + 2] == b"\x00":
        return data[first - 1 :].decode("utf-16-be", "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # old writers; Latin-1 never fails, so tags stay readable


def _strip_packet(text: str) -> str:
    """The XML document inside an XMP packet: no junk/NULs around it, no xpacket or declaration."""
    start, end = text.find("<"), text.rfind(">")
    if start < 0 or end < start:
        return ""
    return _PROLOG_RE.sub("", text[start : end + 1]).strip()


def _iso_datetime(value: Any) -> Optional[str]:
    """EXIF ("2001:08:01 12:57:23") or XMP ("2005-06-09T20:09:27+02:00") date → "YYYY-MM-DDTHH:MM:SS"."""
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("latin-1")
    if not isinstance(value, str):
        return None
    match = re.match(
        r"\s*(\d{4})[:\-/.](\d{1,2})[:\-/.](\d{1,2})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?",
        value.replace("\x00", ""),
    )
    if not match:
        return None  # includes year-only and year-month XMP dates: too coarse to be a date taken
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
    try:
        moment = _dt.datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None  # "0000:00:00 00:00:00" and other placeholders cameras write
    if year < 1800:  # Pillow/cameras sometimes yield 0001-01-01-like defaults
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _node_text(element: Element) -> Optional[str]:
    """A simple value: the element's text, or its rdf:value when it is a qualified value."""
    if len(element) == 0:
        return element.text
    value = element.find(_RDF_VALUE)
    return value.text if value is not None and len(value) == 0 else None


def _container_values(container: Element) -> list[str]:
    """Items of an rdf:Bag/Seq (all) or rdf:Alt (the x-default one, else the first)."""
    items = [li for li in container if li.tag == _RDF_LI]
    if container.tag == _RDF_ALT and items:
        default = [li for li in items if li.get(_XML_LANG) == "x-default"]
        items = default[:1] or items[:1]
    values = (_node_text(li) for li in items)
    return [value for value in values if value is not None]


def _property_values(prop: Element, nodes: dict[str, Element]) -> list[str]:
    """Values of a property element: a container, a nodeID reference to one, or plain text."""
    node_id = prop.get(_RDF_NODE_ID)
    if node_id is not None:
        target = nodes.get(node_id)
        return _container_values(target) if target is not None and target.tag in _CONTAINERS else []
    for child in prop:
        if child.tag in _CONTAINERS:
            return _container_values(child)
    text = _node_text(prop)
    return [text] if text is not None and text.strip() else []


def _xmp_from_tree(root: Element) -> XmpInfo:
    """Collect dc:subject, lr:hierarchicalSubject and dates from a parsed packet."""
    if root.tag == _RDF_RDF:
        rdf_roots = [root]
    else:
        rdf_roots = [child for child in root if child.tag == _RDF_RDF] or list(root.iter(_RDF_RDF))[:1]
    # Top-level nodes can be named with rdf:nodeID and referenced from a property
    # (f-spot writes <dc:subject rdf:nodeID="anon2"/> and a separate <rdf:Bag rdf:nodeID="anon2">).
    nodes: dict[str, Element] = {}
    referenced: set[str] = set()
    for rdf in rdf_roots:
        for node in rdf:
            if (node_id := node.get(_RDF_NODE_ID)) is not None:
                nodes.setdefault(node_id, node)
            for prop in node:
                if (ref := prop.get(_RDF_NODE_ID)) is not None:
                    referenced.add(ref)
    found: dict[str, list[str]] = {name: [] for name in _WANTED}
    for rdf in rdf_roots:
        for description in rdf:
            if description.tag != _RDF_DESCRIPTION:
                continue
            if description.get(_RDF_NODE_ID) in referenced:
                continue  # the value of some other property (a struct), not about the photo
            for name, value in description.attrib.items():  # attribute form: exif:DateTimeOriginal="..."
                if name in _WANTED and value.strip():
                    found[name].append(value)
            # Only direct properties: nested structures (xmpMM:Pantry, History) describe
            # other documents, and their dc:subject is not this photo's.
            for prop in description:
                if prop.tag in _WANTED:
                    found[prop.tag].extend(_property_values(prop, nodes))
    date_taken = None
    for name in _DATE_PROPERTIES:
        date_taken = next((iso for iso in map(_iso_datetime, found[name]) if iso), None)
        if date_taken:
            break
    return XmpInfo(subject=_clean_tags(found[_SUBJECT]), hierarchical=_clean_tags(found[_HIERARCHICAL]), date_taken=date_taken)


def parse_xmp(data: bytes | str) -> XmpInfo:
    """Parse an XMP packet safely (no DTDs, entities or external references); MetadataError if not."""
    size = len(data) if isinstance(data, (bytes, bytearray)) else len(data.encode("utf-8", "replace"))
    if size > MAX_XMP_BYTES:
        raise MetadataError(f"XMP packet is too large ({size:,} bytes; the limit is {MAX_XMP_BYTES // (1024 * 1024)} MiB)")
    text = _decode_text(bytes(data)) if isinstance(data, (bytes, bytearray)) else data
    document = _strip_packet(text)
    if not document:
        raise MetadataError("XMP packet holds no XML")
    try:
        # XMP never needs a DTD; refusing any DTD rules out entity expansion ("billion
        # laughs") and external entities before expat sees them.
        root = safe_et.fromstring(document.encode("utf-8", "replace"), forbid_dtd=True)
    except DTDForbidden:
        raise MetadataError("XMP packet declares a DTD, which is refused (entity expansion and external entities are unsafe)") from None
    except (EntitiesForbidden, ExternalReferenceForbidden):
        raise MetadataError("XMP packet uses XML entities, which are refused") from None
    except DefusedXmlException as error:
        raise MetadataError(f"XMP packet refused: {error}") from None
    except ParseError as error:
        raise MetadataError(f"XMP packet is not well-formed XML ({error})") from None
    return _xmp_from_tree(root)


# --------------------------------------------------------------------------------------
# Photo metadata
# --------------------------------------------------------------------------------------


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


def _clean_tags(values: Iterable[str]) -> list[str]:
    """Tags as written: whitespace stripped, empty, over-long and exact duplicates dropped."""
    tags: list[str] = []
    for value in values:
        tag = value.strip()
        if tag and len(tag) <= MAX_TAG_LENGTH and tag not in tags:
            tags.append(tag)
    return tags


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
        _iso_datetime(exif_ifd.get(_TAG_DATETIME_ORIGINAL))
        or _iso_datetime(exif.get(_TAG_DATETIME_ORIGINAL))  # some writers put it in IFD0
        or _iso_datetime(exif.get(_TAG_DATETIME))
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
    meta.iptc_keywords = _clean_tags(_decode_iptc(bytes(v)) for v in values if isinstance(v, (bytes, bytearray)))


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
    return _clean_tags(re.split(r"[,\r\n]+", _decode_text(data)))


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
    meta.sidecar_xmp = _clean_tags(tags)
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
