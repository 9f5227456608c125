"""What a newcomer trusts in the window (issue 19): results from the top, an honest preview,
a filter row that fits, counts that match the grid, dates, a visible model."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

pytest.register_assert_rewrite("gui_fixtures")

from gui_fixtures import WAIT_MS

pytest_plugins = ["gui_fixtures"]


def next_page(qtbot, window, check=lambda page: True, action=lambda: None):
    """Do `action` and return the next result page that satisfies `check`."""
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS, check_params_cb=check) as blocker:
        action()
    return blocker.args[0]


def ranked(page) -> bool:
    return page.distances is not None


# -- 1. a new query starts at the top with nothing selected --------------------------------------


def test_new_query_starts_at_the_top_with_nothing_selected(qtbot, make_window, indexed_library):
    _photos, library = indexed_library
    window = make_window(library)
    window.resize(520, 420)  # small enough that 13 thumbnails need scrolling
    next_page(qtbot, window)
    last = window.results.rowCount() - 1
    window.grid.setCurrentIndex(window.results.index(last))  # the user scrolled down and picked a photo
    qtbot.waitUntil(lambda: window.grid.verticalScrollBar().value() > 0, timeout=5000)

    page = next_page(qtbot, window, ranked, lambda: window.search.set_text("sunny beach"))
    assert page.paths[last] != page.paths[0]
    assert not window.grid.currentIndex().isValid(), "the previous query's photo is still chosen"
    assert not window.grid.selectionModel().hasSelection()
    assert window.grid.verticalScrollBar().value() == 0, "the grid scrolled away from the best matches"
    # Down from the search bar still picks the best match for Enter
    window.search.move_to_results.emit()
    assert window.grid.currentIndex().row() == 0

    # the same question answered again (indexing, re-coding) keeps the user's place
    window.grid.setCurrentIndex(window.results.index(last))
    chosen = window.grid.current_path()
    next_page(qtbot, window, ranked, window.run_query)
    assert window.grid.current_path() == chosen


# -- 2. the preview's distance belongs to the result set on screen -------------------------------


def test_preview_distance_follows_every_result_set(qtbot, make_window, indexed_library):
    _photos, library = indexed_library
    window = make_window(library)
    next_page(qtbot, window)
    page = next_page(qtbot, window, ranked, lambda: window.search.set_text("sunny beach"))
    window.grid.setCurrentIndex(window.results.index(3))
    path = window.grid.current_path()
    assert window.preview.distance.text().startswith(f"{page.distances[3]} of 64 bits")

    # the same query answered again with other codes: the photo stays, its distance is the new one
    moved = list(page.distances)
    moved[3] = page.distances[3] + 7
    window._show_page(dataclasses.replace(page, distances=moved))
    assert window.grid.current_path() == path
    assert window.preview.distance.text().startswith(f"{moved[3]} of 64 bits")

    # browsing (no query): the same photo chosen again has no distance row at all
    next_page(qtbot, window, lambda p: p.distances is None, lambda: window.search.set_text(""))
    assert window.preview.path is None, "the preview still shows a photo of the previous query"
    window.grid.setCurrentIndex(window.results.index(window.results.row_of(path)))
    assert window.preview.path == path
    assert not window.preview.distance.isVisible() and "differ" not in window.preview.distance.text()


# -- 3. the filter row fits and holds still ------------------------------------------------------


def filter_geometry(bar) -> dict[str, tuple[int, int, int, int]]:
    from PySide6.QtCore import QPoint

    out = {}
    for name in ("tags", "after", "before", "type", "cutoff", "slider", "radius_label", "sort"):
        widget = getattr(bar, name)
        top_left = widget.mapTo(bar, QPoint(0, 0))
        out[name] = (top_left.x(), top_left.y(), widget.width(), widget.height())
    return out


@pytest.mark.parametrize("size", [(1280, 800), (800, 500)])
def test_filter_row_fits_and_does_not_shift(qtbot, make_window, size):
    from PySide6.QtWidgets import QApplication

    window = make_window()
    window.resize(*size)
    qtbot.waitUntil(lambda: window.width() == size[0], timeout=5000)
    QApplication.processEvents()
    bar = window.filters_bar
    metrics = bar.fontMetrics()
    for edit in (bar.tags, bar.after, bar.before):  # every placeholder readable in full
        assert edit.width() >= metrics.horizontalAdvance(edit.placeholderText()) + 12, edit.placeholderText()
    for name, (x, y, w, h) in filter_geometry(bar).items():  # nothing cut off at the bar's edges
        assert x >= 0 and y >= 0 and x + w <= bar.width() and y + h <= bar.height(), name
    assert bar.cutoff.width() >= bar.cutoff.sizeHint().width()

    before = filter_geometry(bar)
    bar.cutoff.setChecked(True)
    QApplication.processEvents()
    assert filter_geometry(bar) == before, "ticking “Close matches only” moved or squeezed the fields"
    for value in (0, 7, 24, 64):  # dragging the slider: its label changes, the row holds still
        bar.slider.setValue(value)
        QApplication.processEvents()
        assert filter_geometry(bar) == before
    assert bar.radius_label.text().startswith("≤ 64 of 64 bits")


# -- 8. the status bar counts what the grid shows ------------------------------------------------


def test_status_counts_match_the_grid_under_filters_folders_and_cutoff(qtbot, make_window, indexed_library, monkeypatch):
    photos, library = indexed_library
    window = make_window(library)
    next_page(qtbot, window)
    message = window.status.message

    page = next_page(qtbot, window, ranked, lambda: window.search.set_text("sunny beach"))
    assert len(page.paths) == 13 and message.text().startswith("13 photos — ")

    # a tag filter leaves one photo: not "top 1 of 13"
    page = next_page(
        qtbot,
        window,
        lambda p: ranked(p) and p.query.filters.tags == ("waves",),
        lambda: window.filters_bar.tags.setText("waves") or window.filters_bar.tags.returnPressed.emit(),
    )
    assert len(page.paths) == 1 and message.text().startswith("1 photo — "), message.text()
    window.filters_bar.tags.setText("")

    # a page shorter than the matches says both numbers, and they are the grid's
    from desktop_app import operations

    monkeypatch.setattr(operations, "RESULT_LIMIT", 4)
    page = next_page(qtbot, window, lambda p: ranked(p) and not p.query.filters.tags, window.filters_bar.tags.returnPressed.emit)
    monkeypatch.undo()
    assert len(page.paths) == 4 and message.text().startswith("Top 4 of 13 matching photos"), message.text()

    # the closeness cutoff: only the photo itself is 0 bits away
    bar = window.filters_bar
    target = photos / "2019-07 beach" / "beach_05.jpg"
    bar.cutoff.setChecked(True)
    page = next_page(
        qtbot, window, lambda p: p.query.radius == 0 and p.query.image == str(target), lambda: (bar.slider.setValue(0), window.find_similar(str(target)))
    )
    assert len(page.paths) == 1 and message.text().startswith("1 photo — "), message.text()
    # nothing left: the status line says so instead of keeping the previous count
    page = next_page(
        qtbot,
        window,
        lambda p: p.query.text == "zebra crossing" and p.query.radius == 0 and not p.paths,
        lambda: (window.search.clear_image(), window.search.set_text("zebra crossing")),
    )
    assert message.text().startswith("No photos — "), message.text()


# -- 7. dates from names, and where each date came from ------------------------------------------


def test_preview_shows_dates_from_names_and_their_source(qtbot, make_window, indexed_library):
    photos, library = indexed_library
    window = make_window(library)
    next_page(qtbot, window)
    preview = window.preview

    def show(path: Path) -> str:
        window.grid.setCurrentIndex(window.results.index(window.results.row_of(str(path))))
        qtbot.waitUntil(lambda: preview.details is not None and preview.path == str(path), timeout=WAIT_MS)
        return preview.date.text()

    dated = show(photos / "2019-07 beach" / "beach_05.jpg")
    assert dated.startswith("2019-07 ") and "from the folder name" in dated
    undated = show(photos / "Camera Roll" / "DSC01234.jpg")
    assert "from the file time" in undated and "unknown" not in undated

    # the date filter agrees with what the preview says
    page = next_page(
        qtbot,
        window,
        lambda p: p.query.filters.after == "2019-07",
        lambda: (window.filters_bar.after.setText("2019-07"), window.filters_bar.before.setText("2019-08"), window.filters_bar.after.returnPressed.emit()),
    )
    assert len(page.paths) == 12 and all("2019-07 beach" in p for p in page.paths)


# -- 4. the model is visible and can be put off or changed ---------------------------------------


def test_status_bar_names_the_model_in_use_trained_or_not(qtbot, make_window, indexed_library):
    _photos, library = indexed_library
    window = make_window(library)
    stats = window.status.stats
    assert "model: tiny" in stats.text() and "not trained" in stats.text()
    trained = dict(
        window.overview.status,
        active_model={"id": 3, "name": "Trained 64-bit (12 tags, 300 photos)", "kind": "hashing", "bits": 64, "backbone": "ViT-B-32 (laion2b_s34b_b79k)"},
    )
    window.status.set_stats(trained)
    assert "model: Trained 64-bit (12 tags, 300 photos) on ViT-B-32" in stats.text()


def test_first_run_dialog_can_be_put_off(qtbot, make_window, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    window = make_window(model=None, first_run="ask", weights_cached=lambda: False)
    qtbot.waitUntil(lambda: window._first_run_dialog is not None and window._first_run_dialog.isVisible(), timeout=WAIT_MS)
    dialog = window._first_run_dialog
    assert dialog.later_button.isVisible() and dialog.later_button.isEnabled()
    dialog.later_button.click()
    qtbot.waitUntil(lambda: window._first_run_dialog is None, timeout=5000)
    assert not dialog.isVisible() and dialog.choice is None


def test_model_files_lists_the_model_in_use_and_keeps_a_download_error(qtbot, make_window, indexed_library, monkeypatch, tmp_path):
    from desktop_app.settings_dialog import SettingsDialog

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # no network: the download must fail and say why
    _photos, library = indexed_library
    window = make_window(library)
    window.open_settings()
    settings_dialog = window.findChildren(SettingsDialog)[-1]
    models = settings_dialog.open_models()
    qtbot.waitUntil(lambda: models.models.count() > 1, timeout=WAIT_MS)
    texts = [models.models.item(i).text() for i in range(models.models.count())]
    assert any("tiny" in t and "in use" in t for t in texts), texts
    models.download_button.click()
    qtbot.waitUntil(lambda: models._job is None and "on this computer" in models.state.text(), timeout=WAIT_MS)
    assert "download failed" in models.state.text(), models.state.text()
    settings_dialog.reject()


# -- 6. a start picks up where the user left off, and says what it is loading ---------------------


def test_relaunch_restores_size_folder_and_query_and_says_what_loads(qtbot, make_window, indexed_library):
    _photos, library = indexed_library
    first = make_window(library)
    next_page(qtbot, first)
    first.resize(760, 520)  # within the offscreen screen (800 × 600): restoreGeometry keeps a window on screen
    qtbot.waitUntil(lambda: first.width() == 760, timeout=5000)
    folder = first.sidebar.folders()[0]
    next_page(qtbot, first, lambda p: p.query.folder == folder, lambda: first.sidebar.select_folder(folder))
    next_page(qtbot, first, ranked, lambda: first.search.set_text("sunny beach"))
    first.close()

    second = make_window(library)  # same settings: a relaunch
    assert (second.width(), second.height()) == (760, 520)
    assert second.sidebar.selected_folder() == folder
    assert second.search.field.text() == "sunny beach"
    # the first search waits for the model: the status line says so at once
    assert second.status.message.text().startswith("Loading the search model"), second.status.message.text()
    page = next_page(qtbot, second, ranked)
    assert page.query.text == "sunny beach" and page.query.folder == folder
    assert second.results.rowCount() == 13


# -- 11. polish ----------------------------------------------------------------------------------


def _assert_framed(host, edits) -> None:
    """Each unfocused field's left edge stands out from the window and from the field's inside."""
    from PySide6.QtCore import QPoint

    image = host.grab().toImage()
    for edit in edits:
        left = edit.mapTo(host, QPoint(0, edit.height() // 2))
        border, outside, inside = (image.pixelColor(left.x() + dx, left.y()) for dx in (0, -2, 4))
        assert abs(border.lightness() - outside.lightness()) >= 25 and abs(border.lightness() - inside.lightness()) >= 25, (
            edit.placeholderText() or edit.text(),
            border.name(),
            outside.name(),
            inside.name(),
        )


def test_search_filter_and_settings_fields_have_a_visible_border_in_dark_mode(qtbot, qapp, tmp_path):
    from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget

    from desktop_app import settings as s
    from desktop_app.filters_bar import FiltersBar
    from desktop_app.search_bar import SearchBar
    from desktop_app.settings_dialog import SettingsDialog
    from desktop_app.style import apply_style

    before_style, before_palette = qapp.style().name(), qapp.palette()
    try:
        apply_style(qapp, "dark")
        host = QWidget()
        column = QVBoxLayout(host)
        search, bar = SearchBar(host), FiltersBar(host)
        column.addWidget(search)
        column.addWidget(bar)
        qtbot.addWidget(host)
        host.resize(760, 140)
        host.show()
        qtbot.waitExposed(host)
        _assert_framed(host, (search.field, bar.after, bar.before))
        dialog = SettingsDialog(s.Settings.open(tmp_path / "settings.ini"))
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitExposed(dialog)
        plain = [editor for _setting, editor in dialog._editors.values() if isinstance(editor, QLineEdit)]
        assert plain  # library folder, compute on, pretrained tag, weights file
        _assert_framed(dialog, [e for e in plain if not e.hasFocus()])
    finally:
        qapp.setStyle(before_style)
        qapp.setPalette(before_palette)


def test_distance_badge_sits_on_a_small_picture_in_a_large_cell(qtbot, qapp):
    from PySide6.QtCore import QModelIndex, QRect
    from PySide6.QtGui import QColor, QImage, QPainter, QPixmap, QStandardItem, QStandardItemModel
    from PySide6.QtWidgets import QStyleOptionViewItem

    from desktop_app.grid import PADDING, ThumbnailDelegate
    from desktop_app.results_model import Roles

    picture = QPixmap(100, 60)
    picture.fill(QColor("#00ff00"))
    model = QStandardItemModel()
    item = QStandardItem("x.jpg")
    item.setData(picture, Roles.THUMBNAIL)
    item.setData(12, Roles.DISTANCE)
    model.appendRow(item)
    delegate = ThumbnailDelegate(320)
    option = QStyleOptionViewItem()
    option.rect = QRect(0, 0, 332, 360)
    canvas = QImage(option.rect.size(), QImage.Format.Format_ARGB32)
    canvas.fill(QColor("white"))
    painter = QPainter(canvas)
    delegate.paint(painter, option, model.index(0, 0, QModelIndex()))
    painter.end()
    drawn = QRect(PADDING + (320 - 100) // 2, PADDING + (320 - 60) // 2, 100, 60)
    # the badge's dark pill covers the picture's top-left corner, and nothing of the white cell around it
    assert canvas.pixelColor(drawn.x() + 8, drawn.y() + 8).green() < 150
    assert canvas.pixelColor(PADDING + 8, PADDING + 8) == QColor("white")


def test_type_filter_offers_only_types_in_the_library(qtbot, make_window, indexed_library):
    _photos, library = indexed_library
    window = make_window(library)
    labels = [window.filters_bar.type.itemText(i) for i in range(window.filters_bar.type.count())]
    assert labels == ["Any type", "JPEG"]


def test_settings_show_the_library_that_is_open(qtbot, make_window, indexed_library):
    from desktop_app.settings_dialog import SettingsDialog

    _photos, library = indexed_library
    window = make_window(library)
    window.open_settings()
    dialog = window.findChildren(SettingsDialog)[-1]
    assert dialog.library_note is not None and str(library.resolve()) in dialog.library_note.text()
    dialog.reject()


# -- 9. sub-folders of a library folder are albums to choose ---------------------------------------


def test_sidebar_tree_offers_sub_folders_as_filters(qtbot, make_window, indexed_library):
    photos, library = indexed_library
    window = make_window(library)
    next_page(qtbot, window)
    top = window.sidebar.list.topLevelItem(1)
    names = sorted(top.child(i).text(0) for i in range(top.childCount()))
    assert names == ["2019-07 beach  (12)", "Camera Roll  (1)"]

    roll = str(photos / "Camera Roll")
    page = next_page(qtbot, window, lambda p: p.query.folder == roll, lambda: window.sidebar.select_folder(roll))
    assert [Path(p).name for p in page.paths] == ["DSC01234.jpg"]
    assert window.status.message.text().startswith("1 photo — ")
    assert not window.sidebar.remove_button.isEnabled()  # a sub-folder is not removed on its own
    page = next_page(qtbot, window, ranked, lambda: window.search.set_text("sunny beach"))
    assert [Path(p).name for p in page.paths] == ["DSC01234.jpg"]


# -- 10. several photos at once, completion, search by a chosen photo, a viewer of our own --------------


def test_several_selected_photos_get_a_tag_at_once(qtbot, make_window, indexed_library):
    from PySide6.QtCore import QItemSelectionModel

    _photos, library = indexed_library
    window = make_window(library)
    next_page(qtbot, window)
    grid, editor = window.grid, window.preview.tag_editor
    grid.setCurrentIndex(window.results.index(0))
    for row in (1, 2):
        grid.selectionModel().select(window.results.index(row), QItemSelectionModel.SelectionFlag.Select)
    chosen = [window.results.path_at(row) for row in range(3)]
    assert editor.paths == chosen and "3 selected" in editor.heading.text()
    with qtbot.waitSignal(editor.changed, timeout=WAIT_MS):
        editor.field.setText("grandma")
        editor.add_button.click()
    assert "on 3 photos" in editor.message.text()
    page = next_page(
        qtbot,
        window,
        lambda p: p.query.filters.tags == ("grandma",),
        lambda: (window.filters_bar.tags.setText("grandma"), window.filters_bar.tags.returnPressed.emit()),
    )
    assert sorted(page.paths) == sorted(chosen)


def test_tag_fields_complete_the_library_tags(qtbot, make_window, indexed_library):
    _photos, library = indexed_library
    window = make_window(library)
    bar = window.filters_bar
    completer = bar.tag_completer
    assert {"waves", "sand"} <= set(completer.names.stringList())
    assert {"waves", "sand"} <= set(window.preview.tag_editor.completer.names.stringList())
    # in the filter, the last of a comma-separated list is completed and the others are kept
    bar.tags.setText("sand, wa")
    assert completer.splitPath(bar.tags.text()) == ["wa"]
    completer.setCompletionPrefix("wa")
    assert completer.completionCount() == 1 and completer.currentCompletion() == "sand, waves"


def test_choose_photo_searches_by_example(qtbot, make_window, indexed_library):
    photos, library = indexed_library
    window = make_window(library)
    next_page(qtbot, window)
    target = photos / "2019-07 beach" / "beach_03.jpg"
    assert window.search.choose_button.isVisible()
    window.search.pick_photo = lambda: str(target)
    page = next_page(qtbot, window, ranked, window.search.choose_button.click)
    assert page.query.image == str(target) and page.paths[0] == str(target)


def test_enter_shows_the_photo_in_the_app_when_no_viewer_opens_it(qtbot, make_window, indexed_library, tmp_path):
    _photos, library = indexed_library
    window = make_window(library)
    next_page(qtbot, window)
    window.photo_actions.open_url = lambda url: False  # no external viewer on this computer
    window.grid.setFocus()
    window.grid.setCurrentIndex(window.results.index(0))
    from PySide6.QtCore import Qt

    qtbot.keyClick(window.grid, Qt.Key.Key_Return)
    viewer = window.photo_actions.viewer
    assert viewer is not None and viewer.isVisible()
    qtbot.waitUntil(lambda: viewer.image.pixmap() is not None and not viewer.image.pixmap().isNull(), timeout=WAIT_MS)
    assert "shown in BitLens" in window.status.message.text()
    qtbot.keyClick(viewer, Qt.Key.Key_Escape)
    # a file that cannot be read: the viewer says so on screen
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a picture")
    viewer = window.photo_actions.open_photo(str(broken))
    qtbot.waitUntil(lambda: viewer.failed is not None, timeout=WAIT_MS)
    assert "cannot be opened" in viewer.image.text()


def test_a_long_message_gives_way_to_the_library_numbers_in_a_narrow_window(qtbot):
    """At 800 px the model stays readable in the status bar; the news line is shortened with "…" instead."""
    from PySide6.QtWidgets import QMainWindow

    from desktop_app.status import StatusPanel

    window = QMainWindow()
    qtbot.addWidget(window)
    panel = StatusPanel(window.statusBar())
    window.resize(800, 500)
    window.show()
    qtbot.waitExposed(window)
    model = {"id": 1, "name": "ITQ", "kind": "itq", "bits": 64, "backbone": "scenes-clip-tiny (weights scenes-clip-tiny.safetensors)"}
    panel.set_stats({"photos": 5500, "folders": 1, "active_model": model})
    panel.say("Top 1,000 of 5,500 matching photos — “a dog on the beach at sunset with friends” (nearest first)")
    qtbot.waitUntil(lambda: panel.stats.isVisible() and panel.stats.width() > 0, timeout=2000)
    qtbot.wait(50)  # one layout pass
    assert panel.stats.width() >= panel.stats.sizeHint().width()  # "model: scenes-clip-tiny, 64 bits, not trained" in full
    assert panel.stats.geometry().right() <= window.statusBar().width()
    assert panel.message.toolTip().endswith("(nearest first)")  # the whole news line is one hover away
