"""The model as a user changes it in the window (issue 19, point 4): Change model and re-index…, and weights
files that name their own architecture in the first-run and Model files dialogs."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

pytest.register_assert_rewrite("gui_fixtures")

from conftest import STANDIN_CONFIG, STANDIN_WEIGHTS
from gui_fixtures import WAIT_MS

pytest_plugins = ["gui_fixtures"]


def standin_or_skip() -> None:
    if not STANDIN_WEIGHTS.is_file():
        pytest.skip("benchmark backbone not found")


def open_settings_on(qtbot, window):
    from desktop_app.settings_dialog import SettingsDialog

    window.open_settings()
    return window.findChildren(SettingsDialog)[-1]


def choose_standin(dialog) -> None:
    """Type the stand-in backbone into the settings' model fields, as a user would."""
    from desktop_app import settings as s

    dialog._editors[s.BACKBONE.key][1].setEditText(str(STANDIN_CONFIG))
    dialog._editors[s.WEIGHTS.key][1].setText(str(STANDIN_WEIGHTS))


def active_backbone(library: Path) -> str:
    from engine.facade import BitLens

    with BitLens(library) as lib:
        return lib.status()["active_model"]["backbone"]


def model_count(library: Path) -> int:
    from engine.facade import BitLens

    with BitLens(library) as lib:
        return len(lib.models())


def test_change_model_and_reindex_from_settings(qtbot, make_window, indexed_library):
    standin_or_skip()
    _photos, library = indexed_library
    window = make_window(library)
    asked: list[tuple[str, str]] = []
    window.confirm = lambda title, text: asked.append((title, text)) or True
    dialog = open_settings_on(qtbot, window)
    assert "This library's model: tiny" in dialog.model_in_use.text()
    choose_standin(dialog)

    with qtbot.waitSignal(window.model_change.ended, timeout=WAIT_MS) as ended:
        dialog.change_button.click()

    assert ended.args[0].outcome == "ok"
    title, text = asked[0]
    assert "scenes-clip-tiny" in title and "13 photos" in text and "Search keeps using tiny" in text
    qtbot.waitUntil(lambda: "model: scenes-clip-tiny, 64 bits" in window.status.stats.text(), timeout=WAIT_MS)
    assert active_backbone(library).startswith("scenes-clip-tiny")
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS, check_params_cb=lambda page: page.distances is not None) as shown:
        window.search.set_text("a beach")
    assert len(shown.args[0].paths) == 13  # every photo has a code of the new model


def test_cancelled_change_keeps_the_old_model(qtbot, make_window, indexed_library, monkeypatch):
    standin_or_skip()
    from desktop_app import operations as ops

    _photos, library = indexed_library
    window = make_window(library)
    window.confirm = lambda title, text: True
    clicked = threading.Event()
    real_change = ops.change_backbone

    def change_waiting_for_cancel(ctx, options):
        """The real change, pausing once every photo is encoded until the user has clicked Cancel."""
        forward = ctx.progress

        def progress(event) -> None:
            forward(event)
            if event.stage == "encode" and event.total and event.done >= event.total:
                clicked.wait(WAIT_MS / 1000)

        ctx.progress = progress
        return real_change(ctx, options)

    monkeypatch.setattr(ops, "change_backbone", change_waiting_for_cancel)
    dialog = open_settings_on(qtbot, window)
    choose_standin(dialog)
    with qtbot.waitSignal(window.model_change.ended, timeout=WAIT_MS) as ended:
        dialog.change_button.click()
        job = window.model_change.job
        qtbot.waitUntil(lambda: job.last_progress is not None and job.last_progress.stage == "encode" and job.last_progress.done > 0, timeout=WAIT_MS)
        assert window.status.current() is job and window.status.cancel.isVisible()
        window.status.cancel.click()
        clicked.set()

    assert ended.args[0].outcome == "cancelled"
    assert "cancelled" in window.status.message.text() and "keeps the model it had" in window.status.message.text()
    assert "model: tiny" in window.status.stats.text()
    assert active_backbone(library).startswith("tiny") and model_count(library) == 1  # nothing half-made beside it
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS, check_params_cb=lambda page: page.distances is not None) as shown:
        window.search.set_text("a beach")
    assert len(shown.args[0].paths) == 13


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory) -> Path:
    """The tiny backbone's weights saved as a file, as a user might have copied it from elsewhere."""
    from safetensors.torch import save_file

    from engine.models.backbones import Backbone, BackboneSpec

    state = Backbone(BackboneSpec.from_args("tiny"), device="cpu").model.state_dict()
    path = tmp_path_factory.mktemp("weights") / "my-model.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    return path


def test_first_run_fills_the_architecture_from_the_weights_file(qtbot, make_window, tiny_weights, tmp_path):
    from desktop_app.first_run import FirstRunDialog

    window = make_window()
    dialog = FirstRunDialog(window.runner, hub_reachable=False, pick_file=lambda *_: str(tiny_weights), parent=window)
    assert dialog.arch.text() == "ViT-B-32"  # nothing typed: the default stands until a file says otherwise
    with qtbot.waitSignal(dialog.chosen, timeout=WAIT_MS) as chosen:
        dialog.import_button.click()
    assert dialog.arch.text() == "tiny"
    assert chosen.args[0].backbone == "tiny" and chosen.args[0].weights == str(tiny_weights)

    junk = tmp_path / "holiday.safetensors"
    junk.write_bytes(b"not weights at all" * 50)
    again = FirstRunDialog(window.runner, hub_reachable=False, pick_file=lambda *_: str(junk), parent=window)
    again.import_button.click()
    qtbot.waitUntil(lambda: "cannot be used" in again.import_state.text(), timeout=WAIT_MS)
    assert "holiday.safetensors is not a weights file BitLens can read" in again.import_state.text()
    assert again.choice is None and again.import_button.isEnabled()
    again.reject()


def test_settings_fill_the_model_from_a_chosen_weights_file(qtbot, make_window, indexed_library, monkeypatch):
    standin_or_skip()
    from desktop_app import settings as s

    _photos, library = indexed_library
    window = make_window(library)
    dialog = open_settings_on(qtbot, window)
    monkeypatch.setattr("desktop_app.settings_dialog.QFileDialog.getOpenFileName", lambda *_a, **_k: (str(STANDIN_WEIGHTS), ""))
    combo = dialog._editors[s.BACKBONE.key][1]
    weights_row = dialog._editors[s.WEIGHTS.key][1].parentWidget()
    browse = [b for b in weights_row.findChildren(type(dialog.change_button)) if b.text() == "Browse…"][0]
    browse.click()
    qtbot.waitUntil(lambda: combo.currentText() == str(STANDIN_CONFIG), timeout=WAIT_MS)
    assert "scenes-clip-tiny model" in dialog.architecture_note.text()
    dialog.reject()


def test_model_files_refuses_a_file_of_another_architecture(qtbot, make_window, indexed_library, tiny_weights, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    _photos, library = indexed_library
    window = make_window(library)
    dialog = open_settings_on(qtbot, window)
    models = dialog.open_models()
    models._pick_file = lambda *_: str(tiny_weights)
    qtbot.waitUntil(lambda: models.selected_name() is not None, timeout=WAIT_MS)
    selected = models.selected_name()
    models.import_button.click()
    qtbot.waitUntil(lambda: "cannot be used" in models.state.text(), timeout=WAIT_MS)
    assert f"my-model.safetensors is a tiny model, not {selected.split('/')[0]}" in models.state.text()
    assert not (tmp_path / "hf-cache").exists() or not any((tmp_path / "hf-cache").rglob("*.safetensors"))
    dialog.reject()
