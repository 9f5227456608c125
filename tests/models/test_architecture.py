"""A weights file names its own architecture: read from tensor shapes, matched against the model configs."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import pytest

from conftest import STANDIN_CONFIG, STANDIN_WEIGHTS
from engine.facade import ArchitectureUnknown, weights_architecture


@pytest.fixture(scope="module")
def tiny_state(tiny_spec):
    from engine.models.backbones import Backbone

    return Backbone(tiny_spec, device="cpu").model.state_dict()


def shapes_only_file(path: Path, shapes: dict[str, tuple[int, ...]]) -> Path:
    """A safetensors header listing tensors of these shapes (no data: only the header is ever read)."""
    header = json.dumps({name: {"dtype": "F32", "shape": list(shape), "data_offsets": [0, 0]} for name, shape in shapes.items()}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header)
    return path


def open_clip_shapes(name: str) -> dict[str, tuple[int, ...]]:
    """The tensor shapes of an open_clip architecture, built on the meta device (no memory, no download)."""
    import open_clip
    import torch

    config = open_clip.get_model_config(name)
    with torch.device("meta"):
        model = open_clip.model.CLIP(**config)
    return {key: tuple(value.shape) for key, value in model.state_dict().items()}


def test_tiny_weights_are_told_as_tiny_in_safetensors_and_torch_files(tmp_path, tiny_state):
    import torch
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in tiny_state.items()}, str(tmp_path / "mine.safetensors"))
    torch.save(tiny_state, tmp_path / "mine.pt")
    torch.save({"epoch": 3, "state_dict": {f"module.{k}": v for k, v in tiny_state.items()}}, tmp_path / "checkpoint.pt")

    assert weights_architecture(str(tmp_path / "mine.safetensors")) == "tiny"
    assert weights_architecture(str(tmp_path / "mine.pt")) == "tiny"
    assert weights_architecture(str(tmp_path / "checkpoint.pt")) == "tiny"  # an open_clip training checkpoint


def test_open_clip_architectures_are_told_apart_by_their_shapes(tmp_path):
    for name in ("ViT-B-32", "ViT-B-16", "ViT-L-14-336", "RN50"):
        file = shapes_only_file(tmp_path / f"{name}.safetensors", open_clip_shapes(name))
        # -quickgelu twins share every tensor: the plain name is the answer
        assert weights_architecture(str(file)) == name


def test_the_standin_is_found_by_the_config_beside_it(tmp_path):
    if not STANDIN_WEIGHTS.is_file():
        pytest.skip("benchmark backbone not found")
    assert weights_architecture(str(STANDIN_WEIGHTS)) == str(STANDIN_CONFIG)
    alone = shutil.copy(STANDIN_WEIGHTS, tmp_path / "scenes.safetensors")
    with pytest.raises(ArchitectureUnknown, match="no known architecture has the tensors of scenes.safetensors: put its model-config .json beside it"):
        weights_architecture(str(alone))
    shutil.copy(STANDIN_CONFIG, tmp_path / "its-config.json")
    assert weights_architecture(str(alone)) == str((tmp_path / "its-config.json").resolve())


def test_junk_and_other_models_get_a_clear_message(tmp_path):
    junk = tmp_path / "holiday.safetensors"
    junk.write_bytes(b"these are not the weights you are looking for" * 100)
    with pytest.raises(ArchitectureUnknown, match="holiday.safetensors is not a weights file BitLens can read"):
        weights_architecture(str(junk))
    other = shapes_only_file(tmp_path / "resnet.safetensors", {"conv1.weight": (64, 3, 7, 7), "fc.weight": (1000, 2048)})
    with pytest.raises(ArchitectureUnknown, match="does not hold an open_clip CLIP model's tensors"):
        weights_architecture(str(other))


def test_several_fitting_architectures_are_named_and_a_typed_one_is_taken(tmp_path):
    shapes = {
        "visual.trunk.patch_embed.proj.weight": (768, 3, 16, 16),
        "text.token_embedding.weight": (32000, 768),
        "text.positional_embedding": (64, 768),
        **{f"text.transformer.resblocks.{i}.ln_1.weight": (768,) for i in range(12)},
        "text.text_projection.weight": (768, 768),
    }
    file = shapes_only_file(tmp_path / "siglip.safetensors", shapes)
    with pytest.raises(ArchitectureUnknown, match=r"fits several architectures \(.*ViT-B-16-SigLIP-384.*\): type the one it is"):
        weights_architecture(str(file))
    assert weights_architecture(str(file), typed="ViT-B-16-SigLIP-384") == "ViT-B-16-SigLIP-384"
