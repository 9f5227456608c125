"""Render resources/bitlens.svg to the PNG sizes desktops and bundles ask for.

    .venv/bin/python resources/render_icons.py

Writes resources/icons/bitlens-SIZE.png for SIZE in 16…512 (QSvgRenderer, antialiased,
transparent background), and from them the Windows .ico and macOS .icns that
packaging/bitlens.spec uses. Run it again after editing the SVG and commit the results.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def render(svg: Path = HERE / "bitlens.svg", out: Path = HERE / "icons", sizes=SIZES) -> list[Path]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 - QPainter needs one
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg} is not a valid SVG for Qt")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter)
        painter.end()
        path = out / f"bitlens-{size}.png"
        if not image.save(str(path)):
            raise SystemExit(f"could not write {path}")
        written.append(path)
    return written


def platform_icons(pngs: list[Path]) -> list[Path]:
    """packaging/windows/bitlens.ico and packaging/macos/BitLens.icns from the PNGs (Pillow)."""
    from PIL import Image

    packaging = HERE.parent / "packaging"
    largest = Image.open(max(pngs, key=lambda p: int(p.stem.split("-")[1])))
    ico = packaging / "windows" / "bitlens.ico"
    icns = packaging / "macos" / "BitLens.icns"
    ico.parent.mkdir(parents=True, exist_ok=True)
    icns.parent.mkdir(parents=True, exist_ok=True)
    largest.save(ico, sizes=[(s, s) for s in (16, 24, 32, 48, 64, 128, 256)])
    largest.save(icns)
    return [ico, icns]


if __name__ == "__main__":
    pngs = render()
    for path in pngs + platform_icons(pngs):
        print(path.relative_to(HERE.parent))
