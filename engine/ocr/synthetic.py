"""Generated photos with known words in them (signs, labels, receipts, rotated and small text), for tests and the OCR benchmark.

Offline: fonts are the machine's TrueType fonts where there are some (DejaVu, Liberation,
Noto …), else Pillow's built-in scalable font, so every machine can render them.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

# Plain words a photo of a sign, a label or a receipt might hold; all different from one another.
WORDS = (
    "bakery",
    "pharmacy",
    "station",
    "library",
    "museum",
    "garden",
    "harbour",
    "theatre",
    "airport",
    "market",
    "exit",
    "entrance",
    "parking",
    "closed",
    "welcome",
    "coffee",
    "tickets",
    "platform",
    "hotel",
    "bridge",
    "tomato",
    "lemonade",
    "pancakes",
    "espresso",
    "noodles",
    "sandwich",
    "pretzel",
    "bagels",
    "cheese",
    "yogurt",
    "invoice",
    "receipt",
    "total",
    "discount",
    "voucher",
    "balance",
    "subtotal",
    "cashier",
    "refund",
    "deposit",
    "meeting",
    "deadline",
    "roadmap",
    "budget",
    "agenda",
    "sprint",
    "quarterly",
    "minutes",
    "whiteboard",
    "project",
    "danger",
    "caution",
    "silence",
    "reserved",
    "private",
    "delivery",
    "upstairs",
    "elevator",
    "toilets",
    "lockers",
    "violet",
    "orange",
    "crimson",
    "emerald",
    "silver",
    "golden",
    "marble",
    "copper",
    "velvet",
    "amber",
    "tuesday",
    "saturday",
    "january",
    "october",
    "morning",
    "evening",
    "midnight",
    "holiday",
    "birthday",
    "weekend",
    "falcon",
    "badger",
    "otter",
    "walrus",
    "pelican",
    "gecko",
    "lynx",
    "heron",
    "bison",
    "puffin",
    "glacier",
    "canyon",
    "volcano",
    "lagoon",
    "meadow",
    "prairie",
    "tundra",
    "fjord",
    "savanna",
    "marsh",
)
KINDS = ("sign", "label", "receipt", "rotated", "small", "screen")
_FONT_GLOBS = (
    "/usr/share/fonts/truetype/dejavu/*.ttf",
    "/usr/share/fonts/truetype/liberation*/*.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-*.ttf",
    "/System/Library/Fonts/Supplemental/*.ttf",
    "C:/Windows/Fonts/*.ttf",
)


def font_files() -> list[str]:
    """TrueType fonts found on this machine (text faces only; empty if none)."""
    found: list[str] = []
    for pattern in _FONT_GLOBS:
        found.extend(sorted(p for p in glob.glob(pattern) if "Math" not in p and "Emoji" not in p))
    return found


def _font(rng: np.random.Generator, size: int, fonts: Sequence[str]) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if fonts:
        try:
            return ImageFont.truetype(fonts[int(rng.integers(len(fonts)))], size)
        except OSError:
            pass
    return ImageFont.load_default(size=size)  # Pillow's own scalable font (Pillow >= 10.1)


def scene_background(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    """A textless 'landscape': a sky-to-ground gradient with soft blobs, shapes and noise."""
    w, h = size
    top, bottom = rng.integers(40, 230, 3), rng.integers(20, 200, 3)
    t = np.linspace(0, 1, h)[:, None, None]
    pixels = (top * (1 - t) + bottom * t) * np.ones((1, w, 1))
    image = Image.fromarray(pixels.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 9))):
        x, y = int(rng.integers(0, w)), int(rng.integers(h // 3, h))
        r = int(rng.integers(w // 20, w // 5))
        draw.ellipse((x - r, y - r // 2, x + r, y + r // 2), fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
    for _ in range(int(rng.integers(1, 4))):
        x, y = int(rng.integers(0, w)), int(rng.integers(h // 4, h))
        draw.polygon(
            [(x, y), (x + int(rng.integers(20, w // 4)), y), (x + int(rng.integers(0, w // 8)), y - int(rng.integers(20, h // 3)))],
            fill=tuple(int(c) for c in rng.integers(0, 255, 3)),
        )
    image = image.filter(ImageFilter.GaussianBlur(1.5))
    noise = rng.normal(0, 6, (h, w, 3))
    return Image.fromarray(np.clip(np.asarray(image, np.float32) + noise, 0, 255).astype(np.uint8))


def _text_block(lines: Sequence[str], font, ink, paper, pad: int) -> Image.Image:
    """Lines of text on a plate of `paper` colour (RGBA, transparent around nothing)."""
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    boxes = [probe.textbbox((0, 0), line, font=font) for line in lines]
    line_h = max(b[3] - b[1] for b in boxes)
    width = int(max(b[2] - b[0] for b in boxes)) + 2 * pad  # whole pixels already: these fonts give integer boxes
    height = len(lines) * int(line_h * 1.5) + 2 * pad
    plate = Image.new("RGBA", (width, height), (*paper, 255))
    draw = ImageDraw.Draw(plate)
    for i, (line, box) in enumerate(zip(lines, boxes)):
        draw.text((pad - box[0], pad + i * int(line_h * 1.5) - box[1]), line, font=font, fill=(*ink, 255))
    return plate


def _rgb(values: np.ndarray) -> tuple[int, int, int]:
    red, green, blue = (int(c) for c in values)
    return red, green, blue


def _contrast_pair(rng: np.random.Generator) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """Ink and paper colours far apart in brightness (signs are made to be read)."""
    dark = _rgb(rng.integers(0, 70, 3))
    light = _rgb(rng.integers(190, 256, 3))
    return (dark, light) if rng.random() < 0.7 else (light, dark)


@dataclass(frozen=True)
class TextPhoto:
    """A generated photo and the words rendered into it."""

    path: Path
    words: tuple[str, ...]
    kind: str


def render_text_photo(
    rng: np.random.Generator, words: Sequence[str], kind: str, size: tuple[int, int] = (640, 480), fonts: Optional[Sequence[str]] = None
) -> Image.Image:
    """A scene with `words` on a sign, label, receipt, rotated plate, in small print or as a screenshot."""
    fonts = font_files() if fonts is None else fonts
    w, h = size
    if kind == "screen":
        image = Image.new("RGB", size, tuple(int(c) for c in rng.integers(230, 256, 3)))
        draw = ImageDraw.Draw(image)
        draw.rectangle((0, 0, w, h // 10), fill=tuple(int(c) for c in rng.integers(30, 120, 3)))
        font = _font(rng, max(14, h // 22), fonts)
        for i, word in enumerate(words):
            draw.text((w // 12, h // 6 + i * h // 8), word.capitalize() + (":" if i == 0 else ""), font=font, fill=(20, 20, 20))
        return image
    image = scene_background(rng, size)
    ink, paper = _contrast_pair(rng)
    if kind == "sign":
        text, font_px, angle, pad = [" ".join(w_.upper() for w_ in words)], int(h * rng.uniform(0.07, 0.11)), rng.uniform(-4, 4), h // 30
    elif kind == "label":
        text, font_px, angle, pad = [w_.capitalize() for w_ in words], int(h * rng.uniform(0.05, 0.07)), rng.uniform(-3, 3), h // 50
        ink, paper = (20, 20, 20), (250, 250, 245)
    elif kind == "receipt":
        price = lambda: f"{rng.integers(1, 40)}.{rng.integers(0, 100):02d}"  # noqa: E731 - a one-off
        text = [f"{w_.upper()}  {price()}" for w_ in words] + [f"SUM  {price()}"]
        font_px, angle, pad = int(h * rng.uniform(0.045, 0.06)), rng.uniform(-6, 6), h // 30
        ink, paper = (30, 30, 30), (245, 243, 235)
    elif kind == "rotated":
        text, font_px, angle, pad = [" ".join(words)], int(h * rng.uniform(0.07, 0.1)), rng.choice([-1, 1]) * rng.uniform(12, 30), h // 30
    elif kind == "small":
        text, font_px, angle, pad = [" ".join(words)], int(h * rng.uniform(0.035, 0.045)), 0.0, h // 60
    else:
        raise ValueError(f"unknown kind of text photo: {kind}")
    plate = _text_block(text, _font(rng, max(10, font_px), fonts), ink, paper, pad)
    if plate.width > w * 0.95:
        factor = w * 0.95 / plate.width
        plate = plate.resize((int(plate.width * factor), max(1, int(plate.height * factor))), Image.Resampling.LANCZOS)
    if angle:
        plate = plate.rotate(float(angle), resample=Image.Resampling.BICUBIC, expand=True)
    x = int(rng.integers(0, max(1, w - plate.width)))
    y = int(rng.integers(0, max(1, h - plate.height)))
    image.paste(plate, (x, y), plate)
    return image


def make_text_photos(
    folder: Path, count: int, seed: int = 0, size: tuple[int, int] = (640, 480), words_per_photo: int = 2, kinds: Sequence[str] = KINDS
) -> list[TextPhoto]:
    """`count` JPEGs with rendered words in `folder`, each word used by at most one photo while WORDS last."""
    rng = np.random.default_rng(seed)
    fonts = font_files()
    folder.mkdir(parents=True, exist_ok=True)
    pool = list(rng.permutation(WORDS))
    made = []
    for i in range(count):
        if len(pool) < words_per_photo:
            pool = list(rng.permutation(WORDS))
        words = tuple(str(pool.pop()) for _ in range(words_per_photo))
        kind = kinds[i % len(kinds)]
        path = folder / f"text_{i:04d}_{kind}.jpg"
        render_text_photo(rng, words, kind, size, fonts).save(path, quality=90)
        made.append(TextPhoto(path, words, kind))
    return made


def make_scene_photos(folder: Path, count: int, seed: int = 1, size: tuple[int, int] = (640, 480)) -> list[Path]:
    """`count` textless scene JPEGs in `folder`."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"scene_{i:04d}.jpg"
        scene_background(rng, size).save(path, quality=90)
        paths.append(path)
    return paths
