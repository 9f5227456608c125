"""The app's search controls: the filters row, the closeness cutoff and the query language."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

pytest.register_assert_rewrite("gui_fixtures")

from gui_fixtures import WAIT_MS  # noqa: E402

pytest_plugins = ["gui_fixtures"]


def next_page(qtbot, window, check, action):
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS, check_params_cb=check) as blocker:
        action()
    return blocker.args[0]


def test_tag_filter_and_cutoff_in_the_window(qtbot, make_window, indexed_library):
    photos, library = indexed_library
    window = make_window(library)
    next_page(qtbot, window, lambda p: True, lambda: None)  # the listing of all photos
    bar = window.filters_bar

    # a tag typed in the filters row narrows the listing (after the typing pause)
    page = next_page(qtbot, window, lambda p: p.query.filters.tags == ("WAVES",), lambda: qtbot.keyClicks(bar.tags, "WAVES"))
    assert [Path(p).name for p in page.paths] == ["DSC01234.jpg"]
    assert "tag WAVES" in window.status.message.text()
    # ... and any query as well
    page = next_page(qtbot, window, lambda p: p.distances is not None, lambda: window.search.set_text("sunny beach"))
    assert [Path(p).name for p in page.paths] == ["DSC01234.jpg"]
    bar.tags.setText("")
    next_page(qtbot, window, lambda p: not p.query.filters.tags and p.distances is not None, bar.tags.returnPressed.emit)

    # the closeness cutoff: a photo's own code is the only one 0 bits away
    bar.cutoff.setChecked(True)
    assert bar.slider.isEnabled() and bar.slider.value() == 24  # the default for 64 bits
    target = photos / "2019-07 beach" / "beach_05.jpg"
    next_page(qtbot, window, lambda p: p.query.radius == 0 and p.query.image == str(target),
              lambda: (bar.slider.setValue(0), window.find_similar(str(target))))
    assert window.last_page.paths == [str(target)]
    assert "≤ 0 of 64 bits" in bar.radius_label.text()
    # a text query at radius 0 has (almost surely) no match: the window says so instead of ranking noise
    page = next_page(qtbot, window, lambda p: p.query.text == "zebra crossing" and p.query.radius == 0, lambda: window.search.set_text("zebra crossing"))
    if not page.paths:
        assert window.stack.currentWidget() is window.empty
        assert "No close match" in window.empty.title.text()
    page = next_page(qtbot, window, lambda p: p.query.radius is None, lambda: bar.cutoff.setChecked(False))
    assert len(page.paths) == 13


def test_bad_date_is_marked_and_ignored(qtbot, make_window, indexed_library):
    photos, library = indexed_library
    window = make_window(library)
    next_page(qtbot, window, lambda p: True, lambda: None)
    bar = window.filters_bar
    bar.after.setText("last week")
    assert bar.filters().after is None
    assert "border" in bar.after.styleSheet()
    bar.after.setText("2001")
    assert bar.filters().after == "2001" and bar.after.styleSheet() == ""


def test_query_language_error_is_shown(qtbot, make_window, indexed_library):
    photos, library = indexed_library
    window = make_window(library)
    next_page(qtbot, window, lambda p: True, lambda: None)
    window.search.set_text("beach -")
    qtbot.waitUntil(lambda: window.last_page is not None and window.last_page.reason == "error", timeout=WAIT_MS)
    assert "needs a term after it (at column 7)" in window.empty.text.text()
