"""The training data page's camera-name warning: brands, not places that share a brand's name."""

from __future__ import annotations

from engine.training.tag_stats import looks_like_camera


def test_places_named_like_brands_are_not_cameras():
    assert not any(looks_like_camera(t) for t in ("mount fuji", "Fuji", "pixel art", "sigma male"))
    assert not looks_like_camera("view of mount fuji")


def test_camera_names_still_warn():
    assert all(looks_like_camera(t) for t in ("Canon EOS 5D", "iPhone 12", "DSC-RX100", "NIKON D750", "Fuji X100V", "Pixel 7", "Sony", "GoPro Hero"))
