"""XMP packets (embedded or sidecar) parsed safely into keywords and a date, and the tag clean-up every reader shares.

The XML is untrusted: defusedxml refuses entity bombs and external references, and a
packet over ``MAX_XMP_BYTES`` is refused before parsing.
"""

from __future__ import annotations

import codecs
import datetime as _dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Optional
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_et
from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

MAX_XMP_BYTES = 4 * 1024 * 1024  # real packets are a few KiB; anything this big is broken or hostile
MAX_TAG_LENGTH = 200  # longer "keywords" are captions or junk (e.g. a .txt that is a note, not a tag list)


class MetadataError(Exception):
    """A photo (or an XMP packet) could not be read; ``reason`` says why, for people."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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


def decode_text(data: bytes) -> str:
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


def iso_datetime(value: Any) -> Optional[str]:
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
        date_taken = next((iso for iso in map(iso_datetime, found[name]) if iso), None)
        if date_taken:
            break
    return XmpInfo(subject=clean_tags(found[_SUBJECT]), hierarchical=clean_tags(found[_HIERARCHICAL]), date_taken=date_taken)


def parse_xmp(data: bytes | str) -> XmpInfo:
    """Parse an XMP packet safely (no DTDs, entities or external references); MetadataError if not."""
    size = len(data) if isinstance(data, (bytes, bytearray)) else len(data.encode("utf-8", "replace"))
    if size > MAX_XMP_BYTES:
        raise MetadataError(f"XMP packet is too large ({size:,} bytes; the limit is {MAX_XMP_BYTES // (1024 * 1024)} MiB)")
    text = decode_text(bytes(data)) if isinstance(data, (bytes, bytearray)) else data
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


def clean_tags(values: Iterable[str]) -> list[str]:
    """Tags as written: whitespace stripped, empty, over-long and exact duplicates dropped."""
    tags: list[str] = []
    for value in values:
        tag = value.strip()
        if tag and len(tag) <= MAX_TAG_LENGTH and tag not in tags:
            tags.append(tag)
    return tags
