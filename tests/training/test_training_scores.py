"""One training score: the trainer's last epoch, the Models list and Evaluate's "after" agree; sub-folders narrow training."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import index_albums, make_photo

FAST = {"network": {"dim": 32, "heads": 2}, "training": {"batch_size": 32, "warmup_steps": 2}, "data": {"validation_fraction": 0.2}}


@pytest.fixture(scope="module")
def albums(tmp_path_factory):
    """60 generated photos in 3 tagged albums below one library folder, indexed with the tiny backbone (ITQ active)."""
    root = tmp_path_factory.mktemp("photos") / "Pictures"
    library = index_albums(root, tmp_path_factory.mktemp("lib"), 20, 2020)
    yield root, library
    library.close()


def test_last_epoch_models_list_and_evaluation_report_the_same_held_out_figures(albums):
    _, library = albums
    events = []
    model_id = library.train_model(bits=32, epochs=2, overrides=FAST, progress=events.append)
    last_epoch = [e.data for e in events if e.stage == "epoch"][-1]
    listed = next(m for m in library.models() if m["id"] == model_id)["metrics"]
    before = next(m for m in library.models() if m["active"])
    evaluation = library.evaluate_models(model_id, [before["id"]])
    after = evaluation.by_id(model_id)
    for key in ("image_map", "image_p10", "text_map"):
        assert last_epoch[key] == listed[key] == getattr(after, key), key
    # the trainer's tag queries are single tags over the held-out photos, as Evaluate asks them
    assert evaluation.tag_queries >= 3 and evaluation.held_out == 12
    assert 0 <= evaluation.by_id(before["id"]).text_map <= 1


def test_a_sub_folder_narrows_the_counts_and_the_training_photos(albums, tmp_path):
    from engine.facade import BitLens
    from engine.models.backbones import Backbone, BackboneSpec
    from engine.models.hashing import HashingConfig
    from engine.training.data import build_training_data

    root, library = albums
    beach = root / "2020 beach"
    assert library.tag_overview(folders=[str(beach)]).photos == 20
    assert library.tag_overview(folders=[str(root)]).photos == 60
    spec = library.current_backbone()
    config = HashingConfig.load(overrides=FAST)
    data = build_training_data(library, spec.key, Backbone(spec).encode_texts, config.data, folders=[str(beach), str(root / "2020 city")])
    assert len(data.hashes) == 40 and "forest" not in data.vocabulary

    # a folder is a prefix ending in the separator, compared case for case: neither "Trips 2" nor "trips" is below "Trips"
    trips = tmp_path / "More"
    for name, seed in (("Trips", 1), ("Trips 2", 2), ("trips", 3)):
        for i in range(2):
            make_photo(trips / name / f"photo_{i}.jpg", 10 * seed + i)
    with BitLens(tmp_path / "lib") as other:
        other.index([trips], backbone=BackboneSpec.from_args("tiny"))
        assert other.tag_overview(folders=[str(trips / "Trips")]).photos == 2
        assert other.tag_overview(folders=[str(trips / "Trips") + "/"]).photos == 2
        assert other.tag_overview(folders=[str(Path(trips / "trips")), str(trips / "Trips 2")]).photos == 4
