"""Tests for engine.library.metadata: names → tags, XMP parsing, photo metadata, sidecars."""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import struct
import subprocess
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from engine.library import formats, xmp
from engine.library.metadata import PhotoMetadata, read_photo_metadata, weak_tags
from engine.library.formats import is_supported
from engine.library.nametags import tags_from_filename, tags_from_folder_name
from engine.library.xmp import MetadataError, parse_xmp

BENCHMARK = Path(__file__).resolve().parents[3] / "shared" / "benchmark"
REAL = BENCHMARK / "real-metadata"
SCENES = BENCHMARK / "scenes-s0"

EXIFTOOL_ORIENTATION = {
    "Horizontal (normal)": 1,
    "Mirror horizontal": 2,
    "Rotate 180": 3,
    "Mirror vertical": 4,
    "Mirror horizontal and rotate 270 CW": 5,
    "Rotate 90 CW": 6,
    "Mirror horizontal and rotate 90 CW": 7,
    "Rotate 270 CW": 8,
}


def packet(body: str, *, rdf_attrs: str = "") -> str:
    """A minimal XMP packet around `body` (the contents of rdf:RDF)."""
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        f' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" {rdf_attrs}>\n'
        f"{body}\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    )


def subject_packet(tags: list[str], *, hierarchical: list[str] = ()) -> str:
    """An Adobe-style packet with a dc:subject bag (and optionally lr:hierarchicalSubject)."""
    items = "".join(f"<rdf:li>{t}</rdf:li>" for t in tags)
    hier = "".join(f"<rdf:li>{t}</rdf:li>" for t in hierarchical)
    return packet(
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:lr="http://ns.adobe.com/lightroom/1.0/">'
        f"<dc:subject><rdf:Bag>{items}</rdf:Bag></dc:subject>"
        + (f"<lr:hierarchicalSubject><rdf:Bag>{hier}</rdf:Bag></lr:hierarchicalSubject>" if hierarchical else "")
        + "</rdf:Description>"
    )


def make_jpeg(path: Path, size: tuple[int, int] = (32, 24), **save: object) -> Path:
    """Write a small JPEG with Pillow and return its path."""
    Image.new("RGB", size, (200, 120, 40)).save(path, "JPEG", **save)
    return path


def iptc_app13(keywords: list[bytes]) -> bytes:
    """A Photoshop APP13 segment holding an IPTC-IIM block with the given 2:25 keywords."""
    iim = b"".join(b"\x1c\x02\x19" + struct.pack(">H", len(k)) + k for k in keywords)
    if len(iim) % 2:
        iim += b"\x00"
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(iim)) + iim
    payload = b"Photoshop 3.0\x00" + resource
    return b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload


def jpeg_with_iptc(path: Path, keywords: list[bytes], xmp: bytes | None = None) -> Path:
    """A JPEG (optionally with embedded XMP) plus an IPTC APP13 segment right after SOI."""
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "white").save(buffer, "JPEG", **({"xmp": xmp} if xmp else {}))
    data = buffer.getvalue()
    path.write_bytes(data[:2] + iptc_app13(keywords) + data[2:])
    return path


def file_digests(folder: Path) -> dict[str, str]:
    """sha256 of every file in a folder."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


# --------------------------------------------------------------------------------------
# Names → tags
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("2019-07 birds", ["birds"]),
        ("2011-08 celebrations", ["celebrations"]),
        ("2012-06 cars and trains", ["cars", "trains"]),
        ("Birds 2016", ["birds"]),
        ("2021-04-01 pet", ["pet"]),
        ("2014-07 sky and weather", ["sky", "weather"]),
        ("Über See", ["über", "see"]),
        ("Sea life 2014", ["sea", "life"]),
        ("Home 2011", ["home"]),
        ("Birds2016", ["birds"]),
        ("Kids_&_Dogs+Cats (summer), 2015.v2", ["kids", "dogs", "cats", "summer"]),
        ("Mum's 60th birthday", ["mum's", "birthday"]),
        ("New York 2019", ["new", "york"]),
        ("Misc birds", ["birds"]),
        ("a b c", []),
    ],
)
def test_folder_name_tags(name: str, expected: list[str]) -> None:
    assert tags_from_folder_name(name) == expected


@pytest.mark.parametrize(
    "name",
    [
        "Camera Roll",
        "Unsorted",
        "Misc",
        "Phone backup 2012",
        "Phone backup 2024",
        "Imported 2016-10-06",
        "Imported",
        "DCIM 106",
        "DCIM",
        "100CANON",
        "101MSDCF",
        "100_FUJI",
        "Pictures",
        "Photos",
        "Downloads",
        "Desktop",
        "New folder",
        "New Folder (2)",
        "Screenshots",
        "WhatsApp Images",
        "2019-07-12",
        "2019",
        "",
        "  ",
        "-- 12 --",
    ],
)
def test_generic_folder_names_give_no_tags(name: str) -> None:
    assert tags_from_folder_name(name) == []


@pytest.mark.parametrize(
    "stem",
    [
        "IMG_1234",
        "IMG-20190712-WA0001",
        "DSC01234",
        "DSCN5627",
        "DSCF0001",
        "PXL_20190712_080000000",
        "P0005569",
        "photo_3820",
        "GOPR0001",
        "DJI_0001",
        "MVIMG_20190712_080000",
        "Screenshot_20200101-120000",
        "PANO_20190712_080000",
        "VID_20190712_080000",
        "_MG_1234",
        "SAM_0001",
        "CIMG0001",
        "WP_20130712_001",
        "3F2504E0-4F89-11D3-9A0C-0305E82C3301",
        "d41d8cd98f00b204e9800998ecf8427e",
        "12345",
        "IMG_1234 - Copy",
        "IMG_1234-edited",
        "DSC_0001 (2)",
    ],
)
def test_camera_style_filenames_give_no_tags(stem: str) -> None:
    assert tags_from_filename(stem) == []


@pytest.mark.parametrize(
    ("stem", "expected"),
    [
        ("beach_sunset_2019", ["beach", "sunset"]),
        ("Dog at the park (2)", ["dog", "park"]),
        ("IMG_1234_grandma", ["grandma"]),
        ("holiday-final-edited copy", ["holiday"]),
        ("Zürich_Altstadt", ["zürich", "altstadt"]),
    ],
)
def test_filename_tags(stem: str, expected: list[str]) -> None:
    assert tags_from_filename(stem) == expected


# --------------------------------------------------------------------------------------
# XMP parsing
# --------------------------------------------------------------------------------------


def test_parse_xmp_bag_hierarchical_and_date_element() -> None:
    xmp = parse_xmp(
        packet(
            '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"'
            ' xmlns:lr="http://ns.adobe.com/lightroom/1.0/" xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/">'
            "<dc:subject><rdf:Bag><rdf:li> beach </rdf:li><rdf:li>Sunset</rdf:li><rdf:li></rdf:li></rdf:Bag></dc:subject>"
            "<lr:hierarchicalSubject><rdf:Bag><rdf:li>Places|Europe|Paris</rdf:li></rdf:Bag></lr:hierarchicalSubject>"
            "<photoshop:DateCreated>2006-10-29</photoshop:DateCreated>"
            "</rdf:Description>"
        ).encode()
    )
    assert xmp.subject == ["beach", "Sunset"]
    assert xmp.hierarchical == ["Places|Europe|Paris"]
    assert xmp.date_taken == "2006-10-29T00:00:00"


def test_parse_xmp_attribute_form_and_date_preference() -> None:
    xmp = parse_xmp(
        packet(
            '<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/"'
            ' xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/"'
            ' xmp:CreateDate="2010-01-01T00:00:00" exif:DateTimeOriginal="2005-06-09T20:09:27.55+02:00"'
            ' dc:subject="lonely"/>'
        )
    )
    assert xmp.date_taken == "2005-06-09T20:09:27"  # exif:DateTimeOriginal beats xmp:CreateDate
    assert xmp.subject == ["lonely"]


def test_parse_xmp_matches_namespace_uris_not_prefixes() -> None:
    # As in ExifTool's XMP6 test: `xmp:` bound to the dc namespace, `z:` bound to rdf.
    xmp = parse_xmp(
        packet(
            "<rdf:Description rdf:about='' xmlns:xmp='http://ns.adobe.com/xap/1.0/'><xmp:Rating>2</xmp:Rating></rdf:Description>"
            "<rdf:Description rdf:about='' xmlns:xmp='http://purl.org/dc/elements/1.1/'>"
            "<xmp:subject><rdf:Bag><rdf:li>x</rdf:li></rdf:Bag></xmp:subject></rdf:Description>"
            "<z:Description rdf:about='' xmlns:y='http://purl.org/dc/elements/1.1/'"
            " xmlns:z='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>"
            "<y:subject><z:Seq><z:li>y</z:li></z:Seq></y:subject></z:Description>"
            # A dc:subject-lookalike in another namespace is not a keyword.
            "<rdf:Description rdf:about='' xmlns:dc='http://example.com/not-dc/'>"
            "<dc:subject><rdf:Bag><rdf:li>nope</rdf:li></rdf:Bag></dc:subject></rdf:Description>"
        )
    )
    assert xmp.subject == ["x", "y"]


def test_parse_xmp_node_id_reference() -> None:
    xmp = parse_xmp(
        packet(
            '<rdf:Bag rdf:nodeID="anon2"><rdf:li>ExifTool</rdf:li><rdf:li>nodeID</rdf:li></rdf:Bag>'
            '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            '<dc:subject rdf:nodeID="anon2"/></rdf:Description>',
        )
    )
    assert xmp.subject == ["ExifTool", "nodeID"]


def test_parse_xmp_alt_takes_default_and_ignores_nested_documents() -> None:
    xmp = parse_xmp(
        packet(
            '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"'
            ' xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/">'
            '<dc:subject><rdf:Alt><rdf:li xml:lang="fr">chat</rdf:li><rdf:li xml:lang="x-default">cat</rdf:li></rdf:Alt></dc:subject>'
            # xmpMM:Pantry holds other documents' metadata: their subjects are not this photo's.
            "<xmpMM:Pantry><rdf:Bag><rdf:li><rdf:Description><dc:subject><rdf:Bag><rdf:li>other</rdf:li>"
            "</rdf:Bag></dc:subject></rdf:Description></rdf:li></rdf:Bag></xmpMM:Pantry>"
            "</rdf:Description>"
        )
    )
    assert xmp.subject == ["cat"]


def test_parse_xmp_strips_junk_nuls_and_handles_escapes() -> None:
    data = b"\x00\x00junk" + subject_packet(["a &amp; b", "<![CDATA[c<d]]>"]).encode() + b"\x00" * 64 + b"   "
    assert parse_xmp(data).subject == ["a & b", "c<d"]


def test_parse_xmp_utf16() -> None:
    data = subject_packet(["Straße", "日本"]).encode("utf-16")  # with a BOM
    assert parse_xmp(data).subject == ["Straße", "日本"]
    assert parse_xmp(subject_packet(["ok"]).encode("utf-16-le")).subject == ["ok"]  # without


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "no XML"),
        (b"\x00\x00\x00", "no XML"),
        (b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><unclosed></x:xmpmeta>", "not well-formed"),
        (b"<a:b>", "not well-formed"),  # unbound prefix
    ],
)
def test_parse_xmp_errors_have_reasons(data: bytes, reason: str) -> None:
    with pytest.raises(MetadataError) as info:
        parse_xmp(data)
    assert reason in info.value.reason
    assert str(info.value) == info.value.reason


def test_parse_xmp_refuses_oversized_packet() -> None:
    data = subject_packet(["a"]).encode() + b" " * xmp.MAX_XMP_BYTES
    with pytest.raises(MetadataError, match="too large"):
        parse_xmp(data)


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10))
    + ']>\n<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:subject><rdf:Bag><rdf:li>&lol9;</rdf:li>'
    "</rdf:Bag></dc:subject></rdf:Description></rdf:RDF></x:xmpmeta>"
)


def test_billion_laughs_is_refused_quickly_and_small() -> None:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(MetadataError, match="DTD"):
            parse_xmp(BILLION_LAUGHS.encode())
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 1.0
    assert peak < 20 * 1024 * 1024  # 10^9 "lol"s would be gigabytes


def test_external_entity_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    data = (f'<!DOCTYPE x [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>' + subject_packet(["&xxe;"]).split("?>", 1)[1]).encode()
    with pytest.raises(MetadataError) as info:
        parse_xmp(data)
    assert "TOP-SECRET-VALUE" not in info.value.reason


# --------------------------------------------------------------------------------------
# weak_tags rule
# --------------------------------------------------------------------------------------


def test_weak_tags_prefers_xmp_over_iptc_and_adds_sidecars() -> None:
    meta = PhotoMetadata(
        width=1,
        height=1,
        format="JPEG",
        xmp_subject=["Dog", "park"],
        xmp_hierarchical=["Animals|Mammals|dog", "Places|Berlin"],
        iptc_keywords=["stale"],
        sidecar_xmp=["DOG", "Leash"],
        sidecar_txt=["leash", "ball"],
    )
    assert weak_tags(meta) == [
        ("Dog", "xmp"),
        ("park", "xmp"),
        ("Berlin", "xmp"),
        ("Leash", "sidecar"),
        ("ball", "sidecar"),
    ]
    assert meta.weak_tags() == weak_tags(meta)


def test_weak_tags_falls_back_to_iptc() -> None:
    meta = PhotoMetadata(width=1, height=1, format="JPEG", iptc_keywords=["ExifTool", "Test"], sidecar_txt=["x"])
    assert weak_tags(meta) == [("ExifTool", "iptc"), ("Test", "iptc"), ("x", "sidecar")]


def test_weak_tags_hierarchical_alone_counts_as_xmp() -> None:
    meta = PhotoMetadata(width=1, height=1, format="JPEG", xmp_hierarchical=["A|B|C", "|"], iptc_keywords=["old"])
    assert weak_tags(meta) == [("C", "xmp")]


# --------------------------------------------------------------------------------------
# Real files written by cameras and photo software
# --------------------------------------------------------------------------------------


def _real_expected() -> dict[str, dict]:
    if not (REAL / "expected.json").is_file():
        return {}
    return json.loads((REAL / "expected.json").read_text(encoding="utf-8"))["files"]


needs_real = pytest.mark.skipif(not (REAL / "expected.json").is_file(), reason=f"benchmark folder absent: {REAL}")


@needs_real
def test_real_metadata_set_is_complete() -> None:
    photos = {p.name for p in (REAL / "photos").iterdir() if is_supported(p.name)}
    assert photos == set(_real_expected())


@needs_real
@pytest.mark.parametrize("name", sorted(_real_expected()) or ["<absent>"])
def test_real_metadata_file(name: str) -> None:
    expected = _real_expected()[name]
    meta = read_photo_metadata(REAL / "photos" / name)
    assert meta.warnings == []
    assert {tag for tag, _ in weak_tags(meta)} == set(expected["expected_tags"])
    assert meta.iptc_keywords == expected["iptc_keywords"]
    assert meta.xmp_subject == expected["xmp_subject"]
    assert meta.xmp_hierarchical == expected["xmp_hierarchical"]
    assert meta.sidecar_xmp == expected.get("sidecar_subject", [])
    if "date_taken" in expected:
        assert meta.date_taken == expected["date_taken"].replace(":", "-", 2).replace(" ", "T")
    assert meta.camera_make == (expected["make"].strip() if "make" in expected else None)
    assert meta.camera_model == (expected["model"].strip() if "model" in expected else None)
    assert meta.orientation == EXIFTOOL_ORIENTATION.get(expected.get("orientation"))
    assert meta.width > 0 and meta.height > 0


@needs_real
def test_real_metadata_files_are_never_modified() -> None:
    folder = REAL / "photos"
    before = file_digests(folder)
    stats_before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    siblings = frozenset(os.listdir(folder))
    for name in sorted(before):
        if is_supported(name):
            read_photo_metadata(folder / name, siblings=siblings)
            read_photo_metadata(folder / name)
    assert file_digests(folder) == before
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == stats_before


@needs_real
def test_real_metadata_mutations_raise_only_metadata_error(tmp_path: Path) -> None:
    # Corrupt real files byte by byte: reading must succeed or raise MetadataError, nothing else.
    rng = random.Random(1234)
    sources = [REAL / "photos" / n for n in ("XMP.jpg", "IPTC.jpg", "ExifTool.tif", "RIFF.webp", "MWG.jpg", "Canon.jpg")]
    target = tmp_path / "mutant"
    outcomes = {"ok": 0, "error": 0}
    for source in sources:
        original = source.read_bytes()
        for _ in range(60):
            data = bytearray(original)
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            path = target.with_suffix(source.suffix)
            path.write_bytes(bytes(data))
            try:
                read_photo_metadata(path)
                outcomes["ok"] += 1
            except MetadataError as error:
                assert error.reason
                outcomes["error"] += 1
    assert outcomes["ok"] > 0


# --------------------------------------------------------------------------------------
# The emoji-scenes library: sidecars, embedded XMP, folder names
# --------------------------------------------------------------------------------------

needs_scenes = pytest.mark.skipif(not (SCENES / "ground_truth.json").is_file(), reason=f"benchmark folder absent: {SCENES}")


@pytest.fixture(scope="module")
def scenes_truth() -> dict:
    return json.loads((SCENES / "ground_truth.json").read_text(encoding="utf-8"))


@needs_scenes
def test_scenes_tags_on_disk_match_exposed_tags(scenes_truth: dict) -> None:
    # All 5,500 images: reading them takes about 2 s, so no sampling is needed.
    listings: dict[Path, frozenset[str]] = {}
    raw_mismatch, weak_mismatch, warned = [], [], []
    for image in scenes_truth["images"]:
        path = SCENES / image["path"]
        siblings = listings.setdefault(path.parent, frozenset(os.listdir(path.parent)))
        meta = read_photo_metadata(path, siblings=siblings)
        exposed = image["exposed_tags"]
        raw = set(meta.xmp_subject) | set(meta.iptc_keywords) | set(meta.sidecar_xmp) | set(meta.sidecar_txt)
        if raw != set(exposed):
            raw_mismatch.append(image["path"])
        # weak_tags folds case ("Scorpio" and "scorpio" are one tag), so compare case-folded.
        if {t.casefold() for t, _ in weak_tags(meta)} != {t.casefold() for t in exposed}:
            weak_mismatch.append(image["path"])
        if meta.warnings:
            warned.append((image["path"], meta.warnings))
        expected_source = {"xmp-embedded": "xmp", "xmp-sidecar": "sidecar", "txt-sidecar": "sidecar"}.get(image["tag_source"])
        assert {s for _, s in weak_tags(meta)} <= ({expected_source} if expected_source else set()), image["path"]
    assert raw_mismatch == []
    assert weak_mismatch == []
    assert warned == []


@needs_scenes
def test_scenes_album_names(scenes_truth: dict) -> None:
    albums = scenes_truth["albums"]
    assert len(albums) == 87
    for album in albums:
        tags = tags_from_folder_name(album["name"])
        if album["concept"] is None:
            assert tags == [], album["name"]
        else:
            assert tags, album["name"]


@needs_scenes
def test_scenes_file_names_are_camera_style(scenes_truth: dict) -> None:
    stems = {Path(image["path"]).stem for image in scenes_truth["images"]}
    assert {stem: tags_from_filename(stem) for stem in stems if tags_from_filename(stem)} == {}


# --------------------------------------------------------------------------------------
# Generated files
# --------------------------------------------------------------------------------------


def test_png_with_itxt_xmp(tmp_path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", subject_packet(["Hund", "Garten"], hierarchical=["Tiere|Hund"]))
    path = tmp_path / "pet.png"
    Image.new("RGB", (30, 20), "green").save(path, "PNG", pnginfo=info)
    meta = read_photo_metadata(path)
    assert (meta.format, meta.width, meta.height) == ("PNG", 30, 20)
    assert meta.xmp_subject == ["Hund", "Garten"]
    assert meta.xmp_hierarchical == ["Tiere|Hund"]
    assert weak_tags(meta) == [("Hund", "xmp"), ("Garten", "xmp")]
    assert meta.warnings == []


def test_jpeg_orientation_6_swaps_width_and_height(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "  ACME\x00 "
    exif[0x0110] = "Rocket 9 "
    exif.get_ifd(0x8769)[0x9003] = "2019:07:12 08:00:01"
    path = make_jpeg(tmp_path / "rotated.jpg", (40, 20), exif=exif.tobytes())
    meta = read_photo_metadata(path)
    assert (meta.width, meta.height, meta.orientation) == (20, 40, 6)
    assert (meta.camera_make, meta.camera_model) == ("ACME", "Rocket 9")
    assert meta.date_taken == "2019-07-12T08:00:01"


def test_exif_datetime_fallback_and_placeholder_dates(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "0000:00:00 00:00:00"  # a camera that never had its clock set
    exif[0x0132] = "2004:02:20 08:07:49"
    meta = read_photo_metadata(make_jpeg(tmp_path / "a.jpg", exif=exif.tobytes()))
    assert meta.date_taken == "2004-02-20T08:07:49"


def test_embedded_xmp_date_is_last_resort(tmp_path: Path) -> None:
    xmp = packet('<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:DateTimeOriginal="2005-06-09T20:09:27+02:00"/>').encode()
    meta = read_photo_metadata(make_jpeg(tmp_path / "a.jpg", xmp=xmp))
    assert meta.date_taken == "2005-06-09T20:09:27"


def test_iptc_keywords_single_list_and_latin1(tmp_path: Path) -> None:
    meta = read_photo_metadata(jpeg_with_iptc(tmp_path / "one.jpg", [b"solo"]))
    assert meta.iptc_keywords == ["solo"]
    meta = read_photo_metadata(jpeg_with_iptc(tmp_path / "two.jpg", ["Café".encode("latin-1"), "Zürich".encode("utf-8"), b" "]))
    assert meta.iptc_keywords == ["Café", "Zürich"]
    assert weak_tags(meta) == [("Café", "iptc"), ("Zürich", "iptc")]


def test_embedded_xmp_beats_stale_iptc(tmp_path: Path) -> None:
    path = jpeg_with_iptc(tmp_path / "mwg.jpg", [b"WRONG"], xmp=subject_packet(["RIGHT"]).encode())
    meta = read_photo_metadata(path)
    assert meta.iptc_keywords == ["WRONG"]
    assert weak_tags(meta) == [("RIGHT", "xmp")]


def test_broken_embedded_xmp_is_a_warning(tmp_path: Path) -> None:
    meta = read_photo_metadata(make_jpeg(tmp_path / "a.jpg", xmp=b"<x:xmpmeta><oops></x:xmpmeta>"))
    assert meta.xmp_subject == []
    assert len(meta.warnings) == 1 and "embedded XMP" in meta.warnings[0]


def test_zero_byte_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(MetadataError, match="file is empty"):
        read_photo_metadata(path)


def test_text_file_named_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("this is not a photo\n")
    with pytest.raises(MetadataError, match="not an image Pillow can read"):
        read_photo_metadata(path)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(MetadataError, match="not found"):
        read_photo_metadata(tmp_path / "nope.jpg")
    (tmp_path / "folder.jpg").mkdir()
    with pytest.raises(MetadataError, match="not a regular file"):
        read_photo_metadata(tmp_path / "folder.jpg")


def test_truncated_jpeg_gives_metadata_or_metadata_error(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x010F] = "ACME"
    source = make_jpeg(tmp_path / "full.jpg", (64, 48), exif=exif.tobytes(), xmp=subject_packet(["cut"]).encode())
    data = source.read_bytes()
    readable = 0
    for cut in sorted({1, 2, 3, 4, 10, 20, 50, 100, 300, 600, len(data) // 2, len(data) - 2, *range(0, len(data), 97)}):
        path = tmp_path / "cut.jpg"
        path.write_bytes(data[:cut])
        try:
            meta = read_photo_metadata(path)
        except MetadataError as error:
            assert error.reason
            continue
        readable += 1
        assert (meta.width, meta.height) == (64, 48)
    assert readable > 0  # the header and metadata come before the pixels


def test_decompression_bomb_becomes_metadata_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.pixels import limits as pixel_limit

    monkeypatch.setattr(pixel_limit, "MAX_PHOTO_PIXELS", 1000)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    warned = make_jpeg(tmp_path / "warned.jpg", (40, 40))  # 1,600 px: Pillow only warns
    refused = make_jpeg(tmp_path / "refused.jpg", (64, 64))  # 4,096 px > 2 × limit: Pillow raises
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no DecompressionBombWarning may escape
        with pytest.raises(MetadataError, match="image is too large: 40×40 pixels"):
            read_photo_metadata(warned)
        with pytest.raises(MetadataError, match="image is too large"):
            read_photo_metadata(refused)


def _with_frame_size(jpeg: bytes, width: int, height: int) -> bytes:
    """The same JPEG with its SOF0 frame header claiming another size (a forged header)."""
    at = jpeg.index(b"\xff\xc0")
    return jpeg[: at + 5] + struct.pack(">HH", height, width) + jpeg[at + 9 :]


def test_real_camera_sizes_are_read_and_forged_headers_refused(tmp_path: Path) -> None:
    """A 100 MP photo (over Pillow's 89.5 MP bomb limit) is read; headers that lie about size are not."""
    from engine.pixels.decode import DecodeError, load_rgb

    before = Image.MAX_IMAGE_PIXELS
    rng = random.Random(5)
    tile = Image.frombytes("RGB", (250, 250), bytes(rng.randrange(256) for _ in range(250 * 250 * 3)))
    big = tmp_path / "IMG_100MP.jpg"
    tile.resize((10_000, 10_000), Image.BILINEAR).save(big, "JPEG", quality=90)
    assert big.stat().st_size > 2_000_000  # what a real photo of this size weighs at the very least
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        meta = read_photo_metadata(big)
        assert (meta.width, meta.height) == (10_000, 10_000)
        assert max(load_rgb(str(big), 224).size) >= 224  # decoded (DCT-scaled) for the model
    assert Image.MAX_IMAGE_PIXELS == before  # raised only while BitLens opened the photo

    small = make_jpeg(tmp_path / "small.jpg", (64, 48))
    for name, (width, height), reason in [("huge.jpg", (60_000, 60_000), "image is too large"), ("lying.jpg", (12_000, 10_000), "too large for its file")]:
        forged = tmp_path / name
        forged.write_bytes(_with_frame_size(small.read_bytes(), width, height))
        with pytest.raises(MetadataError, match=reason):
            read_photo_metadata(forged)
        with pytest.raises(DecodeError, match=reason):
            load_rgb(str(forged), 224)


def test_module_import_leaves_global_pixel_limit_alone() -> None:
    # In a fresh interpreter: other test modules may have imported it already here.
    code = (
        "from PIL import Image; before = Image.MAX_IMAGE_PIXELS; "
        "import engine.library.metadata; assert Image.MAX_IMAGE_PIXELS == before, Image.MAX_IMAGE_PIXELS"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True, timeout=60)


# --------------------------------------------------------------------------------------
# Sidecars
# --------------------------------------------------------------------------------------


def test_xmp_sidecar_names_are_matched_case_insensitively(tmp_path: Path) -> None:
    photo = make_jpeg(tmp_path / "PHOTO.JPG")
    (tmp_path / "photo.xmp").write_text(subject_packet(["lower"]))
    (tmp_path / "PHOTO.JPG.XMP").write_text(subject_packet(["darktable"], hierarchical=["a|leaf", "b|Lower"]))
    meta = read_photo_metadata(photo)
    assert meta.sidecar_xmp == ["lower", "darktable", "leaf", "Lower"]  # raw: exact duplicates only
    assert sorted(meta.sidecar_files) == ["PHOTO.JPG.XMP", "photo.xmp"]
    assert weak_tags(meta) == [("lower", "sidecar"), ("darktable", "sidecar"), ("leaf", "sidecar")]


def test_txt_sidecar_commas_newlines_and_bom(tmp_path: Path) -> None:
    photo = make_jpeg(tmp_path / "dog.jpg")
    (tmp_path / "dog.txt").write_bytes("\ufeffdog, park ,\nBall\r\n\n, dog,Ünïcode\n".encode("utf-8"))
    meta = read_photo_metadata(photo)
    assert meta.sidecar_txt == ["dog", "park", "Ball", "Ünïcode"]


def test_txt_sidecar_latin1(tmp_path: Path) -> None:
    photo = make_jpeg(tmp_path / "c.jpg")
    (tmp_path / "c.txt").write_bytes("café, crème".encode("latin-1"))
    assert read_photo_metadata(photo).sidecar_txt == ["café", "crème"]


def test_siblings_argument_is_used_instead_of_listing(tmp_path: Path) -> None:
    photo = make_jpeg(tmp_path / "a.jpg")
    (tmp_path / "a.txt").write_text("hidden")
    assert read_photo_metadata(photo, siblings=frozenset({"a.jpg"})).sidecar_txt == []
    assert read_photo_metadata(photo, siblings={"a.jpg", "A.TXT"}).sidecar_txt == []  # named, not on disk
    assert read_photo_metadata(photo, siblings={"a.jpg", "a.txt"}).sidecar_txt == ["hidden"]
    assert read_photo_metadata(photo).sidecar_txt == ["hidden"]


def test_missing_listed_sidecar_is_a_warning(tmp_path: Path) -> None:
    photo = make_jpeg(tmp_path / "a.jpg")
    meta = read_photo_metadata(photo, siblings={"a.jpg", "a.xmp"})
    assert meta.sidecar_xmp == [] and len(meta.warnings) == 1 and "a.xmp" in meta.warnings[0]


@pytest.mark.parametrize("kind", ["bomb", "external", "malformed", "directory"])
def test_bad_xmp_sidecar_is_a_warning_and_photo_is_fine(tmp_path: Path, kind: str) -> None:
    photo = make_jpeg(tmp_path / "p.jpg", xmp=subject_packet(["embedded"]).encode())
    sidecar = tmp_path / "p.xmp"
    if kind == "bomb":
        sidecar.write_text(BILLION_LAUGHS)
    elif kind == "external":
        sidecar.write_text('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + subject_packet(["&e;"]).split("?>", 1)[1])
    elif kind == "malformed":
        sidecar.write_text("<x:xmpmeta xmlns:x='adobe:ns:meta/'>")
    else:
        sidecar.mkdir()
    started = time.perf_counter()
    meta = read_photo_metadata(photo)
    assert time.perf_counter() - started < 2.0
    assert meta.sidecar_xmp == []
    assert len(meta.warnings) == 1 and meta.warnings[0].startswith("sidecar p.xmp ignored")
    assert weak_tags(meta) == [("embedded", "xmp")]
    assert (meta.width, meta.height) == (32, 24)


@pytest.mark.parametrize("suffix", [".xmp", ".txt"])
def test_oversized_sidecar_is_ignored_with_a_warning(tmp_path: Path, suffix: str) -> None:
    photo = make_jpeg(tmp_path / "big.jpg")
    body = subject_packet(["huge"]) if suffix == ".xmp" else "huge"
    (tmp_path / f"big{suffix}").write_text(body + " " * (5 * 1024 * 1024))
    meta = read_photo_metadata(photo)
    assert meta.sidecar_xmp == [] and meta.sidecar_txt == []
    assert len(meta.warnings) == 1 and "larger than 4 MiB" in meta.warnings[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX FIFOs")
def test_fifo_sidecar_does_not_block(tmp_path: Path) -> None:
    photo = make_jpeg(tmp_path / "f.jpg")
    os.mkfifo(tmp_path / "f.txt")
    meta = read_photo_metadata(photo)
    assert meta.sidecar_txt == [] and "not a regular file" in meta.warnings[0]


# --------------------------------------------------------------------------------------
# Supported files
# --------------------------------------------------------------------------------------


def test_supported_extensions() -> None:
    for name in ("a.jpg", "B.JPEG", "c.jpe", "d.png", "e.WebP", "f.gif", "g.tif", "h.TIFF", "i.bmp"):
        assert is_supported(name), name
    for name in ("a.xmp", "b.txt", "c.mp4", "jpg", ".jpg", "d.jpg.xmp", "e"):
        assert not is_supported(name), name
    assert formats.SUPPORTED_EXTENSIONS >= {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".tif", ".tiff", ".bmp"}
    assert ({".heic", ".heif"} <= formats.SUPPORTED_EXTENSIONS) == formats.HEIF_AVAILABLE
    assert is_supported("x.heic") == formats.HEIF_AVAILABLE


def test_pillow_warnings_about_damaged_exif_become_one_warning(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x010F] = "ACME"
    exif.get_ifd(0x8769)[0x9003] = "2019:07:12 08:00:01"
    exif.get_ifd(0x8769)[0x9286] = "a user comment long enough to live outside the IFD entry"
    data = bytearray(make_jpeg(tmp_path / "ok.jpg", exif=exif.tobytes()).read_bytes())
    start = data.index(b"Exif\x00\x00") + 6
    # Point every IFD entry's value offset far beyond the EXIF block.
    tiff = bytes(data[start:])
    little = tiff[:2] == b"II"
    order = "<" if little else ">"
    ifd0 = struct.unpack(order + "I", tiff[4:8])[0]
    count = struct.unpack(order + "H", tiff[ifd0 : ifd0 + 2])[0]
    for i in range(count):
        entry = start + ifd0 + 2 + 12 * i
        data[entry + 4 : entry + 8] = struct.pack(order + "I", 0xFFFF)  # absurd value count
    path = tmp_path / "damaged.jpg"
    path.write_bytes(bytes(data))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing may escape to the caller
        meta = read_photo_metadata(path)
    assert (meta.width, meta.height) == (32, 24)
    pillow = [w for w in meta.warnings if w.startswith("Pillow: ")]
    assert len(pillow) == 1, meta.warnings


def test_shared_siblings_set_with_case_clashes(tmp_path: Path) -> None:
    first, second = make_jpeg(tmp_path / "a.jpg"), make_jpeg(tmp_path / "b.jpg")
    (tmp_path / "A.XMP").write_text(subject_packet(["upper"]))
    (tmp_path / "a.Xmp").write_text(subject_packet(["mixed"]))
    (tmp_path / "B.TXT").write_text("bee")
    siblings = frozenset(os.listdir(tmp_path))  # one set for the whole folder, as a scanner passes it
    for _ in range(2):  # the second round is served by the cached lower-case index
        assert read_photo_metadata(first, siblings=siblings).sidecar_xmp == ["upper"]  # "A.XMP" < "a.Xmp"
        assert read_photo_metadata(second, siblings=siblings).sidecar_txt == ["bee"]
