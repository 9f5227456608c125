"""The training wizard, the Models dialog and user tags, as a person uses them (pytest-qt, offscreen)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

pytest.register_assert_rewrite("gui_fixtures")

from conftest import make_photo  # noqa: E402
from gui_fixtures import WAIT_MS  # noqa: E402

pytest_plugins = ["gui_fixtures"]

ALBUMS = {"beach": (230, 200, 120), "forest": (40, 120, 50), "city": (120, 120, 135)}
PER_ALBUM = 12
# A small, quick network for a few dozen photos (the app uses the default config).
FAST = {"network": {"dim": 32, "heads": 2}, "training": {"batch_size": 12, "warmup_steps": 2, "learning_rate": 0.003}, "data": {"validation_fraction": 0.25}}
EPOCHS = 3


def album_photo(path: Path, colour: tuple[int, int, int], seed: int) -> Path:
    """A picture dominated by the album's colour, with its own blocks and noise."""
    rng = np.random.default_rng(seed)
    base = np.array(colour, dtype=np.int16)
    blocks = np.clip(base + rng.integers(-60, 60, size=(6, 8, 3)), 0, 255).astype(np.uint8)
    image = np.asarray(Image.fromarray(blocks).resize((160, 120), Image.NEAREST), dtype=np.int16)
    pixels = np.clip(image + rng.integers(-15, 15, size=image.shape), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture(scope="module")
def tagged_template(tmp_path_factory):
    """36 photos in three albums whose folder and file names are tags, indexed with the tiny model (ITQ active)."""
    from engine.facade import BitLens

    from engine.models.backbones import BackboneSpec

    root = tmp_path_factory.mktemp("wizard") / "Pictures"
    for a, (album, colour) in enumerate(ALBUMS.items()):
        for i in range(PER_ALBUM):
            extra = ("sunset", "morning")[i % 2]
            album_photo(root / f"2021 {album}" / f"{album}_{extra}_{i:02d}.jpg", colour, 100 * a + i)
    home = root.parent / "library"
    with BitLens(home) as library:
        library.index([root], backbone=BackboneSpec.from_args("tiny"))
    return root, home


@pytest.fixture
def tagged_library(tagged_template, tmp_path):
    photos, template = tagged_template
    library = tmp_path / "library"
    shutil.copytree(template, library)
    return photos, library


def engine_models(library_dir: Path) -> list[dict]:
    from engine.facade import BitLens

    from engine.training.lifecycle import list_models

    with BitLens(library_dir) as library:
        return list_models(library)


def wait_page(qtbot, wizard, page_id: int) -> None:
    qtbot.waitUntil(lambda: wizard.currentId() == page_id, timeout=WAIT_MS)


def go_to_training(qtbot, window, epochs: int = EPOCHS):
    """Open the wizard from the menu's action and walk Data and Model; training starts."""
    wizard = window.models_menu.open_training_wizard(overrides=FAST, default_epochs=epochs)
    qtbot.waitUntil(lambda: wizard.data_page.isComplete(), timeout=WAIT_MS)
    wizard.next()
    wait_page(qtbot, wizard, wizard.MODEL)
    qtbot.waitUntil(lambda: wizard.model_page.isComplete(), timeout=WAIT_MS)
    wizard.model_page.bits.setCurrentIndex(1)  # 32 bits
    assert wizard.model_page.epochs.value() == epochs
    wizard.next()
    wait_page(qtbot, wizard, wizard.TRAIN)
    return wizard


def ranking(qtbot, window, text: str) -> list[tuple[str, int]]:
    """Ask the window for a text search now and return its ranking (path, distance)."""
    wanted = lambda page: page.query.text == text and page.distances is not None  # noqa: E731
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS, check_params_cb=wanted) as blocker:
        window.search.set_text(text)
        window.run_query()
    page = blocker.args[0]
    return list(zip(page.paths, page.distances))


def test_menu_has_one_action_each(make_window, tagged_library):
    _, library = tagged_library
    window = make_window(library)
    texts = [a.text() for a in window.menuBar().actions()]
    assert "&Models" in texts
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Models")
    assert [a.text() for a in menu.actions()] == ["Train a model…", "Models…"]


def test_wizard_trains_evaluates_and_activates(qtbot, make_window, tagged_library):
    _, library = tagged_library
    window = make_window(library)
    before = ranking(qtbot, window, "beach")
    old = next(m for m in engine_models(library) if m["active"])
    wizard = go_to_training(qtbot, window)

    # Data page saw what training will use
    overview = wizard.data_page.overview
    assert overview.photos == 36 and overview.usable_photos == 36
    assert {"beach", "forest", "city"} <= {t for t, _ in overview.top_tags}
    assert [t for t, _ in wizard.data_page.chart.bars][:3] and wizard.data_page.warnings.text() == ""
    # the time estimate is measured, not guessed
    qtbot.waitUntil(lambda: wizard.model_page.estimate_seconds is not None, timeout=WAIT_MS)
    assert 0 < wizard.model_page.estimate_seconds < 600

    session = wizard.plan.session
    page = wizard.train_page
    qtbot.waitUntil(lambda: session.state != "running", timeout=WAIT_MS)
    assert session.state == "ok", session.error
    losses = [r["loss"] for r in session.epochs]
    assert len(losses) == EPOCHS and losses[-1] < losses[0], "training must bring the loss down"
    assert len(page.loss_chart.points("loss per step")) == len(session.steps) >= EPOCHS
    assert [x for x, _ in page.val_chart.points("photo → photo")] == [1, 2, 3]
    assert "Done" in page.status.text()
    assert wizard.button(wizard.WizardButton.NextButton).isEnabled()

    wizard.next()
    wait_page(qtbot, wizard, wizard.EVALUATE)
    evaluate = wizard.evaluate_page
    qtbot.waitUntil(evaluate.isComplete, timeout=WAIT_MS)
    assert evaluate.evaluation is not None, evaluate.note.text()
    labels = [evaluate.table.verticalHeaderItem(r).text() for r in range(evaluate.table.rowCount())]
    assert labels[2:] == ["Tag → photo mAP", "Other words → photo"]  # what training costs, beside what it gains
    cells = [[evaluate.table.item(r, c).text() for c in range(3)] for r in range(4)]
    for before_text, after_text, change in cells:  # before and after are both numbers
        assert 0 <= float(before_text) <= 1 and 0 <= float(after_text) <= 1
        assert change.startswith(("+", "-"))
    assert evaluate.evaluation.by_id(old["id"]).kind == "itq"
    assert "for your tags" in evaluate.verdict.text() and "for other words" in evaluate.verdict.text()
    assert len(evaluate.pr_chart.series) == 2 and all(s.points for s in evaluate.pr_chart.series.values())
    shown = [evaluate.examples.cellWidget(0, c) for c in (1, 2)]
    assert evaluate.examples.rowCount() >= 1 and any(hit for cell in shown for _, hit in cell.results)  # ✓: a result carries the tag

    wizard.next()
    wait_page(qtbot, wizard, wizard.ACTIVATE)
    assert next(m for m in engine_models(library) if m["active"])["id"] == old["id"], "nothing switches before Activate"
    with qtbot.waitSignal(window.overview_loaded, timeout=WAIT_MS):
        wizard.activate_page.activate_button.click()
        qtbot.waitUntil(lambda: wizard.activate_page.activated, timeout=WAIT_MS)
    active = next(m for m in engine_models(library) if m["active"])
    assert active["id"] == session.model_id and active["kind"] == "hashing" and active["bits"] == 32
    assert window.overview.status["active_model"]["bits"] == 32
    after = ranking(qtbot, window, "beach")
    assert window.last_page.bits == 32
    assert after != before and len(after) == len(before) == 36


def test_cancel_keeps_the_previous_model_and_search(qtbot, make_window, tagged_library):
    _, library = tagged_library
    window = make_window(library)
    old = engine_models(library)
    wizard = go_to_training(qtbot, window, epochs=200)
    session = wizard.plan.session
    qtbot.waitUntil(lambda: len(session.steps) >= 2, timeout=WAIT_MS)
    # meanwhile the status bar shows the run, and the window still answers searches
    assert window.status.job_label.isVisible() and "Training" in window.status.job_label.text()
    results = ranking(qtbot, window, "forest")
    assert len(results) == 36
    wizard.train_page.cancel_button.click()
    qtbot.waitUntil(lambda: session.state == "cancelled", timeout=WAIT_MS)
    assert "cancelled" in wizard.train_page.status.text() and "stays active" in wizard.train_page.status.text()
    assert not wizard.button(wizard.WizardButton.NextButton).isEnabled()
    assert wizard.train_page.retry_button.isVisible()
    assert engine_models(library) == old
    assert ranking(qtbot, window, "forest") == results


def test_closing_the_wizard_keeps_training_with_progress_in_the_status_bar(qtbot, make_window, tagged_library):
    _, library = tagged_library
    window = make_window(library)
    wizard = go_to_training(qtbot, window, epochs=6)
    session = wizard.plan.session
    qtbot.waitUntil(lambda: len(session.steps) >= 1, timeout=WAIT_MS)
    wizard.close()
    assert not wizard.isVisible() and session.running
    qtbot.waitUntil(lambda: window.status.job_label.isVisible() and "Training" in window.status.job_label.text(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: session.state != "running", timeout=WAIT_MS)
    assert session.state == "ok", session.error
    assert "Training finished" in window.status.message.text()
    reopened = window.open_training_wizard()
    assert reopened is wizard and reopened.currentId() == wizard.TRAIN
    assert len(reopened.train_page.loss_chart.points("loss per step")) == len(session.steps)
    assert any(m["id"] == session.model_id and not m["active"] for m in engine_models(library))


def test_no_tagged_photos_gives_a_clear_message(qtbot, make_window, tmp_path):
    from engine.facade import BitLens

    from engine.models.backbones import BackboneSpec

    for i in range(8):
        make_photo(tmp_path / "DCIM" / f"IMG_{i:04d}.jpg", i)
    with BitLens(tmp_path / "library") as library:
        library.index([tmp_path / "DCIM"], backbone=BackboneSpec.from_args("tiny"))
    window = make_window(tmp_path / "library")
    old = engine_models(tmp_path / "library")
    wizard = go_to_training(qtbot, window)
    data_page = wizard.data_page
    assert data_page.overview.usable_photos == 0 and "training needs at least 20" in data_page.warnings.text()
    qtbot.waitUntil(lambda: wizard.plan.session.state != "running", timeout=WAIT_MS)
    assert wizard.plan.session.state == "failed"
    text = wizard.train_page.status.text()
    assert "Training could not start" in text and "have tags" in text
    assert not wizard.button(wizard.WizardButton.NextButton).isEnabled()
    assert engine_models(tmp_path / "library") == old


def test_default_epochs_shrink_for_a_large_library_but_a_chosen_number_stays(qtbot, make_window, tagged_library):
    _, home = tagged_library
    window = make_window(home)
    # 36 photos in batches of 12 are 3 steps a pass; a budget of 12 steps allows 4 passes of the config's 30
    budget = {**FAST, "training": {**FAST["training"], "max_steps": 12, "min_epochs": 2}}
    wizard = window.models_menu.open_training_wizard(overrides=budget)
    qtbot.waitUntil(lambda: wizard.data_page.isComplete(), timeout=WAIT_MS)
    wizard.next()
    wait_page(qtbot, wizard, wizard.MODEL)
    assert wizard.model_page.epochs.value() == 4
    wizard.model_page.epochs.setValue(9)  # the user's number
    wizard.back()
    wizard.next()
    wait_page(qtbot, wizard, wizard.MODEL)
    assert wizard.model_page.epochs.value() == 9
    wizard.close()


def test_keeping_what_the_backbone_knows_trains_with_its_distillation_weight(qtbot, make_window, tagged_library):
    from engine.facade import BitLens

    from engine.library.schema import Model

    _, library = tagged_library
    window = make_window(library)
    wizard = window.models_menu.open_training_wizard(overrides=FAST, default_epochs=1)
    qtbot.waitUntil(lambda: wizard.data_page.isComplete(), timeout=WAIT_MS)
    wizard.next()
    wait_page(qtbot, wizard, wizard.MODEL)
    page = wizard.model_page
    assert page.keep.currentText() == "Follow my tags"  # the default follows the library's tags
    assert "accuracy on your own tag words" in page.keep_note.text()
    wizard.resize(800, 500)  # a small screen: the page scrolls, no note is squeezed into fewer lines
    qtbot.waitUntil(lambda: page.keep_note.width() < 700, timeout=WAIT_MS)
    for note in (page.keep_note, page.backbone_note, *page.effort_notes.values()):
        assert note.height() >= note.heightForWidth(note.width()), note.text()
    page.keep.setCurrentIndex(page.keep.findData("backbone"))
    wizard.next()
    wait_page(qtbot, wizard, wizard.TRAIN)
    session = wizard.plan.session
    qtbot.waitUntil(lambda: session.state != "running", timeout=WAIT_MS)
    assert session.state == "ok", session.error
    with BitLens(library) as lib, lib.store.session() as db:
        config = json.loads(db.get(Model, session.model_id).config)["hashing"]
    assert config["loss_weights"]["distillation"] == 4.0
    assert FAST["network"]["dim"] == config["network"]["dim"]  # the test's own overrides are kept beside it
    wizard.close()


def test_engine_refusing_an_effort_is_said_plainly(qtbot, make_window, tagged_library, monkeypatch):
    # an engine build that trains only the head (e.g. without pixel access)
    monkeypatch.setattr("engine.training.lifecycle.EFFORTS", ("head",))
    missing = ["finetune"]
    _, library = tagged_library
    window = make_window(library)
    wizard = window.models_menu.open_training_wizard(overrides=FAST, default_epochs=1)
    qtbot.waitUntil(lambda: wizard.data_page.isComplete(), timeout=WAIT_MS)
    wizard.next()
    qtbot.waitUntil(lambda: wizard.model_page.isComplete(), timeout=WAIT_MS)
    wizard.model_page.effort_buttons[missing[0]].setChecked(True)
    assert "not available in this version" in wizard.model_page.effort_buttons[missing[0]].text()
    assert "cannot train" in wizard.model_page.estimate_label.text()
    wizard.next()
    qtbot.waitUntil(lambda: wizard.plan.session is not None and wizard.plan.session.state == "failed", timeout=WAIT_MS)
    assert "The engine refused" in wizard.train_page.status.text() and missing[0] in wizard.train_page.status.text()


def test_trained_models_dialog_renames_deletes_and_protects_the_active_model(qtbot, make_window, tagged_library):
    from engine.facade import BitLens

    from engine.training.lifecycle import train_model

    _, library = tagged_library
    with BitLens(library) as lib:
        trained = train_model(lib, bits=16, epochs=1, overrides=FAST)
    checkpoint = next(Path(p) for p in (library / "models").glob("hashing-16bit-*.safetensors"))
    window = make_window(library)
    dialog = window.open_models()
    qtbot.waitUntil(lambda: len(dialog.rows) == 2, timeout=WAIT_MS)
    active_row = next(r for r, m in enumerate(dialog.rows) if m["active"])
    dialog.table.selectRow(active_row)
    assert not dialog.delete_button.isEnabled() and "cannot be deleted" in dialog.delete_button.toolTip()
    assert dialog.table.item(active_row, 7).text() == "active"

    dialog.select_model(trained)
    assert dialog.delete_button.isEnabled() and dialog.activate_button.isEnabled()
    dialog.ask_name = lambda current: "  My   beach model "
    dialog.rename_button.click()
    qtbot.waitUntil(lambda: any(m["name"] == "My beach model" for m in dialog.rows), timeout=WAIT_MS)
    assert next(m for m in engine_models(library) if m["id"] == trained)["name"] == "My beach model"

    dialog.select_model(trained)
    dialog.confirm = lambda title, text: "photos are not touched" in text
    dialog.delete_button.click()
    qtbot.waitUntil(lambda: len(dialog.rows) == 1, timeout=WAIT_MS)
    assert [m["kind"] for m in engine_models(library)] == ["itq"] and not checkpoint.exists()
    assert len(list((tagged_library[0]).rglob("*.jpg"))) == 36  # the photos are untouched


def test_user_tags_from_the_preview_pane_count_in_training(qtbot, make_window, tagged_library):
    from engine.facade import BitLens

    from engine.training.tag_stats import tag_overview

    photos, library = tagged_library
    window = make_window(library)
    window.grid.setFocus()
    qtbot.waitUntil(lambda: window.results.rowCount() == 36, timeout=WAIT_MS)
    window.grid.setCurrentIndex(window.results.index(0))
    path = window.grid.current_path()
    qtbot.waitUntil(lambda: window.preview.details is not None and window.preview.details["path"] == path, timeout=WAIT_MS)
    editor = window.preview.tag_editor
    editor.field.setText("  Sand   castle ")
    editor.add_button.click()
    qtbot.waitUntil(lambda: editor.user_tags == ["Sand castle"] or "Could not" in editor.message.text(), timeout=WAIT_MS)
    assert editor.user_tags == ["Sand castle"], editor.message.text()
    assert "Sand castle" in window.preview.tags.text() and "you" in window.preview.tags.text()
    with BitLens(library) as lib:
        assert {"tag": "Sand castle", "source": "user"} in lib.photo(path)["tags"]
        assert dict(tag_overview(lib, ["user"]).top_tags) == {"Sand castle": 1}
        lib.scan()  # a rescan keeps the user's tags
        assert {"tag": "Sand castle", "source": "user"} in lib.photo(path)["tags"]
    remove = editor.findChild(type(editor.add_button).__mro__[1], "remove-tag:Sand castle")
    assert remove is not None
    remove.click()
    qtbot.waitUntil(lambda: editor.user_tags == [], timeout=WAIT_MS)
    with BitLens(library) as lib:
        assert all(t["source"] != "user" for t in lib.photo(path)["tags"])
        assert any(t["source"] == "folder" for t in lib.photo(path)["tags"])  # tags read from the files stay


def test_tag_warnings_spot_dates_cameras_and_a_dominant_tag():
    from engine.training.tag_stats import looks_like_camera, looks_like_date

    assert all(looks_like_date(t) for t in ("2019", "2019-07", "12.03.2018", "July 2019"))
    assert not any(looks_like_date(t) for t in ("beach", "route 66", "dog", "octopus", "marsupial", "decoration"))
    assert all(looks_like_camera(t) for t in ("Canon EOS 5D", "iPhone 12", "DSC-RX100", "NIKON D750"))
    assert not any(looks_like_camera(t) for t in ("beach", "sunset", "grandma"))


def test_models_dialog_marks_models_of_another_backbone(qtbot, runner):
    """After a change of model, trained models of the old backbone stay listed and say why they are not in use."""
    from desktop_app.wizard.trained_models_dialog import COLUMNS, TrainedModelsDialog

    dialog = TrainedModelsDialog(runner)
    qtbot.addWidget(dialog)
    base = {"kind": "hashing", "bits": 64, "created_at": 0.0, "metrics": {}, "size_bytes": 1000}
    dialog._show(
        [
            {**base, "id": 1, "name": "Trained on tiny", "backbone": "tiny", "active": False, "other_backbone": True},
            {**base, "id": 2, "name": "ITQ on the stand-in", "kind": "itq", "backbone": "scenes-clip-tiny", "active": True, "other_backbone": False},
        ]
    )
    state = COLUMNS.index("State")
    assert [dialog.table.item(r, state).text() for r in range(2)] == ["for another backbone", "active"]
