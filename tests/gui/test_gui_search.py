"""The app's search controls: the filters row, the closeness cutoff and the query language."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

pytest.register_assert_rewrite("gui_fixtures")

from gui_fixtures import WAIT_MS  # noqa: E402
from PySide6.QtWidgets import QPushButton  # noqa: E402

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
    next_page(qtbot, window, lambda p: p.query.radius == 0 and p.query.image == str(target), lambda: (bar.slider.setValue(0), window.find_similar(str(target))))
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


def test_duplicates_review_keeps_and_forgets_without_touching_files(qtbot, make_window, tmp_path):
    import shutil

    from conftest import make_photo, tree_fingerprint
    from engine.facade import BitLens

    from engine.models.backbones import BackboneSpec

    photos = tmp_path / "Dups"
    for i in range(6):
        make_photo(photos / f"p{i}.jpg", 500 + i)
    (photos / "copies").mkdir()
    shutil.copy(photos / "p1.jpg", photos / "copies" / "p1 copy.jpg")
    shutil.copy(photos / "p4.jpg", photos / "copies" / "p4 copy.jpg")
    with BitLens(tmp_path / "library") as library:
        library.index([photos], backbone=BackboneSpec.from_args("tiny"))
    before = tree_fingerprint(photos)
    window = make_window(tmp_path / "library")
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS):
        pass
    dialog = window.show_duplicates()
    with qtbot.waitSignal(dialog.loaded, timeout=WAIT_MS):
        pass
    groups = [{Path(p.path).name for p in g.photos} for g in dialog.groups]
    assert {"p1.jpg", "p1 copy.jpg"} in groups and {"p4.jpg", "p4 copy.jpg"} in groups
    count = len(dialog.groups)
    # the group list shows a thumbnail and how alike the photos are; the cards say it per photo
    item = dialog.list.item(0)
    assert not item.icon().isNull() and "100% alike" in item.text()
    cards = dialog.current_cards()
    assert len(cards) == len(dialog.groups[0].photos) >= 2  # side by side
    assert "100% alike" in cards[1].facts.text()
    assert "largest picture" not in cards[0].facts.text()  # two equal pictures: neither is "largest"
    cards[1].folder_button.click()
    assert window.errors[-1] == f"opened {Path(cards[1].path).parent}"
    kept_group = {p.path for p in dialog.groups[0].photos}
    assert not dialog.undo_button.isEnabled()
    cards[0].keep_button.click()
    assert len(dialog.groups) == count - 1
    # Keep this can be undone: the group comes back, and the review file no longer forgets its photos
    dialog.undo_button.click()
    assert len(dialog.groups) == count and {p.path for p in dialog.groups[0].photos} == kept_group
    assert not dialog.review.forgotten & kept_group
    dialog.current_cards()[0].keep_button.click()
    assert len(dialog.groups) == count - 1
    dialog.current_cards()[0].forget_button.click()
    assert len(dialog.groups) == count - 2
    # the decisions last: a fresh look finds neither group again, and no file changed
    again = window.show_duplicates()
    with qtbot.waitSignal(again.loaded, timeout=WAIT_MS):
        pass
    assert len(again.groups) == count - 2
    # the threshold slider looks again: at 100 % only identical fingerprints remain, none of them forgotten
    assert again.slider.value() == 90
    with qtbot.waitSignal(again.loaded, timeout=WAIT_MS):
        again.slider.setValue(100)
    assert all(g.similarity == 1.0 for g in again.groups) and "100 %" in again.threshold.text()
    assert tree_fingerprint(photos) == before
    dialog.close()
    again.close()


def _show_in_preview(qtbot, window, target: Path) -> None:
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS, check_params_cb=lambda p: p.query.image == str(target)):
        window.find_similar(str(target))
    window.grid.setCurrentIndex(window.results.index(0))
    assert window.preview.path == str(target)


def test_suggested_tag_accepted_in_the_preview_becomes_a_user_tag(qtbot, make_window, indexed_library):
    photos, library = indexed_library
    window = make_window(library)
    next_page(qtbot, window, lambda p: True, lambda: None)
    target = photos / "Camera Roll" / "DSC01234.jpg"  # tagged waves, sand; not beach
    _show_in_preview(qtbot, window, target)
    box = window.preview.suggestions
    qtbot.waitUntil(lambda: any(s.tag == "beach" for s in box.suggestions), timeout=WAIT_MS)
    assert box.isVisible() or not window.preview.isVisible()
    suggestion = next(s for s in box.suggestions if s.tag == "beach")
    assert 0.3 <= suggestion.confidence <= 1.0
    box.findChild(QPushButton, "accept:beach").click()
    qtbot.waitUntil(lambda: "beach" in window.preview.tags.text(), timeout=WAIT_MS)
    assert all(s.tag != "beach" for s in box.suggestions)
    from engine.facade import BitLens

    with BitLens(library) as check:
        assert {"tag": "beach", "source": "user"} in check.photo(target)["tags"]


def test_rejected_suggestion_does_not_come_back(qtbot, make_window, indexed_library):
    photos, library = indexed_library
    window = make_window(library)
    next_page(qtbot, window, lambda p: True, lambda: None)
    target = photos / "Camera Roll" / "DSC01234.jpg"
    _show_in_preview(qtbot, window, target)
    box = window.preview.suggestions
    qtbot.waitUntil(lambda: any(s.tag == "beach" for s in box.suggestions), timeout=WAIT_MS)
    box.findChild(QPushButton, "reject:beach").click()
    # The suggestion leaves the box once the rejection job has written it (its on_success).
    qtbot.waitUntil(lambda: all(s.tag != "beach" for s in box.suggestions), timeout=WAIT_MS)
    window.preview.show_photo(None)
    with qtbot.waitSignal(box.updated, timeout=WAIT_MS):
        window.preview.show_photo(str(target))
    assert all(s.tag != "beach" for s in box.suggestions)
    assert "beach" not in window.preview.tags.text()


def test_photo_added_on_disk_appears_while_the_app_runs(qtbot, make_window, tmp_path):
    from conftest import make_photo
    from engine.facade import BitLens

    from engine.models.backbones import BackboneSpec

    photos = tmp_path / "Live"
    for i in range(3):
        make_photo(photos / f"p{i}.jpg", 900 + i)
    with BitLens(tmp_path / "library") as library:
        library.index([photos], backbone=BackboneSpec.from_args("tiny"))
    window = make_window(tmp_path / "library")
    next_page(qtbot, window, lambda p: len(p.paths) == 3, lambda: None)
    qtbot.waitUntil(lambda: window.watch.mode == "watching", timeout=WAIT_MS)
    assert window.watch_note.text() == ""
    window.watch.watcher.debounce_s = 0.3
    make_photo(photos / "new.jpg", 950)
    page = next_page(qtbot, window, lambda p: len(p.paths) == 4, lambda: None)
    assert str(photos / "new.jpg") in page.paths
    (photos / "p0.jpg").unlink()
    next_page(qtbot, window, lambda p: len(p.paths) == 3 and str(photos / "p0.jpg") not in p.paths, lambda: None)


def test_watch_falls_back_to_rescans_and_says_so(qtbot, tmp_path):
    from desktop_app.watching import FolderWatch

    for i in range(5):
        (tmp_path / "Big" / f"d{i}").mkdir(parents=True)
    watch = FolderWatch(poll_interval_s=0.3, watch_limit=4)
    notes, changes = [], []
    watch.note_changed.connect(notes.append)
    watch.changed.connect(changes.append)
    watch.set_folders([str(tmp_path / "Big")])
    try:
        assert watch.mode == "polling" and "rescan every" in notes[-1]
        qtbot.waitUntil(lambda: changes == [[str(tmp_path / "Big")]] or len(changes) >= 1, timeout=5000)
        assert changes[0] == [str(tmp_path / "Big")]
    finally:
        watch.stop()
