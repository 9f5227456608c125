"""Shared fixtures: generated photo trees, libraries in tmp folders, the benchmark data."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

# Qt must never need a display in tests (and must be set before any Qt import).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tests never reach the network: an accidental hub call fails at once instead.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# The suite's indexing tests compare against the eager torch tower; on a CPU the product
# default is int8 (engine/models/precision.py), which tests/library/test_precision.py covers.
os.environ.setdefault("BITLENS_PRECISION", "fp32")

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO.parent / "shared").resolve()  # the library stores resolved paths
SCENES = SHARED / "benchmark" / "scenes-s0"
REAL_METADATA = SHARED / "benchmark" / "real-metadata"
STANDIN_CONFIG = SHARED / "benchmark" / "backbone" / "scenes-clip-tiny.json"
STANDIN_WEIGHTS = SHARED / "benchmark" / "backbone" / "scenes-clip-tiny.safetensors"

XMP_TEMPLATE = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:subject><rdf:Bag>{items}</rdf:Bag></dc:subject>
</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"""


def xmp_packet(tags: list[str]) -> str:
    """An XMP packet whose dc:subject holds `tags`."""
    return XMP_TEMPLATE.format(items="".join(f"<rdf:li>{t}</rdf:li>" for t in tags))


def make_photo(path: Path, seed: int, size: tuple[int, int] = (160, 120), **save_args) -> Path:
    """Write a distinct noisy picture (blocks of colour plus noise) at `path`."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
    image = Image.fromarray(blocks).resize(size, Image.NEAREST)
    noise = rng.integers(-20, 20, size=(size[1], size[0], 3))
    pixels = np.clip(np.asarray(image, dtype=np.int16) + noise, 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, **save_args)
    return path


@pytest.fixture
def photo_tree(tmp_path: Path) -> Path:
    """A small photo folder with a weak tag from every source the scanner reads."""
    return build_photo_tree(tmp_path / "Photos")


def build_photo_tree(root: Path) -> Path:
    """Write the `photo_tree` fixture's nine photos (and their sidecars) below `root`."""
    make_photo(root / "2019-07 beach holiday" / "IMG_0001.jpg", 1)
    make_photo(root / "2019-07 beach holiday" / "sunset_dog.jpg", 2)
    make_photo(root / "2019-07 beach holiday" / "DSC01234.jpg", 3)
    (root / "2019-07 beach holiday" / "DSC01234.xmp").write_text(xmp_packet(["waves", "sand"]), encoding="utf-8")
    make_photo(root / "Camera Roll" / "PXL_20200101_101010000.jpg", 4, xmp=xmp_packet(["mountain", "snow"]).encode("utf-8"))
    make_photo(root / "Camera Roll" / "IMG_0002.png", 5)
    (root / "Camera Roll" / "IMG_0002.txt").write_text("red car, street", encoding="utf-8")
    make_photo(root / "Camera Roll" / "DCIM" / "IMG_0003.webp", 6)
    make_photo(root / "Camera Roll" / "IMG_0004.gif", 7)
    make_photo(root / "Camera Roll" / "IMG_0005.bmp", 8)
    make_photo(root / "Camera Roll" / "IMG_0006.tif", 9)
    return root


@dataclass
class CliRun:
    """What a `bitlens` command printed and the status it ended with."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(library: Path, *args: str, check: bool = True) -> CliRun:
    """`bitlens --library LIBRARY ARGS` in this process: engine.cli.main, as the console script calls it.

    The same code as a fresh `bitlens` process without paying for a new interpreter and the
    torch import each time; tests that need a real process (pipes, signals, what a fresh
    interpreter imports) start one themselves.
    """
    from engine.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(["--library", str(library), *args])
        except SystemExit as exit_:  # argparse's usage errors end like this
            code = exit_.code if isinstance(exit_.code, int) else 1
    result = CliRun(code, out.getvalue(), err.getvalue())
    if check and result.returncode != 0:
        raise AssertionError(f"bitlens {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result


def tree_fingerprint(root: Path) -> dict[str, str]:
    """Relative path → sha256 of every file and symlink target below `root`."""
    result = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            result[key] = "link:" + os.readlink(path)
        elif path.is_file():
            result[key] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            result[key] = "dir"
    return result


@pytest.fixture
def library(tmp_path: Path):
    """An empty library in a temporary folder (never the user's real one)."""
    from engine.facade import BitLens

    with BitLens(tmp_path / "library") as lib:
        yield lib


@pytest.fixture(scope="session")
def tiny_spec():
    from engine.models.backbones import BackboneSpec

    return BackboneSpec.from_args("tiny")


@pytest.fixture(scope="session")
def standin_spec():
    """The offline stand-in for a web-pretrained CLIP (trained on separate scenes)."""
    if not STANDIN_WEIGHTS.is_file():
        pytest.skip(f"benchmark backbone not found at {STANDIN_WEIGHTS}")
    from engine.models.backbones import BackboneSpec

    return BackboneSpec.from_args(str(STANDIN_CONFIG), weights=str(STANDIN_WEIGHTS))


@pytest.fixture
def scenes_albums(tmp_path: Path):
    """A few albums of the scenes benchmark (read in place: indexing never writes there)."""
    if not SCENES.is_dir():
        pytest.skip(f"benchmark scenes not found at {SCENES}")
    return [SCENES / name for name in ("2009-01 birds", "2010-03-08 pet", "Camera Roll")]


def copy_tree(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, symlinks=True)
    return target


def config_file(path: Path, overrides: dict) -> Path:
    """The built-in hashing config with `overrides` merged section by section, written to `path` (for `--config`)."""
    from engine.models.config import HashingConfig

    path.write_text(json.dumps(HashingConfig.load(overrides=overrides).to_dict()), encoding="utf-8")
    return path


def index_albums(root: Path, home: Path, per_album: int, year: int):
    """A library of generated photos in three tagged albums ("YEAR beach/forest/city"), indexed with the tiny backbone."""
    from engine.facade import BitLens

    from engine.models.backbones import BackboneSpec

    for album, seed in (("beach", 0), ("forest", 1000), ("city", 2000)):
        for i in range(per_album):
            make_photo(root / f"{year} {album}" / f"IMG_{i:04d}.jpg", seed + i)
    library = BitLens(home)
    library.index([root], backbone=BackboneSpec.from_args("tiny"))
    return library
