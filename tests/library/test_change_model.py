"""Changing a library's backbone: every photo re-encoded, search switched only when all have codes, cancel harmless."""

from __future__ import annotations

import pytest

from engine.jobs import CancelToken, Cancelled

from conftest import index_albums
from cli.test_cli import bitlens


def _active(library) -> dict:
    return library.status()["active_model"]


def test_change_backbone_switches_search_and_going_back_reuses_the_embeddings(library, photo_tree, tiny_spec, standin_spec):
    library.index([photo_tree], backbone=tiny_spec, ocr=False)
    assert _active(library)["backbone"].startswith("tiny")

    report = library.change_backbone(standin_spec)

    assert report.encoded == 9 and report.coded == 9
    assert _active(library)["backbone"].startswith("scenes-clip-tiny")
    results = library.searcher(device="cpu").search(text="a red car", limit=0)
    assert len(results) == 9  # every photo has a code of the new backbone
    assert [m["backbone"].split(" ")[0] for m in library.models()] == ["scenes-clip-tiny"]  # the old ITQ went with its model

    back = library.change_backbone(tiny_spec)

    assert back.encoded == 0 and back.coded == 9  # the tiny embeddings were kept: only codes are fitted again
    assert _active(library)["backbone"].startswith("tiny")


def test_cancelled_change_leaves_the_old_model_active_and_nothing_beside_it(library, photo_tree, tiny_spec, standin_spec):
    library.index([photo_tree], backbone=tiny_spec, ocr=False)
    before = _active(library)
    cancel = CancelToken()

    def progress(event) -> None:
        if event.stage == "encode" and event.total and event.done >= event.total:
            cancel.cancel()  # every photo encoded, the new codes not yet written

    with pytest.raises(Cancelled):
        library.change_backbone(standin_spec, progress=progress, cancel=cancel)

    assert _active(library) == before
    assert [m["id"] for m in library.models()] == [before["id"]]  # the unfinished fit is gone
    assert len(library.searcher(device="cpu").search(text="a red car", limit=0)) == 9
    # what was encoded is kept: trying again only fits and writes codes
    assert library.change_backbone(standin_spec).encoded == 0


def test_changing_to_the_backbone_in_use_is_refused(library, photo_tree, tiny_spec):
    from engine.facade import LibraryError

    library.index([photo_tree], backbone=tiny_spec, ocr=False)
    with pytest.raises(LibraryError, match="already uses tiny"):
        library.change_backbone(tiny_spec)


def test_trained_models_of_the_old_backbone_stay_listed_and_say_so(tmp_path, standin_spec):
    library = index_albums(tmp_path / "Pictures", tmp_path / "lib", 8, 2021)
    fast = {"network": {"dim": 32, "heads": 2}, "training": {"batch_size": 32, "warmup_steps": 2}, "data": {"validation_fraction": 0.2}}
    trained = library.train_model(bits=16, epochs=1, device="cpu", overrides=fast)
    library.activate_model(trained)

    library.change_backbone(standin_spec)

    rows = {m["id"]: m for m in library.models()}
    assert not rows[trained]["active"] and rows[trained]["other_backbone"]
    assert [m["other_backbone"] for m in rows.values() if m["active"]] == [False]
    library.activate_model(trained)  # activating it is changing back
    assert _active(library)["id"] == trained
    assert {m["id"]: m["other_backbone"] for m in library.models()}[trained] is False
    library.close()


def test_cli_reindex_moves_the_library_to_another_backbone(tmp_path, photo_tree, standin_spec):
    home = tmp_path / "lib"
    bitlens(home, "index", str(photo_tree), "--backbone", "tiny", "--no-ocr")

    moved = bitlens(home, "reindex", "--weights", standin_spec.weights)  # its architecture: the config beside it

    assert "search now uses scenes-clip-tiny" in moved.stdout
    assert "active model: ITQ 64-bit on scenes-clip-tiny" in bitlens(home, "status").stdout
    again = bitlens(home, "reindex", "--backbone", standin_spec.arch, "--weights", standin_spec.weights, check=False)
    assert again.returncode == 1 and "already uses scenes-clip-tiny" in again.stderr
