"""The PyInstaller bundle starts and works: built and run only when asked (`-m bundle`).

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m pytest tests/cli/test_bundle.py -m bundle -q

It builds packaging/bitlens.spec under /tmp (minutes; several GB with a CUDA torch),
or reuses a finished build when BITLENS_BUNDLE_DIST names its dist folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, make_photo

pytestmark = pytest.mark.bundle


@pytest.fixture(scope="module")
def bundle(request, tmp_path_factory) -> Path:
    if "bundle" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("builds the PyInstaller bundle: run with -m bundle")
    given = os.environ.get("BITLENS_BUNDLE_DIST")
    if given:
        dist = Path(given)
    else:
        if shutil.which("pyinstaller", path=str(Path(sys.executable).parent)) is None:
            pytest.skip("pyinstaller is not installed in this environment (pip install pyinstaller)")
        work = tmp_path_factory.mktemp("bundle")
        dist = work / "dist"
        subprocess.run(
            [
                str(Path(sys.executable).parent / "pyinstaller"),
                str(REPO / "packaging" / "bitlens.spec"),
                "--noconfirm",
                "--distpath",
                str(dist),
                "--workpath",
                str(work / "build"),
            ],
            cwd=REPO,
            check=True,
            timeout=3600,
        )
    folder = dist / "bitlens"
    assert (folder / "bitlens").exists() and (folder / "bitlens-gui").exists()
    return folder


def run(program: Path, *args: str, home: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HF_HUB_OFFLINE": "1", "BITLENS_HOME": str(home), "PYTHONPATH": ""}
    return subprocess.run([str(program), *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=home)


def test_the_bundle_prints_its_versions_indexes_and_opens_the_window(bundle: Path, tmp_path: Path) -> None:
    from engine import __version__

    home = tmp_path / "home"
    home.mkdir()
    assert run(bundle / "bitlens", "--version", home=home).stdout.strip() == f"bitlens {__version__}"
    assert run(bundle / "bitlens-gui", "--version", home=home).stdout.strip() == f"bitlens-gui {__version__}"
    photos = tmp_path / "photos"
    for i in range(6):
        make_photo(photos / ("beach" if i % 2 else "forest") / f"p{i}.jpg", i)
    indexed = run(bundle / "bitlens", "index", str(photos), "--backbone", "tiny", home=home)
    assert indexed.returncode == 0, indexed.stderr
    found = run(bundle / "bitlens", "search", "beach", "--json", home=home)
    assert found.returncode == 0 and str(photos) in found.stdout, found.stderr
    # the window opens headless, searches and quits by itself
    gui = run(bundle / "bitlens-gui", "--no-first-run", "--query", "beach", "--quit-after-results", "--startup-markers", home=home)
    assert gui.returncode == 0 and "first-results" in gui.stdout, gui.stdout + gui.stderr
    offline = run(bundle / "bitlens", "models", "download", "ViT-B-32", home=home, timeout=60)
    assert offline.returncode == 1 and "offline" in offline.stderr
