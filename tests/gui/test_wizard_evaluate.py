"""The wizard's one training score, its Evaluate page as seen on screen, and sub-folders on its Data page (pytest-qt)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

pytest.register_assert_rewrite("gui_fixtures")

from gui import test_wizard  # noqa: E402 - its tagged library and its walk to the Train page
from gui_fixtures import WAIT_MS  # noqa: E402
from gui.test_wizard import FAST, go_to_training, wait_page  # noqa: E402

pytest_plugins = ["gui_fixtures"]

tagged_template = test_wizard.tagged_template  # 36 photos in three albums, indexed once for this module
tagged_library = test_wizard.tagged_library


def header_fits(table) -> list[str]:
    """The header texts (column and row) that their sections are too narrow to show in full."""
    clipped = []
    columns, rows = table.horizontalHeader(), table.verticalHeader()
    for c in range(table.columnCount()):
        text = table.horizontalHeaderItem(c).text()
        if columns.sectionSize(c) < columns.fontMetrics().horizontalAdvance(text):
            clipped.append(text)
    if rows.isVisible():
        for r in range(table.rowCount()):
            text = table.verticalHeaderItem(r).text()
            if rows.width() < rows.fontMetrics().horizontalAdvance(text):
                clipped.append(text)
    return clipped


def rows_height(table) -> int:
    return table.horizontalHeader().height() + sum(table.rowHeight(r) for r in range(table.rowCount())) + 2 * table.frameWidth()


def test_chart_models_list_and_evaluate_show_one_score_and_the_page_fits(qtbot, make_window, tagged_library):
    from desktop_app.wizard.trained_models_dialog import COLUMNS

    _, library = tagged_library
    window = make_window(library)
    wizard = go_to_training(qtbot, window)
    session = wizard.plan.session
    qtbot.waitUntil(lambda: session.state != "running", timeout=WAIT_MS)
    assert session.state == "ok", session.error
    chart = wizard.train_page.val_chart
    last_photo, last_tag = chart.points("photo → photo")[-1][1], chart.points("tag → photo")[-1][1]

    wizard.next()
    wait_page(qtbot, wizard, wizard.EVALUATE)
    page = wizard.evaluate_page
    qtbot.waitUntil(page.isComplete, timeout=WAIT_MS)
    assert page.evaluation is not None, page.note.text()
    after = page.evaluation.by_id(session.model_id)
    # one score: the chart's last epoch is Evaluate's "after", figure for figure
    assert (last_photo, last_tag) == (after.image_map, after.text_map)
    rows = {page.table.verticalHeaderItem(r).text(): r for r in range(page.table.rowCount())}
    assert page.table.item(rows["Photo → photo mAP"], 1).text() == f"{after.image_map:.3f}"
    assert page.table.item(rows["Tag → photo mAP"], 1).text() == f"{after.text_map:.3f}"
    dialog = window.open_models()
    qtbot.waitUntil(lambda: any(m["id"] == session.model_id for m in dialog.rows), timeout=WAIT_MS)
    listed = next(r for r, m in enumerate(dialog.rows) if m["id"] == session.model_id)
    assert dialog.table.item(listed, COLUMNS.index("Held-out mAP")).text() == f"photo {after.image_map:.3f} · tag {after.text_map:.3f}"
    dialog.close()

    # examples are thumbnails, each marked ✓ or ✗, with the file name in its tooltip
    assert page.examples.rowCount() >= 1
    for r in range(page.examples.rowCount()):
        for c in (1, 2):
            cell = page.examples.cellWidget(r, c)
            assert cell.labels and all(not label.pixmap().isNull() for label in cell.labels)
            assert all(label.toolTip().endswith(".jpg") for label in cell.labels)
    assert set(page.thumbnails) == {p for e in page.evaluation.examples for res in e["results"].values() for p, _ in res}
    assert all(not image.isNull() and max(image.width(), image.height()) > 40 for image in page.thumbnails.values())

    for size in ((900, 620), (800, 500)):  # the wizard's default size, and a small screen
        wizard.resize(*size)
        qtbot.waitUntil(lambda: wizard.width() <= max(size[0], wizard.minimumSizeHint().width()), timeout=WAIT_MS)
        qtbot.wait(50)
        assert header_fits(page.table) == [] and header_fits(page.examples) == [], size
        # the tables are as tall as their rows: no empty strip below them
        assert page.table.height() == rows_height(page.table) and page.examples.height() == rows_height(page.examples), size
        assert page.table.viewport().height() == sum(page.table.rowHeight(r) for r in range(page.table.rowCount()))

    wizard.next()
    wait_page(qtbot, wizard, wizard.ACTIVATE)
    assert wizard.plan.verdict and wizard.plan.verdict in wizard.activate_page.explain.text()


def scores(tags: float, photos: float, words: float):
    return SimpleNamespace(text_map=tags, image_map=photos, other_words_map=words)


def test_verdict_weighs_photo_queries_too():
    from desktop_app.wizard.evaluate_page import verdict

    mixed = verdict(scores(0.30, 0.20, 0.80), scores(0.25, 0.30, 0.80))
    assert mixed == "Mixed: the new model is better for searching by a photo, worse for your tags and about the same for other words."
    assert verdict(scores(0.30, 0.20, 0.80), scores(0.40, 0.30, 0.805)).startswith("Better: the new model is better for your tags and for searching by a photo")
    assert verdict(scores(0.30, 0.20, 0.80), scores(0.20, 0.20, 0.70)).startswith("Worse:")
    assert verdict(scores(0.30, 0.20, 0.80), scores(0.305, 0.195, 0.80)) == (
        "About the same: the new model is about the same for your tags and for searching by a photo and for other words."
    )


def test_choosing_a_sub_folder_narrows_the_data_page_and_the_training_choice(qtbot, make_window, tagged_library):
    from PySide6.QtCore import Qt

    photos, library = tagged_library
    window = make_window(library)
    wizard = window.models_menu.open_training_wizard(overrides=FAST, default_epochs=1)
    page = wizard.data_page
    qtbot.waitUntil(lambda: page.isComplete(), timeout=WAIT_MS)
    assert page.overview.photos == 36 and page.choice().folders == []
    root = photos.resolve()
    top = page.folder_item(str(root))
    assert top is not None and top.childCount() == 3  # the three albums below the library folder
    for album in ("2021 forest", "2021 city"):
        page.folder_item(str(root / album)).setCheckState(0, Qt.CheckState.Unchecked)
    assert top.checkState(0) == Qt.CheckState.PartiallyChecked
    qtbot.waitUntil(lambda: page.overview is not None and page.overview.photos == 12, timeout=WAIT_MS)
    assert page.choice().folders == [str(root / "2021 beach")]
    assert "forest" not in {t for t, _ in page.overview.top_tags} and "beach" in {t for t, _ in page.overview.top_tags}
    page.folder_item(str(root / "2021 beach")).setCheckState(0, Qt.CheckState.Unchecked)
    qtbot.waitUntil(lambda: page.numbers.text() == "Tick at least one folder.", timeout=WAIT_MS)
    assert not page.isComplete()
    top.setCheckState(0, Qt.CheckState.Checked)  # ticking the library folder ticks every album again
    qtbot.waitUntil(lambda: page.overview is not None and page.overview.photos == 36, timeout=WAIT_MS)
    assert page.choice().folders == []
