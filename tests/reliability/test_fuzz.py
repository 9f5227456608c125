"""Property-based fuzzing of the tag and sidecar parsers: arbitrary input never raises
anything but MetadataError, and what comes out is always a usable tag list."""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import make_photo, xmp_packet
from engine.library import metadata as md
from engine.library import nametags, xmp

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

XMP_BITS = [
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>',
    b"<?xpacket end='w'?>",
    b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>",
    b"</x:xmpmeta>",
    b"<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>",
    b"</rdf:RDF>",
    b"<rdf:Description rdf:about='' xmlns:dc='http://purl.org/dc/elements/1.1/'>",
    b"</rdf:Description>",
    b"<dc:subject>",
    b"</dc:subject>",
    b"<rdf:Bag>",
    b"</rdf:Bag>",
    b"<rdf:Alt>",
    b"</rdf:Alt>",
    b"<rdf:li>",
    b"</rdf:li>",
    b"<rdf:li xml:lang='x-default'>",
    b"<rdf:value>",
    b"</rdf:value>",
    b" rdf:nodeID='n1'",
    b"<!DOCTYPE x>",
    b"<!ENTITY a 'b'>",
    b"&a;",
    b"&amp;",
    b"&#0;",
    b"<![CDATA[",
    b"]]>",
    b"\x00",
    b"\xff\xfe",
    b"\xfe\xff",
    b"\xef\xbb\xbf",
    b"dog",
    b"|",
    b",",
    b"\n",
    b"<lr:hierarchicalSubject xmlns:lr='http://ns.adobe.com/lightroom/1.0/'>",
    b"</lr:hierarchicalSubject>",
    b"<exif:DateTimeOriginal xmlns:exif='http://ns.adobe.com/exif/1.0/'>",
    b"</exif:DateTimeOriginal>",
    b"2019-13-45T99:99",
]

# XMP-looking bytes: fragments of real packets shuffled with random bytes.
xmp_fragments = st.lists(st.one_of(st.sampled_from(XMP_BITS), st.binary(max_size=8)), max_size=40).map(b"".join)

NAMESPACES = (
    "xmlns:x='adobe:ns:meta/' xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#' xmlns:dc='http://purl.org/dc/elements/1.1/' "
    "xmlns:lr='http://ns.adobe.com/lightroom/1.0/' xmlns:exif='http://ns.adobe.com/exif/1.0/' xmlns:xmp='http://ns.adobe.com/xap/1.0/' "
    "xmlns:photoshop='http://ns.adobe.com/photoshop/1.0/' xmlns:foo='urn:foo'"
)
ELEMENTS = [
    "rdf:RDF",
    "rdf:Description",
    "dc:subject",
    "lr:hierarchicalSubject",
    "rdf:Bag",
    "rdf:Seq",
    "rdf:Alt",
    "rdf:li",
    "rdf:value",
    "exif:DateTimeOriginal",
    "xmp:CreateDate",
    "photoshop:DateCreated",
    "foo:bar",
]
ATTRIBUTES = [
    "rdf:nodeID='n1'",
    "xml:lang='x-default'",
    "xml:lang='en'",
    "rdf:about=''",
    "rdf:parseType='Resource'",
    "dc:subject='attr tag'",
    "exif:DateTimeOriginal='2020-02-30T10:00:00'",
    "xmp:CreateDate='2019-07-01T12:00:00+02:00'",
]
texts = st.one_of(
    st.sampled_from(["dog", " beach ", "A|B|C", "2019:07:01 10:00:00", "", "x" * 250]), st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20)
).map(escape)


def _element(children):
    return st.tuples(st.sampled_from(ELEMENTS), st.lists(st.sampled_from(ATTRIBUTES), max_size=2, unique=True), children).map(
        lambda t: f"<{t[0]} {' '.join(t[1])}>{''.join(t[2])}</{t[0]}>"
    )


# Well-formed XMP trees of random shape: these get past the XML parser into the tree walk.
random_tree = st.recursive(texts, lambda inner: _element(st.lists(inner, max_size=4)), max_leaves=25)
# ...and ones shaped like what photo managers write, with random values and odd corners.
items = st.lists(st.tuples(st.sampled_from(["", "xml:lang='x-default'", "xml:lang='de'"]), st.one_of(texts, random_tree)), max_size=5).map(
    lambda li: "".join(f"<rdf:li {a}>{v}</rdf:li>" for a, v in li)
)
values = st.one_of(texts, st.tuples(st.sampled_from(["rdf:Bag", "rdf:Seq", "rdf:Alt"]), items).map(lambda t: f"<{t[0]}>{t[1]}</{t[0]}>"))
properties = st.lists(st.tuples(st.sampled_from(ELEMENTS[2:4] + ELEMENTS[9:]), values).map(lambda t: f"<{t[0]}>{t[1]}</{t[0]}>"), max_size=4)
descriptions = st.tuples(st.lists(st.sampled_from(ATTRIBUTES), max_size=2, unique=True), properties).map(
    lambda t: f"<rdf:Description {' '.join(t[0])}>{''.join(t[1])}</rdf:Description>"
)
xmp_trees = st.lists(st.one_of(descriptions, descriptions, random_tree), max_size=3).map(
    lambda body: f"<x:xmpmeta {NAMESPACES}><rdf:RDF>{''.join(body)}</rdf:RDF></x:xmpmeta>".encode("utf-8")
)
xmp_like = st.one_of(xmp_fragments, xmp_trees)


def _usable(tags: list[str]) -> None:
    assert isinstance(tags, list)
    for tag in tags:
        assert isinstance(tag, str) and tag == tag.strip() and tag and len(tag) <= xmp.MAX_TAG_LENGTH


@FUZZ
@given(st.one_of(st.binary(max_size=2000), xmp_like))
@example(b"<x/>")
@example("\ufeff<a>".encode("utf-16-le"))
def test_parse_xmp_bytes_never_crashes(data: bytes) -> None:
    try:
        info = xmp.parse_xmp(data)
    except xmp.MetadataError as error:
        assert str(error)  # always says why
        return
    _usable(info.subject)
    assert all(isinstance(h, str) for h in info.hierarchical)
    assert info.date_taken is None or len(info.date_taken) == 19


@FUZZ
@given(st.text(max_size=500))
def test_parse_xmp_text_never_crashes(text: str) -> None:
    try:
        xmp.parse_xmp(text)
    except xmp.MetadataError:
        pass


# Keywords as a user might type them: any printable text XML 1.0 can hold.
keyword = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40).filter(lambda t: t.strip())


@FUZZ
@given(st.lists(keyword, max_size=8))
def test_xmp_keywords_round_trip(tags: list[str]) -> None:
    """Whatever keywords a photo manager wrote, parsing gives them back, cleaned, in order."""
    info = xmp.parse_xmp(xmp_packet([escape(t) for t in tags]).encode("utf-8"))
    expected: list[str] = []
    for tag in tags:
        cleaned = tag.strip()
        if cleaned and len(cleaned) <= xmp.MAX_TAG_LENGTH and cleaned not in expected:
            expected.append(cleaned)
    assert info.subject == expected


@FUZZ
@given(st.text(max_size=300))
@example("2019-07 beach holiday")
@example("\x00\ud7ff_\u0300\u200b")
def test_name_tag_parsers_never_crash(name: str) -> None:
    _usable(nametags.tags_from_folder_name(name))
    _usable(nametags.tags_from_filename(name))


@FUZZ
@given(st.binary(max_size=3000))
@example(b"\xff\xfe" + "red car, street".encode("utf-16-le"))
def test_txt_sidecar_parser_never_crashes(data: bytes) -> None:
    _usable(md._parse_txt_keywords(data))


@FUZZ
@given(xmp=st.one_of(st.binary(max_size=800), xmp_like), txt=st.binary(max_size=400), name_case=st.booleans())
def test_photo_with_arbitrary_sidecars_reads_with_warnings_only(tmp_path_factory, xmp: bytes, txt: bytes, name_case: bool) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    photo = make_photo(folder / "IMG_1.jpg", 1, size=(32, 24))
    (folder / ("IMG_1.XMP" if name_case else "IMG_1.xmp")).write_bytes(xmp)
    (folder / "IMG_1.txt").write_bytes(txt)
    meta = md.read_photo_metadata(photo)
    assert (meta.width, meta.height) == (32, 24)
    _usable(meta.sidecar_xmp)
    _usable(meta.sidecar_txt)
    for tag, source in md.weak_tags(meta):
        assert source in ("xmp", "iptc", "sidecar") and tag.strip() == tag and tag


@FUZZ
@given(st.binary(min_size=1, max_size=4000), st.sampled_from([".jpg", ".png", ".gif", ".webp", ".tif", ".bmp"]))
def test_arbitrary_bytes_as_a_photo_raise_only_metadata_error(tmp_path_factory, data: bytes, suffix: str) -> None:
    path = tmp_path_factory.mktemp("bytes") / f"x{suffix}"
    path.write_bytes(data)
    try:
        md.read_photo_metadata(path)
    except xmp.MetadataError as error:
        assert str(error)


@FUZZ
@given(st.integers(0, 2000), st.binary(min_size=1, max_size=64))
def test_damaged_jpeg_raises_only_metadata_error(tmp_path_factory, position: int, junk: bytes) -> None:
    """A real JPEG (with EXIF and XMP) with some bytes overwritten: only MetadataError, if anything."""
    from PIL import Image

    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Camera"
    Image.new("RGB", (40, 30), (10, 200, 30)).save(buffer, "JPEG", exif=exif.tobytes(), xmp=xmp_packet(["a", "b"]).encode())
    data = bytearray(buffer.getvalue())
    position %= len(data)
    data[position : position + len(junk)] = junk
    path = tmp_path_factory.mktemp("jpeg") / "damaged.jpg"
    path.write_bytes(bytes(data))
    try:
        md.read_photo_metadata(path)
    except xmp.MetadataError:
        pass
