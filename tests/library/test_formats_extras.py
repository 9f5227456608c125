"""The optional formats as a user meets them: HEIC from an iPhone and camera RAW (DNG), indexed.

Both files are written by well-kept writers from generated pixels: the HEIC by pillow-heif's
own encoder, the DNG by tifffile (a Bayer mosaic with the DNG tags LibRaw needs). Each
is turned a quarter by its orientation, so "upright" is checked, not assumed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.library.metadata import read_photo_metadata
from engine.library.formats import SUPPORTED_EXTENSIONS
from engine.pixels.decode import load_rgb

DATE = "2021:07:04 10:20:30"


def red_left_blue_right(width: int = 80, height: int = 60):
    from PIL import Image

    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[:, : width // 2] = (230, 20, 20)
    pixels[:, width // 2 :] = (20, 20, 230)
    return Image.fromarray(pixels)


def write_heic(path: Path) -> Path:
    """An 80×60 HEIC with EXIF orientation 6 (turn 90° clockwise), a date and a camera."""
    import pillow_heif
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F], exif[0x0110] = "Apple", "iPhone 12"
    exif.get_ifd(0x8769)[0x9003] = DATE
    pillow_heif.from_pillow(red_left_blue_right()).save(str(path), quality=90, exif=exif.tobytes())
    return path


def write_dng(path: Path, width: int = 96, height: int = 64) -> Path:
    """A 96×64 RGGB mosaic as DNG 1.4 (left half red, right half blue), orientation 6, a date and a camera."""
    import tifffile

    mosaic = np.full((height, width), 500, np.uint16)
    mosaic[0::2, 0::2][:, : width // 4] = 3200  # red sites, left half
    mosaic[1::2, 1::2][:, width // 4 :] = 3200  # blue sites, right half
    mosaic[0::2, 0::2][:, width // 4 :] = 200
    mosaic[1::2, 1::2][:, : width // 4] = 200
    identity = (1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1)
    tags = [
        (50706, "B", 4, (1, 4, 0, 0), True),  # DNGVersion
        (50707, "B", 4, (1, 1, 0, 0), True),  # DNGBackwardVersion
        (50708, "s", 0, "BitLens Test Camera", True),  # UniqueCameraModel
        (33421, "H", 2, (2, 2), True),  # CFARepeatPatternDim
        (33422, "B", 4, (0, 1, 1, 2), True),  # CFAPattern: RGGB
        (50714, "I", 1, (0,), True),  # BlackLevel
        (50717, "I", 1, (4095,), True),  # WhiteLevel
        (50721, "2i", 9, identity, True),  # ColorMatrix1
        (50778, "H", 1, (21,), True),  # CalibrationIlluminant1: D65
        (50728, "2I", 3, (1, 1, 1, 1, 1, 1), True),  # AsShotNeutral
        (271, "s", 0, "Pentax", True),  # Make
        (272, "s", 0, "K-1", True),  # Model
        (274, "H", 1, (6,), True),  # Orientation: turn 90° clockwise
        (36867, "s", 0, DATE, True),  # DateTimeOriginal (TIFF/EP keeps it in IFD0)
    ]
    tifffile.imwrite(path, mosaic, photometric=32803, subfiletype=0, extratags=tags)
    return path


def assert_upright_red_on_top(image) -> None:
    """Red left / blue right, turned 90° clockwise: red on top, blue below, portrait."""
    pixels = np.asarray(image.convert("RGB"), dtype=int)
    assert image.height > image.width
    top, bottom = pixels[: image.height // 4].mean(axis=(0, 1)), pixels[-image.height // 4 :].mean(axis=(0, 1))
    assert top[0] > top[2] + 50 and bottom[2] > bottom[0] + 50, (top, bottom)


def test_heic_is_read_upright_with_its_date_and_camera(tmp_path: Path) -> None:
    assert ".heic" in SUPPORTED_EXTENSIONS  # the heic extra is installed by setup (pip install -e .[test])
    photo = write_heic(tmp_path / "IMG_0001.HEIC")
    meta = read_photo_metadata(photo)
    assert (meta.format, meta.width, meta.height) == ("HEIF", 60, 80)
    assert meta.date_taken == "2021-07-04T10:20:30"
    assert (meta.camera_make, meta.camera_model) == ("Apple", "iPhone 12")
    assert_upright_red_on_top(load_rgb(str(photo), 64))


def test_dng_is_read_upright_with_its_date_and_camera(tmp_path: Path) -> None:
    assert ".dng" in SUPPORTED_EXTENSIONS  # the raw extra is installed by setup (pip install -e .[test])
    photo = write_dng(tmp_path / "IMGP0001.DNG")
    meta = read_photo_metadata(photo)
    assert (meta.format, meta.width, meta.height) == ("DNG", 64, 96)  # upright: the sensor's 96×64 turned
    assert meta.date_taken == "2021-07-04T10:20:30"
    assert (meta.camera_make, meta.camera_model) == ("Pentax", "K-1")
    assert_upright_red_on_top(load_rgb(str(photo), 64))
    assert_upright_red_on_top(load_rgb(photo, 64))  # a Path, as load_rgb's type allows, decodes the same


def test_heic_and_dng_are_indexed_and_searchable(tmp_path: Path, tiny_spec) -> None:
    from engine.facade import BitLens

    photos = tmp_path / "Phone and camera"
    photos.mkdir()
    heic, dng = write_heic(photos / "IMG_0001.heic"), write_dng(photos / "IMGP0001.dng")
    broken = photos / "IMGP0002.dng"
    broken.write_bytes(b"II*\x00" + b"\x00" * 64)  # a RAW name on a file LibRaw cannot read
    with BitLens(tmp_path / "library") as library:
        report = library.index([photos], backbone=tiny_spec)
        assert report.added == 3 and report.errors == 1
        assert [p for p, _ in report.problems] == [str(broken)]
        for path in (heic, dng):
            info = library.photo(path)
            assert info["status"] == "ok" and info["date_taken"] == "2021-07-04T10:20:30", info
        found = {r.path for r in library.searcher(device="cpu").search(image=str(dng), limit=5)}
        assert str(dng) in found and str(heic) in found
