"""On a machine without a GPU, indexing runs the image tower int8 unless fp32 is asked for."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from conftest import make_photo

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


@pytest.fixture
def photos(tmp_path) -> Path:
    root = tmp_path / "Photos"
    for i in range(6):
        make_photo(root / f"IMG_{i}.jpg", 300 + i)
    return root


def _keys(library) -> set[str]:
    with sqlite3.connect(library.paths.database) as db:
        return {k for (k,) in db.execute("SELECT DISTINCT backbone_key FROM embeddings")}


def test_cpu_default_is_int8_and_kept_apart_from_fp32(library, photos, tiny_spec, monkeypatch):
    from engine.library.features import FeatureCache
    from engine.models import precision

    monkeypatch.delenv(precision.ENV, raising=False)  # the product default, not the suite's pin
    library.index([photos], backbone=tiny_spec, device="cpu")
    spec = library.current_backbone()
    assert spec.precision == "int8" and "int8" in library.status()["active_model"]["backbone"]
    assert _keys(library) == {spec.key} and spec.key != tiny_spec.key
    assert (library.paths.cache / "onnx").is_dir()  # the exported tower is the library's cache, not the photos'

    # A query photo from the library finds itself first: index and query use the same tower.
    first = sorted(photos.iterdir())[0]
    assert Path(library.searcher().search(image=str(first), limit=1)[0].path).name == first.name

    # Re-indexing with "auto" keeps the library's precision; fp32 on request is another key, another feature cache.
    assert library.index(device="cpu").encoded == 0
    report = library.index(backbone=tiny_spec, device="cpu", precision="fp32")
    assert report.encoded == 6 and library.current_backbone().precision is None
    assert _keys(library) == {spec.key, tiny_spec.key}
    assert FeatureCache.file_of(library.paths.cache, spec.key) != FeatureCache.file_of(library.paths.cache, tiny_spec.key)


def test_a_gpu_keeps_the_torch_tower_and_unknown_precisions_are_refused(monkeypatch):
    from engine.models.precision import ENV, PrecisionError, resolve

    monkeypatch.delenv(ENV, raising=False)
    assert resolve("auto", lambda: False) == "int8"

    assert resolve("auto", lambda: True) is None
    assert resolve("fp32", lambda: False) is None
    with pytest.raises(PrecisionError):
        resolve("fp8", lambda: False)
