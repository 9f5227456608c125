"""A folder of hostile and unusual inputs, generated on the spot, with what each must give.

Every kind says what a user must see after one scan: `indexed` (a normal photo in the
library), `reported` (in the scan report with a reason, and never a crash), or `ignored`
(no row and no harm, e.g. the second path of a symlink loop).
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from conftest import make_photo


@dataclass
class Case:
    kind: str
    path: str  # as the scanner sees it (str; may hold surrogate escapes)
    expect: str  # "indexed", "reported" or "ignored"
    reason: str = ""  # a word the report's reason must contain (case-insensitive)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(width: int = 60000, height: int = 60000) -> bytes:
    """A tiny PNG that declares 3.6 gigapixels (a few hundred bytes on disk)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    row = b"\0" + b"\0" * 3 * width
    idat = zlib.compress(row * 4, 9)  # a few rows only: the header is what matters
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def _noise(seed: int, size=(96, 72)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)


def good_photos(root: Path, count: int = 4) -> list[Case]:
    """A few ordinary photos in `root`/good."""
    return [Case("plain photo", str(make_photo(root / "good" / f"IMG_{i:04d}.jpg", 100 + i)), "indexed") for i in range(count)]


def build(root: Path, unreadable: bool = True) -> list[Case]:
    """Write the corpus under `root`/bad; return the expectations."""
    bad = root / "bad"
    bad.mkdir(parents=True)
    cases: list[Case] = []

    def case(kind, path, expect, reason=""):
        cases.append(Case(kind, str(path), expect, reason))

    (bad / "zero.jpg").write_bytes(b"")
    case("zero-byte file", bad / "zero.jpg", "reported", "empty")

    whole = io.BytesIO()
    Image.fromarray(_noise(1, (400, 300))).save(whole, "JPEG", quality=90)
    (bad / "truncated.jpg").write_bytes(whole.getvalue()[:200])  # header only: no scan data
    case("truncated JPEG", bad / "truncated.jpg", "reported")

    Image.fromarray(_noise(2)).save(bad / "really_png.jpg", "PNG")
    case("PNG with a .jpg extension", bad / "really_png.jpg", "indexed")

    (bad / "notes.jpg").write_text("Shopping list: milk, eggs\n" * 20, encoding="utf-8")
    case("text file named .jpg", bad / "notes.jpg", "reported")

    (bad / "bomb.png").write_bytes(bomb_png())
    case("decompression bomb", bad / "bomb.png", "reported", "too large")

    Image.fromarray(_noise(3)).convert("CMYK").save(bad / "cmyk.jpg", "JPEG")
    case("CMYK JPEG", bad / "cmyk.jpg", "indexed")

    deep = (np.random.default_rng(4).integers(0, 65535, size=(60, 80))).astype(np.uint16)
    Image.fromarray(deep).save(bad / "sixteen_bit.png")
    assert Image.open(bad / "sixteen_bit.png").mode.startswith("I")
    case("16-bit PNG", bad / "sixteen_bit.png", "indexed")

    frames = [Image.fromarray(_noise(10 + k)) for k in range(3)]
    frames[0].save(bad / "animated.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    case("animated GIF", bad / "animated.gif", "indexed")
    frames[0].save(bad / "animated.webp", save_all=True, append_images=frames[1:], duration=100, loop=0)
    case("animated WebP", bad / "animated.webp", "indexed")

    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    Image.fromarray(_noise(5, (120, 60))).save(bad / "rotated.jpg", "JPEG", exif=exif.tobytes())
    case("EXIF-rotated photo", bad / "rotated.jpg", "indexed")

    if unreadable:
        make_photo(bad / "locked.jpg", 6)
        os.chmod(bad / "locked.jpg", 0)
        case("unreadable file (permissions)", bad / "locked.jpg", "reported", "permission")
        make_photo(bad / "locked folder" / "inside.jpg", 7)
        os.chmod(bad / "locked folder", 0)
        case("unreadable folder (permissions)", bad / "locked folder", "reported", "permission")

    (bad / "dangling.jpg").symlink_to(bad / "nowhere.jpg")
    case("broken symlink", bad / "dangling.jpg", "reported", "symbolic link")

    (bad / "self.jpg").symlink_to(bad / "self.jpg")
    case("symlink loop (file)", bad / "self.jpg", "reported")
    (bad / "loop").symlink_to(root)
    case("symlink loop (folder)", bad / "loop", "ignored")

    raw = os.fsencode(bad) + b"/caf\xe9_latin1.jpg"  # Latin-1 bytes: not UTF-8
    make_photo(Path(os.fsdecode(raw)), 8)
    case("undecodable file name bytes", os.fsdecode(raw), "indexed")  # the path as the OS gives it

    long_dir = bad
    for level in range(6):
        long_dir = long_dir / (f"level{level}_" + "x" * 150)
    long_file = long_dir / ("long_" + "y" * 200 + ".jpg")
    make_photo(long_file, 9)
    assert len(str(long_file).encode()) > 1024
    case("very long path", long_file, "indexed")

    make_photo(bad / "vanishing.jpg", 11)
    case("file deleted during the scan", bad / "vanishing.jpg", "reported", "disappeared")

    os.mkfifo(bad / "fifo.jpg")
    case("FIFO named .jpg", bad / "fifo.jpg", "ignored")

    make_photo(bad / "bomb_sidecar.jpg", 12)
    (bad / "bomb_sidecar.xmp").write_text(
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><x>&lol3;</x>',
        encoding="utf-8",
    )
    case("XML bomb sidecar", bad / "bomb_sidecar.jpg", "indexed")
    return cases
