"""Trust boundaries: model files are verified before use and never run code when loaded;
tampering is refused with a clear message (never a traceback, never the payload)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from conftest import make_photo

FAST = {"network": {"dim": 32, "heads": 2}, "training": {"batch_size": 16, "warmup_steps": 2}, "data": {"validation_fraction": 0.2}}


class Payload:
    """Unpickling this creates a file: proof that a loader executed code from a model file."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A library whose active model is a trained hashing network (tiny backbone, 1 epoch)."""
    from engine.facade import BitLens

    from engine.models.backbones import BackboneSpec
    from engine.training.lifecycle import activate_model, train_model

    root = tmp_path_factory.mktemp("trust")
    for i in range(30):
        make_photo(root / "photos" / ("2020 beach", "2021 forest")[i % 2] / f"IMG_{i:04d}.jpg", i, size=(64, 48))
    library = BitLens(root / "lib")
    library.index([root / "photos"], backbone=BackboneSpec.from_args("tiny"), device="cpu")
    model_id = train_model(library, bits=32, epochs=1, overrides=FAST, device="cpu")
    activate_model(library, model_id)
    yield library
    library.close()


def _active_checkpoint(library) -> Path:
    with library.store.raw() as db:
        return Path(db.execute("SELECT checkpoint FROM models WHERE active AND kind = 'hashing'").fetchone()[0])


def _cli_error(library, capsys, *args) -> str:
    from engine.cli import main

    assert main(["--library", str(library.paths.root), *args]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith("bitlens: error: ")
    return err


def test_tampered_trained_checkpoint_is_refused(trained, tmp_path, capsys):
    checkpoint = _active_checkpoint(trained)
    original = checkpoint.read_bytes()
    try:
        data = bytearray(original)
        data[len(data) // 2] ^= 0x01  # one bit in the weights
        checkpoint.write_bytes(bytes(data))
        assert "changed on disk" in _cli_error(trained, capsys, "search", "beach")
    finally:
        checkpoint.write_bytes(original)
    assert trained.searcher(device="cpu").search(text="beach", limit=3)


def test_pickle_in_place_of_a_checkpoint_never_runs(trained, tmp_path, capsys):
    """Even when the recorded sha256 was rewritten too, loading runs no code from the file."""
    import pickle

    checkpoint = _active_checkpoint(trained)
    original = checkpoint.read_bytes()
    marker = tmp_path / "pwned"
    db = sqlite3.connect(trained.paths.database)
    (old_sha,) = db.execute("SELECT checkpoint_sha256 FROM models WHERE active").fetchone()
    try:
        checkpoint.write_bytes(pickle.dumps(Payload(marker)))
        from engine.models.weights import sha256_file

        with db:
            db.execute("UPDATE models SET checkpoint_sha256 = ? WHERE active", (sha256_file(checkpoint),))
        err = _cli_error(trained, capsys, "search", "beach")
        assert "cannot be loaded" in err and str(checkpoint) in err
        assert not marker.exists(), "a model file executed code while loading"
    finally:
        checkpoint.write_bytes(original)
        with db:
            db.execute("UPDATE models SET checkpoint_sha256 = ? WHERE active", (old_sha,))
        db.close()


def test_pickled_backbone_weights_never_run(tmp_path):
    """A .pt weights file with a payload: torch loads it weights-only, so it is refused."""
    import torch

    from engine.models.backbones import Backbone, BackboneError, BackboneSpec

    marker = tmp_path / "pwned"
    weights = tmp_path / "evil.pt"
    torch.save({"state_dict": Payload(marker)}, weights)
    spec = BackboneSpec.from_args("tiny", weights=str(weights))  # the user chose this file
    with pytest.raises(BackboneError, match="refuses to load because they could run code"):
        Backbone(spec, device="cpu")
    assert not marker.exists(), "backbone weights executed code while loading"


def test_huge_and_hostile_sidecars_and_metadata_are_safe(tmp_path):
    """Entity bombs refused, 5 MiB sidecars and a 5 MiB XMP chunk skipped, quickly."""
    import time

    from PIL import PngImagePlugin

    from engine.library import metadata as md

    folder = tmp_path / "p"
    make_photo(folder / "huge_txt.jpg", 1)
    (folder / "huge_txt.txt").write_bytes(b"tag, " * (1 << 20))
    make_photo(folder / "huge_xmp.jpg", 2)
    (folder / "huge_xmp.xmp").write_bytes(b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>" + b" " * (5 << 20) + b"</x:xmpmeta>")
    make_photo(folder / "quadratic.jpg", 3)
    (folder / "quadratic.xmp").write_text('<!DOCTYPE x [<!ENTITY a "' + "A" * 50000 + '">]><x>' + "&a;" * 50000 + "</x>", encoding="utf-8")
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta xmlns:x='adobe:ns:meta/'>" + " " * (5 << 20) + "</x:xmpmeta>")
    make_photo(folder / "big_chunk.png", 4, pnginfo=info)
    started = time.monotonic()
    for name in ("huge_txt.jpg", "huge_xmp.jpg", "quadratic.jpg", "big_chunk.png"):
        meta = md.read_photo_metadata(folder / name)
        assert meta.width == 160, name
        if name != "big_chunk.png":
            assert meta.warnings and not meta.sidecar_txt and not meta.sidecar_xmp, name
    assert time.monotonic() - started < 10
