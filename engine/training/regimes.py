"""Tag regimes of the scenes benchmark: how much a user's folders say about their photos.

The same benchmark photos are exposed to the library three ways, each as a folder tree
that a user could have (the ground truth never tags anything):

- ``rich``: album folders, file names, XMP/TXT sidecars and embedded XMP (the benchmark
  as generated: object keywords on 70% of the photos);
- ``folders``: album folder names only. Sidecars are left out and embedded XMP/IPTC is
  cut out of a copy of each JPEG (the compressed pixels are copied byte for byte), which
  is what most personal libraries have;
- ``held-out``: as ``folders``, and the albums of four concepts are renamed to neutral
  camera folders ("Camera Roll 3"), so those concepts carry no tag at all.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

REGIMES = ("rich", "folders", "held-out")
# Concepts whose albums lose their names in the held-out regime: each has written queries
# of its own ("a butterfly", "fruit", "a guitar", "a castle") and none is a neighbour of
# another in the benchmark's themes.
HELD_OUT_CONCEPTS = ("animal-bug", "food-fruit", "music", "place-building")

_SOI, _SOS = b"\xff\xd8", 0xDA
_XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
_EXTENDED_XMP_HEADER = b"http://ns.adobe.com/xmp/extension/\x00"
_PHOTOSHOP_HEADER = b"Photoshop 3.0\x00"  # IPTC lives in APP13's Photoshop resources


def strip_jpeg_metadata(data: bytes) -> bytes:
    """The JPEG without XMP (APP1) and IPTC (APP13) segments; every other byte is kept.

    Segments are walked up to the start of scan; the entropy-coded data after it is
    copied unchanged, so the decoded pixels are identical. Anything that is not a
    well-formed JPEG header is returned as it is.
    """
    if not data.startswith(_SOI):
        return data
    out, position = bytearray(_SOI), 2
    while position + 4 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        if marker == _SOS:
            break
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        end = position + 2 + length
        if length < 2 or end > len(data):
            return data
        payload = data[position + 4 : end]
        metadata = (marker == 0xE1 and payload.startswith((_XMP_HEADER, _EXTENDED_XMP_HEADER))) or (marker == 0xED and payload.startswith(_PHOTOSHOP_HEADER))
        if not metadata:
            out += data[position:end]
        position = end
    return bytes(out + data[position:])


def album_folder(image: dict, regime: str, renamed: dict[str, str]) -> str:
    """The folder a photo sits in under a regime (its album, or a neutral camera folder)."""
    album = image["album"]
    if regime == "held-out" and image.get("album_concept") in HELD_OUT_CONCEPTS:
        return renamed.setdefault(album, f"Camera Roll {len(renamed) + 1}")
    return album


def layout(images: Iterable[dict], regime: str = "rich") -> list[str]:
    """Each photo's path relative to the mirror under `regime`, in the order given."""
    images = list(images)
    renamed: dict[str, str] = {}
    for image in sorted(images, key=lambda im: im["path"]):  # the same numbering whatever the order given
        album_folder(image, regime, renamed)
    return [f"{album_folder(im, regime, renamed)}/{Path(im['path']).name}" for im in images]


def mirror(benchmark: Path, images: Iterable[dict], target: Path, regime: str = "rich") -> None:
    """Lay the chosen photos out under `target` as a user's folders in `regime` (never writes into `benchmark`)."""
    if regime not in REGIMES:
        raise ValueError(f"unknown tag regime '{regime}' (one of {', '.join(REGIMES)})")
    if target.exists():
        return
    partial = target.with_name(target.name + ".partial")
    images = list(images)
    for image, relative in zip(images, layout(images, regime)):
        source = benchmark / image["path"]
        if regime == "rich":
            companions = [source] + [source.with_suffix(s) for s in (".xmp", ".txt")] + [source.with_name(source.name + ".xmp")]
            for companion in companions:
                if companion.exists():
                    link = partial / companion.relative_to(benchmark)
                    link.parent.mkdir(parents=True, exist_ok=True)
                    if not link.exists():
                        os.symlink(companion, link)
            continue
        destination = partial / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        if image.get("tag_source") == "xmp-embedded":
            destination.write_bytes(strip_jpeg_metadata(source.read_bytes()))
        else:
            os.symlink(source, destination)
    partial.rename(target)
