"""The ONNX Runtime image tower gives what the torch tower gives (int8: nearly)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def backbone(tiny_spec):
    from engine.models.backbones import Backbone

    return Backbone(tiny_spec, device="cpu")


def test_onnx_tower_matches_torch_embeddings_and_pooled_tokens(backbone, tmp_path):
    import torch

    from engine.models.onnx_tower import OnnxImageTower

    torch.manual_seed(0)
    batch = torch.randn(5, 3, backbone.image_size, backbone.image_size)
    want_emb, want_tok = backbone.encode_images_with_tokens(batch)
    fp32 = OnnxImageTower(backbone, tmp_path, int8=False)
    emb, tok = fp32.encode_images_with_tokens(batch)
    np.testing.assert_allclose(emb, want_emb, atol=2e-4)
    assert want_tok is not None and tok.shape == want_tok.shape
    np.testing.assert_allclose(tok, want_tok, atol=2e-3, rtol=1e-3)  # the 1/2/3-grid pooling, as a matrix

    int8 = OnnxImageTower(backbone, tmp_path, int8=True)
    emb8 = int8.encode_images(batch)
    cosine = np.sum(emb8 * want_emb, axis=1)
    assert cosine.min() > 0.97 and np.allclose(np.linalg.norm(emb8, axis=1), 1.0, atol=1e-5)
    assert int8.key_suffix != fp32.key_suffix


def test_export_is_cached(backbone, tmp_path):
    from engine.models.onnx_tower import OnnxImageTower

    first = OnnxImageTower(backbone, tmp_path, int8=True)
    stamp = first.path.stat().st_mtime_ns
    second = OnnxImageTower(backbone, tmp_path, int8=True)
    assert second.path == first.path and second.path.stat().st_mtime_ns == stamp
