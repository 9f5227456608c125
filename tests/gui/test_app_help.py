"""Help inside the app and its looks: tooltips, About, Report a problem, model files, icon, palettes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

pytest.register_assert_rewrite("gui_fixtures")

from conftest import REPO  # noqa: E402
from gui_fixtures import WAIT_MS  # noqa: E402
from models.test_weights_manager import MODEL, behind_proxy, fake_hub, hub_cache  # noqa: E402,F401 - the fake hub's and proxy's fixtures

pytest_plugins = ["gui_fixtures"]

from PySide6.QtWidgets import (  # noqa: E402
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QSlider,
    QWidget,
)

CONTROLS = (QAbstractButton, QLineEdit, QComboBox, QAbstractSpinBox, QAbstractItemView, QSlider)


def untipped(window) -> list[str]:
    """Visible controls and window actions without a tooltip of their own."""
    missing = []
    for widget in window.findChildren(QWidget):
        if isinstance(widget, CONTROLS) and widget.isVisibleTo(window) and not widget.toolTip().strip():
            label = widget.text() if hasattr(widget, "text") and callable(widget.text) else ""
            missing.append(f"{type(widget).__name__} {label!r}")
    for action in window.actions():
        text = action.text().replace("&", "")
        if text and action.toolTip().strip() in ("", text, text.rstrip("…")):  # Qt's default tooltip is the text itself
            missing.append(f"action {text!r}")
    return missing


def test_every_visible_control_and_action_has_a_tooltip(qtbot, make_window, indexed_library, tmp_path: Path) -> None:
    empty = make_window(tmp_path / "empty-library")  # an empty library: the "drop folders here" card and its button
    qtbot.waitUntil(lambda: empty.empty.button.isVisible(), timeout=WAIT_MS)
    assert untipped(empty) == []
    _photos, library = indexed_library
    window = make_window(library)  # photos in the grid, a folder in the sidebar
    qtbot.waitUntil(lambda: window.results.rowCount() > 0, timeout=WAIT_MS)
    window.sidebar.list.setCurrentItem(window.sidebar.list.topLevelItem(0))
    assert untipped(window) == []


def test_about_shows_versions_and_the_device(qtbot, make_window) -> None:
    import open_clip
    import torch
    from PySide6.QtCore import qVersion

    from engine import __version__

    window = make_window()
    window.help.actions["about"].trigger()
    dialog = window.help.about_dialog
    qtbot.waitUntil(lambda: dialog.loaded, timeout=WAIT_MS)
    shown = {key: label.text() for key, label in dialog._labels.items()}
    assert shown["bitlens"] == __version__
    assert shown["torch"] == torch.__version__
    assert shown["open_clip"] == open_clip.__version__
    assert shown["qt"] == qVersion()
    assert shown["device"].split()[0] in ("cpu", "cuda", "mps")


def test_report_a_problem_keeps_paths_out_unless_allowed(qtbot, make_window, indexed_library, tmp_path: Path) -> None:
    photos, library = indexed_library
    window = make_window(library)
    qtbot.waitUntil(lambda: window.overview is not None and window.overview.status["photos"] > 0, timeout=WAIT_MS)
    broken = photos / "Camera Roll" / "DSC01234.jpg"
    window.notify_error("Indexing failed", f"cannot read {broken}: truncated file")
    window.help.actions["report"].trigger()
    dialog = window.help.report_dialog
    qtbot.waitUntil(lambda: "device" in dialog._versions, timeout=WAIT_MS)  # torch's part of the versions
    dialog._choose_path = lambda _parent, _suggested: str(tmp_path / "report.json")
    dialog.save_button.click()
    text = (tmp_path / "report.json").read_text(encoding="utf-8")
    body = json.loads(text)
    assert body["paths_included"] is False
    assert body["library"]["photos"] == window.overview.status["photos"] == 13
    assert body["versions"]["bitlens"] and body["versions"]["qt"] and body["versions"]["device"] in ("cpu", "cuda", "mps")
    assert "truncated file" in body["recent_errors"][0]
    for private in (str(photos), str(library), "DSC01234", "Holiday photos", str(Path.home())):
        assert private not in text, private
    for tag in ("waves", "sand", "beach"):  # photo content (tags, names) never goes in
        assert tag not in text.lower(), tag

    window.help.actions["report"].trigger()
    dialog = window.help.report_dialog
    dialog.include_paths.setChecked(True)
    assert str(library) in dialog.preview.toPlainText()  # the preview shows what will be written
    dialog.write_to(tmp_path / "with-paths.json")
    with_paths = json.loads((tmp_path / "with-paths.json").read_text(encoding="utf-8"))
    assert with_paths["paths_included"] is True
    assert with_paths["library"]["library"] == str(library.resolve()) or with_paths["library"]["library"] == str(library)
    assert str(broken) in with_paths["recent_errors"][0]


@pytest.fixture
def hub(fake_hub, monkeypatch):  # noqa: F811 - the imported fixture, requested by name
    """test_weights_manager's local fake hub, as the endpoint the app downloads from."""
    monkeypatch.setenv("HF_ENDPOINT", fake_hub.endpoint)
    return fake_hub


def test_model_files_dialog_in_the_settings_downloads_into_the_shared_cache(qtbot, make_window, hub) -> None:
    from desktop_app.settings_dialog import SettingsDialog
    from engine.models.hub import cached_file

    window = make_window()
    window.open_settings()
    settings_dialog = window.findChildren(SettingsDialog)[-1]
    assert settings_dialog.models_button is not None and settings_dialog.models_button.toolTip()
    models = settings_dialog.open_models()
    qtbot.waitUntil(lambda: models.models.count() > 0, timeout=WAIT_MS)
    assert models.selected_name() == MODEL.name  # the recommended one is preselected
    assert not models.models.currentItem().text().startswith("✓")
    models.download_button.click()
    qtbot.waitUntil(lambda: models._job is None and models.models.count() > 0 and models.models.currentItem().text().startswith("✓"), timeout=WAIT_MS)
    assert "is ready" in models.state.text() or "on this computer" in models.state.text()
    assert cached_file(MODEL).read_bytes() == hub.content
    settings_dialog.reject()


def test_first_run_download_goes_through_the_weights_manager(qtbot, make_window, hub) -> None:
    from desktop_app.first_run import FirstRunDialog
    from engine.models.hub import cached_file

    window = make_window()
    dialog = FirstRunDialog(window.runner, hub_reachable=True, parent=window)
    with qtbot.waitSignal(dialog.chosen, timeout=WAIT_MS) as chosen:
        dialog.download_button.click()
    assert chosen.args[0].backbone == ""  # the recommended model
    assert cached_file(MODEL).read_bytes() == hub.content
    # the model it offers and fetched is the one indexing uses when none is chosen
    from engine.models.backbones import BackboneSpec
    from engine.models.hub import cached_weights

    spec = BackboneSpec.from_args(None)
    assert cached_weights(spec.arch, spec.pretrained) == str(cached_file(MODEL))
    assert spec.arch in dialog.download_note.text() and dialog.arch.text() == spec.arch
    assert spec.arch in chosen.args[0].label


def test_first_run_offers_the_download_behind_a_proxy(qtbot, make_window, behind_proxy) -> None:  # noqa: F811 - the imported fixture
    """Where only an HTTPS proxy leads out, the dialog's check asks the proxy, as the download will, and offers Download."""
    from desktop_app.first_run import FirstRunDialog

    proxy = behind_proxy()
    window = make_window()
    dialog = FirstRunDialog(window.runner, parent=window)  # checks the hub itself
    qtbot.waitUntil(lambda: dialog.download_state.text() != "Checking the internet connection…", timeout=WAIT_MS)
    assert dialog.download_button.isEnabled(), dialog.download_state.text()
    assert "Offline" not in dialog.download_state.text()
    assert proxy.requests == ["CONNECT hub.bitlens-test.invalid:443 HTTP/1.1"]
    dialog.reject()


def test_icon_renders_at_every_size_and_is_the_window_icon(qtbot) -> None:
    from PySide6.QtGui import QImage

    from desktop_app.icon import app_icon

    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        image = QImage(str(REPO / "resources" / "icons" / f"bitlens-{size}.png"))
        assert (image.width(), image.height()) == (size, size)
        assert image.pixelColor(size // 2, size // 2).alpha() == 255 and image.pixelColor(0, 0).alpha() == 0  # a shape, not a square
    icon = app_icon()
    assert not icon.isNull() and {s.width() for s in icon.availableSizes()} >= {16, 32, 256}


def test_light_and_dark_palettes_follow_the_scheme(qapp, monkeypatch) -> None:
    from PySide6.QtGui import QPalette

    from desktop_app.style import apply_style, system_scheme

    before_style, before_palette = qapp.style().name(), qapp.palette()
    try:
        monkeypatch.setenv("BITLENS_COLOR_SCHEME", "dark")
        assert system_scheme() == "dark" and apply_style(qapp) == "dark"
        assert qapp.style().name().lower() == "fusion"
        dark = qapp.palette()
        assert dark.color(QPalette.ColorRole.Window).lightness() < 60 and dark.color(QPalette.ColorRole.WindowText).lightness() > 200
        assert apply_style(qapp, "light") == "light"
        light = qapp.palette()
        assert light.color(QPalette.ColorRole.Window).lightness() > 220 and light.color(QPalette.ColorRole.Text).lightness() < 60
        # disabled text stays readable but visibly muted in both
        for pal in (dark, light):
            enabled = pal.color(QPalette.ColorGroup.Active, QPalette.ColorRole.Text).lightness()
            disabled = pal.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text).lightness()
            assert 40 < abs(enabled - disabled) < 200
    finally:
        qapp.setStyle(before_style)
        qapp.setPalette(before_palette)


@pytest.mark.parametrize("module, name", [("engine.cli", "bitlens"), ("desktop_app", "bitlens-gui")])
def test_both_entry_points_print_their_version(module: str, name: str) -> None:
    from engine import __version__

    done = subprocess.run([sys.executable, "-m", module, "--version"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == f"{name} {__version__}"
