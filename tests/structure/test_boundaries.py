"""Boundaries a user relies on: a Qt-free, light engine import and verified model files."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import REPO


def test_import_engine_loads_no_qt_and_no_torch():
    code = (
        "import sys, engine, engine.cli, engine.library.library, engine.search.hamming, engine.jobs; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'PyQt5', 'PyQt6', 'torch', 'open_clip'))))"
    )
    out = subprocess.run([sys.executable, "-c", "import json; " + code], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []


def test_tampered_code_model_is_refused(library, photo_tree, tiny_spec):
    from engine.library.codemodels import ModelFileError

    library.index([photo_tree], backbone=tiny_spec)
    checkpoint = next(library.paths.models.glob("*.safetensors"))
    data = bytearray(checkpoint.read_bytes())
    data[-1] ^= 0xFF
    checkpoint.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="changed on disk"):
        library.searcher()


def test_swapped_weights_file_is_refused(tmp_path, photo_tree):
    from engine.models.backbones import Backbone, BackboneError, BackboneSpec

    weights = tmp_path / "weights.safetensors"
    from safetensors.torch import save_file

    built = Backbone(BackboneSpec.from_args("tiny"))
    save_file({k: v.contiguous() for k, v in built.model.state_dict().items()}, str(weights))
    spec = BackboneSpec.from_args("tiny", weights=str(weights))
    Backbone(spec)  # loads as recorded
    weights.write_bytes(weights.read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(BackboneError, match="does not match the sha256"):
        Backbone(spec)
