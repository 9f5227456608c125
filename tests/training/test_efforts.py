"""The finetune and scratch training efforts: the image tower learns with the hashing network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import index_albums, make_photo

FAST = {"network": {"dim": 32, "heads": 2}, "training": {"batch_size": 32, "warmup_steps": 2, "finetune_blocks": 1}, "data": {"validation_fraction": 0.2}}


@pytest.fixture(scope="module")
def albums_library(tmp_path_factory):
    """48 generated photos in 3 tagged albums, indexed with the tiny backbone (ITQ active)."""
    library = index_albums(tmp_path_factory.mktemp("photos") / "Pictures", tmp_path_factory.mktemp("lib"), 16, 2021)
    yield library
    library.close()


def _train_tuned(library, effort: str, bits: int):
    """Train with an effort (3 epochs); the loss must fall. Returns the model id, its backbone spec and the events."""
    from engine.library.codemodels import backbone_of
    from engine.library.schema import Model
    from engine.training.lifecycle import train_model

    events = []
    model_id = train_model(library, bits=bits, epochs=3, effort=effort, overrides=FAST, progress=events.append)
    epochs = [e.data for e in events if e.stage == "epoch"]
    assert epochs[-1]["loss"] < epochs[0]["loss"]
    with library.store.session() as session:
        return model_id, backbone_of(session.get(Model, model_id)), events


def _state(path: str) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(path)


def test_tower_features_equal_what_indexing_stores(albums_library):
    """Split anywhere, the tower computes the cached embedding and pooled tokens of a photo."""
    from engine.library.features import FeatureCache
    from engine.models.backbones import Backbone
    from engine.training.tower import ImageTower, PixelInputs, photo_paths

    spec = albums_library.current_backbone()
    backbone = Backbone(spec, device="cpu")
    with albums_library.store.raw() as db:
        hashes = [h for (h,) in db.execute("SELECT content_hash FROM images ORDER BY id LIMIT 5")]
        stored = dict(db.execute("SELECT content_hash, vector FROM embeddings WHERE backbone_key = ?", (spec.key,)))
    cache = FeatureCache(albums_library.paths.cache, spec.key)
    tokens = cache.get_tokens(hashes, backbone.embed_dim)
    cache.close()
    for blocks in (1, 2):
        tower = ImageTower(backbone.model.visual, blocks).eval()
        inputs = PixelInputs(tower, backbone, photo_paths(albums_library, hashes))
        with torch.no_grad():
            embedding, pooled = tower(inputs.batch(torch.arange(5), augment=False))
        expected = np.stack([np.frombuffer(stored[h], dtype=np.float16) for h in hashes]).astype(np.float32)
        assert np.allclose(embedding.numpy(), expected, atol=2e-3)
        assert np.allclose(pooled.numpy(), tokens, atol=2e-3)


def test_finetune_trains_the_last_blocks_and_activation_reencodes_with_them(albums_library):
    from engine.training.lifecycle import activate_model, list_models, remove_model

    base = albums_library.current_backbone()
    model_id, tuned, events = _train_tuned(albums_library, "finetune", 32)
    assert any(e.stage == "prepare" for e in events), "reading photos for the tower is reported"
    assert tuned.key != base.key and tuned.arch == base.arch and "tuned" not in base.label
    weights = _state(tuned.weights)
    from engine.models.backbones import Backbone

    original = Backbone(base, device="cpu").model.state_dict()
    last = max(int(k.split(".")[3]) for k in weights if k.startswith("visual.transformer.resblocks."))
    for name, value in weights.items():
        changed = not torch.equal(value, original[name])
        if name.startswith(f"visual.transformer.resblocks.{last}.") or name.startswith("visual.ln_post") or name == "visual.proj":
            continue
        assert not changed, f"{name} is frozen in the finetune effort but changed"
    assert any(not torch.equal(weights[k], original[k]) for k in weights if k.startswith(f"visual.transformer.resblocks.{last}."))
    # the text tower is untouched: text embeddings and tag caches stay valid
    assert all(torch.equal(weights[k], original[k]) for k in weights if not k.startswith("visual."))

    before = albums_library.searcher()
    old_id = next(m["id"] for m in list_models(albums_library) if m["active"])
    activate_model(albums_library, model_id)
    searcher = albums_library.searcher()
    assert len(searcher) == len(before) == 48 and searcher.bits == 32
    assert albums_library.current_backbone().key == tuned.key
    photo = searcher.paths[3]
    assert searcher.search(image=photo, limit=1)[0].distance == 0
    # a photo outside the library is encoded by the tuned tower too
    outside = Path(tuned.weights).parent.parent / "query.jpg"
    make_photo(outside, 5)
    assert len(searcher.search(image=str(outside), limit=5)) == 5

    # switching back, then removing the tuned model deletes its backbone file and embeddings
    activate_model(albums_library, old_id)
    remove_model(albums_library, model_id)
    assert not Path(tuned.weights).exists()
    with albums_library.store.raw() as db:
        assert db.execute("SELECT count(*) FROM embeddings WHERE backbone_key = ?", (tuned.key,)).fetchone()[0] == 0
    assert albums_library.current_backbone().key == base.key


def test_scratch_reinitialises_and_trains_the_whole_tower(albums_library):
    from engine.models.backbones import Backbone
    from engine.training.lifecycle import remove_model

    base = albums_library.current_backbone()
    model_id, tuned, _ = _train_tuned(albums_library, "scratch", 16)
    weights = _state(tuned.weights)
    original = Backbone(base, device="cpu").model.state_dict()
    visual = [k for k in weights if k.startswith("visual.") and weights[k].is_floating_point()]
    assert all(not torch.equal(weights[k], original[k]) for k in visual if k.endswith("weight") and "transformer" in k)
    remove_model(albums_library, model_id)


def test_finetune_resume_continues_the_tower_exactly(albums_library, tmp_path):
    from engine.jobs import Cancelled, CancelToken
    from engine.models.backbones import Backbone
    from engine.models.hashing import HashingConfig
    from engine.training.data import build_training_data
    from engine.training.tower import ImageTower, PixelInputs, photo_paths
    from engine.training.trainer import Trainer

    spec = albums_library.current_backbone()
    config = HashingConfig.load(overrides=FAST)

    def run(path, **kwargs):
        backbone = Backbone(spec, device="cpu")
        data = build_training_data(albums_library, spec.key, backbone.encode_texts, config.data)
        tower = ImageTower(backbone.model.visual, 1)
        pixels = PixelInputs(tower, backbone, photo_paths(albums_library, data.hashes))
        resume = kwargs.pop("resume", False)
        state = Trainer(data, config, 16, path, device="cpu", tower=tower, pixels=pixels, **kwargs).train(3, resume=resume)
        return state, tower

    straight, straight_tower = run(tmp_path / "a.safetensors")
    cancel = CancelToken()

    def stop(event):
        if event.stage == "epoch" and event.done == 1:
            cancel.cancel()

    with pytest.raises(Cancelled):
        run(tmp_path / "b.safetensors", progress=stop, cancel=cancel)
    resumed, resumed_tower = run(tmp_path / "b.safetensors", resume=True)
    for (name, a), b in zip(straight_tower.trained_state().items(), resumed_tower.trained_state().values()):
        assert torch.allclose(a, b, atol=1e-5), name
    for (name, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-5), name


def test_an_unknown_effort_is_refused_clearly(albums_library):
    from engine.training.errors import ModelError
    from engine.training.lifecycle import train_model

    with pytest.raises(ModelError, match="effort"):
        train_model(albums_library, bits=16, epochs=1, effort="everything")


def test_a_hand_added_tag_reaches_the_photos_fused_code(albums_library):
    """With fused database codes, tagging a photo by hand re-codes it at once."""
    from engine.library.codemodels import active_model, load_code_model
    from engine.library.features import FeatureCache
    from engine.library.indexing import tags_of
    from engine.codes.bits import EMBED_DTYPE
    from engine.library.schema import Code, Image
    from engine.training.lifecycle import activate_model, list_models, train_model
    from sqlalchemy import select

    old_id = next(m["id"] for m in list_models(albums_library) if m["active"])
    model_id = train_model(albums_library, bits=64, epochs=2, overrides={**FAST, "training": {**FAST["training"], "database_codes": "fused"}})
    activate_model(albums_library, model_id)
    with albums_library.store.session() as session:
        photos = session.execute(select(Image.id, Image.path, Image.content_hash).where(Image.path.like("%2021 city%")).order_by(Image.id).limit(4)).all()

    def stored() -> list[bytes]:
        with albums_library.store.session() as session:
            return [session.scalar(select(Code.code).where(Code.model_id == model_id, Code.image_id == i)) for i, _, _ in photos]

    before = stored()
    assert albums_library.add_user_tag([p for _, p, _ in photos], "beach") == 4
    after = stored()
    assert after != before, "the fused codes of the retagged photos changed"
    # and they are exactly what the model gives for the photos' new tag sets
    with albums_library.store.session() as session:
        code_model = load_code_model(active_model(session))
        key = albums_library.current_backbone().key
    with albums_library.store.raw() as db:
        embeddings = np.stack(
            [
                np.frombuffer(
                    db.execute("SELECT vector FROM embeddings WHERE content_hash = ? AND backbone_key = ?", (h, key)).fetchone()[0], dtype=EMBED_DTYPE
                )
                for _, _, h in photos
            ]
        ).astype(np.float32)
    cache = FeatureCache(albums_library.paths.cache, key)
    tokens = cache.get_tokens([h for _, _, h in photos], embeddings.shape[1])
    cache.close()
    from engine.codes.bits import codes_to_bytes, pack_bits

    expected = [
        codes_to_bytes(row, 64) for row in pack_bits(code_model.encode_images(embeddings, tokens, tags_of(albums_library.store, [i for i, _, _ in photos])))
    ]
    assert after == expected
    albums_library.remove_user_tag([p for _, p, _ in photos], "beach")
    assert stored() == before
    activate_model(albums_library, old_id)


def test_removing_a_model_in_a_copied_library_leaves_the_original_files(albums_library, tmp_path):
    import shutil

    from engine.facade import BitLens

    from engine.training.lifecycle import list_models, remove_model, train_model

    model_id = train_model(albums_library, bits=16, epochs=1, overrides=FAST)
    original = {p.name: p for p in albums_library.paths.models.glob("hashing-16bit-*.safetensors")}
    shutil.copytree(albums_library.paths.root, tmp_path / "copy")
    with BitLens(tmp_path / "copy") as copy:
        assert next(m for m in list_models(copy) if m["id"] == model_id)["size_bytes"] > 0
        remove_model(copy, model_id)
        assert not any((copy.paths.models / name).exists() for name in original)
    assert all(path.exists() for path in original.values()), "the original library's checkpoint was deleted"
    remove_model(albums_library, model_id)


def test_a_damaged_resume_checkpoint_is_a_clear_error(albums_library):
    from engine.training.errors import ModelError
    from engine.training.lifecycle import train_model

    runs = albums_library.paths.models / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    (runs / "training-head-16bit.safetensors").write_bytes(b"\x00" * 100)
    with pytest.raises(ModelError, match="cannot resume"):
        train_model(albums_library, bits=16, epochs=1, overrides=FAST, resume=True)
    (runs / "training-head-16bit.safetensors").unlink()


def test_a_moved_library_still_uses_its_tuned_backbone(albums_library, tmp_path):
    """The tuned tower's weights file travels with the library folder; its recorded absolute path need not."""
    import shutil

    from engine.facade import BitLens

    from engine.training.lifecycle import activate_model, list_models, remove_model, train_model

    old_id = next(m["id"] for m in list_models(albums_library) if m["active"])
    model_id = train_model(albums_library, bits=16, epochs=1, effort="finetune", overrides=FAST)
    activate_model(albums_library, model_id)
    shutil.copytree(albums_library.paths.root, tmp_path / "first")
    activate_model(albums_library, old_id)
    remove_model(albums_library, model_id)  # the original's tuned weights are gone now
    shutil.move(str(tmp_path / "first"), str(tmp_path / "moved"))
    with BitLens(tmp_path / "moved") as moved:
        spec = moved.current_backbone()
        assert Path(spec.weights).parent == moved.paths.models and Path(spec.weights).is_file()
        searcher = moved.searcher()
        photo = searcher.paths[0]
        assert searcher.search(image=photo, limit=1)[0].distance == 0
        outside = tmp_path / "query.jpg"
        make_photo(outside, 11)
        assert len(searcher.search(image=str(outside), limit=3)) == 3  # the tuned tower loads from the moved folder
