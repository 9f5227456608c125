"""Decoding and encoding photos: orientation, odd formats, progress and cancel."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from conftest import make_photo


def test_exif_orientation_is_applied_before_encoding(tmp_path):
    from engine.pixels.decode import load_rgb

    upright = np.zeros((40, 60, 3), np.uint8)
    upright[:10, :, 0] = 255  # a red band along the top edge
    stored = Image.fromarray(upright).rotate(90, expand=True)  # as a camera held sideways stores it
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    stored.save(tmp_path / "sideways.png", exif=exif)
    shown = np.asarray(load_rgb(str(tmp_path / "sideways.png"), 64))
    assert shown.shape == (40, 60, 3)
    assert np.array_equal(shown, upright)


def test_transparent_png_and_animated_gif_decode(tmp_path):
    from engine.pixels.decode import load_rgb

    rgba = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    rgba.save(tmp_path / "clear.png")
    assert np.asarray(load_rgb(str(tmp_path / "clear.png"), 32)).min() == 255  # white, not black
    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    first = np.asarray(load_rgb(str(tmp_path / "anim.gif"), 32))
    assert first[8, 8, 0] > 200 and first[8, 8, 2] < 50  # the first frame


def test_jpeg_is_decoded_at_reduced_size(tmp_path):
    from engine.pixels.decode import load_rgb

    make_photo(tmp_path / "big.jpg", 1, size=(2400, 1600), quality=90)
    image = load_rgb(str(tmp_path / "big.jpg"), 128)
    # DCT scaling: at most 1/8 reduction, never below the target size
    assert (300, 200) == image.size


def test_progress_is_reported_and_cancel_keeps_work_resumable(library, photo_tree, tiny_spec):
    from engine.jobs import Cancelled, CancelToken

    for i in range(40):
        make_photo(photo_tree / "More" / f"IMG_{i:04d}.jpg", 100 + i)
    cancel = CancelToken()
    events = []

    def on_progress(event):
        events.append(event)
        if event.stage == "encode" and event.done >= 8:
            cancel.cancel()

    with pytest.raises(Cancelled):
        library.index([photo_tree], backbone=tiny_spec, progress=on_progress, cancel=cancel, batch_size=8)
    stages = [e.stage for e in events]
    assert "read" in stages and "encode" in stages
    with library.store.raw() as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        encoded_before = db.execute("SELECT count(*) FROM embeddings").fetchone()[0]
    assert 8 <= encoded_before < 49
    report = library.index(backbone=tiny_spec, batch_size=8)
    assert report.encoded == 49 - encoded_before, "finished work is kept, only the rest is encoded"
    assert len(library.searcher()) == 49


def test_itq_codes_are_balanced_and_text_and_images_share_them():
    from engine.models.projection import fit_itq

    rng = np.random.default_rng(0)
    data = rng.standard_normal((500, 32)).astype(np.float32)
    projection = fit_itq(data, bits=16)
    codes = projection.encode(data)
    assert codes.shape == (500, 16)
    assert np.all(np.abs(codes.mean(axis=0) - 0.5) < 0.2)  # centred: each bit splits the data
    few = fit_itq(data[:3], bits=64)  # fewer photos than bits still gives a usable projection
    assert few.encode(data).shape == (500, 64)
    with pytest.raises(ValueError):
        fit_itq(data, bits=48)
