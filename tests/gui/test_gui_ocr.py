"""The app finds a photo by a word written in it, and its preview shows the text with boxes over the picture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")
pytest.importorskip("rapidocr_onnxruntime")

pytest.register_assert_rewrite("gui_fixtures")

from gui_fixtures import WAIT_MS  # noqa: E402

pytest_plugins = ["gui_fixtures"]


@pytest.fixture(scope="module")
def text_library(tmp_path_factory):
    from engine.facade import BitLens

    from engine.models.backbones import BackboneSpec
    from engine.ocr.synthetic import make_scene_photos, render_text_photo

    root = tmp_path_factory.mktemp("gui-ocr")
    photos = root / "Trip"
    photos.mkdir()
    rng = np.random.default_rng(11)
    render_text_photo(rng, ("marmalade",), "label", (480, 360)).save(photos / "jar.jpg", quality=92)
    render_text_photo(rng, ("platform", "tickets"), "sign", (480, 360)).save(photos / "station.jpg", quality=92)
    make_scene_photos(photos, 3, size=(480, 360))
    with BitLens(root / "library") as library:
        library.index([photos], backbone=BackboneSpec.from_args("tiny"))
    return photos, root / "library"


def _has_box_colour(pixmap) -> bool:
    from desktop_app.text_overlay import BOX_COLOUR

    image = pixmap.toImage()
    step = max(1, min(image.width(), image.height()) // 200)
    return any(image.pixelColor(x, y) == BOX_COLOUR for x in range(0, image.width(), step) for y in range(0, image.height(), step))


def test_a_word_in_the_photo_finds_it_and_the_preview_outlines_the_text(qtbot, make_window, text_library):
    photos, library = text_library
    window = make_window(library)
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS, check_params_cb=lambda p: p.query.text == "marmalade" and p.distances is not None):
        window.search.set_text("marmalade")
    assert Path(window.last_page.paths[0]).name == "jar.jpg"
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS, check_params_cb=lambda p: p.query.text == 'text:"platform tickets"'):
        window.search.set_text('text:"platform tickets"')
    assert [Path(p).name for p in window.last_page.paths] == ["station.jpg"]

    window.grid.setCurrentIndex(window.results.index(0))
    preview = window.preview
    assert preview.path == str(photos / "station.jpg")
    qtbot.waitUntil(lambda: "TICKETS" in preview.photo_text.text().upper(), timeout=WAIT_MS)
    assert "text in the photo" in preview.tags.text()  # the words are tags, with their source named
    qtbot.waitUntil(
        lambda: preview.image.pixmap() is not None and not preview.image.pixmap().isNull() and _has_box_colour(preview.image.pixmap()), timeout=WAIT_MS
    )

    # a photo without text shows no text row and no boxes
    scene = str(next(photos.glob("scene_*.jpg")))
    with qtbot.waitSignal(window.results_shown, timeout=WAIT_MS, check_params_cb=lambda p: p.query.image == scene):
        window.find_similar(scene)
    window.grid.setCurrentIndex(window.results.index(0))
    qtbot.waitUntil(lambda: preview.details is not None and preview.details["path"] == scene, timeout=WAIT_MS)
    assert preview.photo_text.text() == "<i>none found</i>" and not preview.photo_text.isVisible()
    qtbot.waitUntil(lambda: preview.image.pixmap() is not None and not _has_box_colour(preview.image.pixmap()), timeout=WAIT_MS)


def test_text_in_the_photo_is_a_tag_source_the_wizard_can_untick(qtbot, make_window, text_library):
    _, library = text_library
    window = make_window(library)
    wizard = window.models_menu.open_training_wizard()
    page = wizard.data_page
    box = page.sources["ocr"]
    assert box.text() == "text in the photo" and box.isChecked()
    qtbot.waitUntil(lambda: page.overview is not None, timeout=WAIT_MS)
    assert "marmalade" in {tag for tag, _ in page.overview.top_tags}
    for source, other in page.sources.items():
        other.setChecked(source == "ocr")
    qtbot.waitUntil(lambda: page.overview is not None and page.overview.tagged_photos == 2, timeout=WAIT_MS)
    box.setChecked(False)
    page.sources["folder"].setChecked(True)
    qtbot.waitUntil(
        lambda: page.overview is not None and "marmalade" not in {tag for tag, _ in page.overview.top_tags} and page.overview.tagged_photos == 5,
        timeout=WAIT_MS,
    )
    wizard.reject()
