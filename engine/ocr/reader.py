"""One photo in, the lines of text in it out: a cheap detection pass first, a full read only where it finds text.

Most photos hold no text. Recognition costs about a second per photo on a laptop CPU,
so two gates come first. A pixel test (under a millisecond) asks whether any 16 px cell
of a small grey copy is dense with thin strokes, edges of both signs a few pixels apart,
as letters are; smooth photos (skies, landscapes, portraits) stop there. Then the text
detector (PP-OCRv4 DB) runs alone on a copy of at most GATE_SIDE px (milliseconds); only
photos whose probability map holds a text-sized blob are read at full detail. A `PhotoReader` is not thread-safe (RapidOCR keeps per-call state): use one
per worker thread.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
from PIL import Image

# Longest side of the copy both gates look at. Text smaller than about 1/30 of the
# photo's height may disappear at this size: the price of a cheap gate.
GATE_SIDE = 256
# Longest side of the copy that is read. PP-OCR reads lines about 48 px high best.
READ_SIDE = 1280
# A pixel counts as "text" where the detector's probability passes this (PP-OCR's own 0.3).
GATE_PIXEL = 0.3
# ... and a photo goes on to the full read when at least this many such pixels touch, in a
# blob at least GATE_MIN_ASPECT times as long as it is wide (half the detector's false
# alarms on the emoji scenes are round blobs).
GATE_MIN_PIXELS = 12
GATE_MIN_ASPECT = 1.5
# The pixel test: a strong edge is a grey step of more than STROKE_EDGE levels, a thin
# stroke an edge followed by an opposite one within STROKE_WIDTH px, and a photo may hold
# text when some CELL x CELL cell has thin strokes at more than STROKE_DENSITY of its pixels.
# On the benchmark's generated text photos the lowest cell score is about 0.10; smooth
# scenes score 0 to 0.07, cartoon-like ones (the emoji scenes) 0 to 0.7.
STROKE_EDGE = 40
STROKE_WIDTH = 5
STROKE_DENSITY = 0.08
CELL = 16
# Lines read with less confidence than this are dropped (RapidOCR's own default is 0.5).
MIN_CONFIDENCE = 0.6
ENGINE_KEY = "rapidocr-onnxruntime/ppocrv4"  # stored beside each result: another engine reads again


@dataclass(frozen=True)
class TextLine:
    """One line of text read in a photo, with its four corners in the photo's pixels."""

    text: str
    box: tuple[tuple[float, float], ...]  # top-left, top-right, bottom-right, bottom-left
    confidence: float

    def as_dict(self) -> dict:
        return {"text": self.text, "box": [[round(x, 1), round(y, 1)] for x, y in self.box], "confidence": round(self.confidence, 3)}

    @classmethod
    def from_dict(cls, data: dict) -> "TextLine":
        return cls(str(data["text"]), tuple((float(x), float(y)) for x, y in data["box"]), float(data["confidence"]))


def _scaled(image: Image.Image, side: int) -> tuple[Image.Image, float]:
    """The image with its longest side at most `side` (never enlarged), and the factor back to the original."""
    longest = max(image.size)
    if longest <= side:
        return image, 1.0
    factor = side / longest
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return image.resize(size, Image.Resampling.BILINEAR), longest / side


def _dilate(mask: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """A 0/1 uint8 mask dilated by `kernel` anchored at its first cell (so it looks forward only)."""
    import cv2  # comes with the OCR engine

    return np.asarray(cv2.dilate(mask, kernel, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT, borderValue=0), dtype=np.uint8)


def stroke_density(image: Image.Image) -> float:
    """The densest CELL-px cell's share of thin-stroke pixels in a grey copy of at most GATE_SIDE px."""
    grey = np.asarray(_scaled(image.convert("L"), GATE_SIDE)[0], dtype=np.int16)
    hits: np.ndarray = np.zeros(grey.shape, dtype=np.uint8)
    for axis in (0, 1):
        step = np.diff(grey, axis=axis)
        up, down = (step > STROKE_EDGE).astype(np.uint8), (step < -STROKE_EDGE).astype(np.uint8)
        # "an opposite edge within STROKE_WIDTH px ahead": a dilation looking forward only
        ahead = np.ones((STROKE_WIDTH + 1, 1) if axis == 0 else (1, STROKE_WIDTH + 1), np.uint8)
        pair = (up & _dilate(down, ahead)) | (down & _dilate(up, ahead))
        if axis == 0:
            hits[:-1] |= pair
        else:
            hits[:, :-1] |= pair
    h, w = hits.shape
    rows, cols = h // CELL, w // CELL
    if rows == 0 or cols == 0:
        return float(hits.mean()) if hits.size else 0.0
    cells = hits[: rows * CELL, : cols * CELL].reshape(rows, CELL, cols, CELL).sum(axis=(1, 3), dtype=np.int32)
    return float(cells.max()) / (CELL * CELL)


def may_hold_text(image: Image.Image) -> bool:
    """The pixel test: some cell is dense with thin strokes (no model, under a millisecond)."""
    return stroke_density(image) >= STROKE_DENSITY


@functools.lru_cache(maxsize=1)
def _gate_detector():
    """The text detector alone, for the gate: one ONNX Runtime session shared by every thread (its run is thread-safe)."""
    import onnxruntime
    import rapidocr_onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = 1, 1  # parallelism comes from the worker pool
    model = Path(rapidocr_onnxruntime.__file__).parent / "models" / "ch_PP-OCRv4_det_infer.onnx"
    session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda tensor: session.run(None, {name: tensor})


class PhotoReader:
    """The OCR engine: `has_text` (cheap: the detector alone) and `read` (the full pass, loaded on first use)."""

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads
        self._full = None

    @property
    def _engine(self):
        if self._full is None:
            from rapidocr_onnxruntime import RapidOCR

            self._full = RapidOCR(intra_op_num_threads=self.threads, inter_op_num_threads=1, det_limit_type="max", det_limit_side_len=READ_SIDE)
        return self._full

    @staticmethod
    def _detector(tensor: np.ndarray):
        return _gate_detector()(tensor)

    def text_probability(self, image: Image.Image) -> np.ndarray:
        """The detector's per-pixel text probability on a copy of at most GATE_SIDE px."""
        small, _ = _scaled(image.convert("RGB"), GATE_SIDE)
        # The network wants sides that are multiples of 32; pad with edge pixels, no resampling.
        pixels = np.asarray(small, dtype=np.float32)[:, :, ::-1]  # RGB -> BGR, as PaddleOCR trained
        h, w = pixels.shape[:2]
        padded = np.pad(pixels, ((0, -h % 32 or 0), (0, -w % 32 or 0), (0, 0)), mode="edge") if (h % 32 or w % 32) else pixels
        tensor = ((padded / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)[None].astype(np.float32)
        return self._detector(tensor)[0][0, 0, :h, :w]

    def has_text(self, image: Image.Image) -> bool:
        """Whether the pixel test and then the small detection pass see a blob of text (no recognition)."""
        return may_hold_text(image) and self.detects_text(image)

    def detects_text(self, image: Image.Image) -> bool:
        """Whether the detector, on a copy of at most GATE_SIDE px, finds a text-sized blob."""
        mask = self.text_probability(image) > GATE_PIXEL
        if mask.sum() < GATE_MIN_PIXELS:
            return False
        import cv2

        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
        for label in range(1, count):
            if stats[label, cv2.CC_STAT_AREA] < GATE_MIN_PIXELS:
                continue
            ys, xs = np.nonzero(labels == label)
            _, (w, h), _ = cv2.minAreaRect(np.stack([xs, ys], axis=1).astype(np.float32))
            if max(w, h) >= GATE_MIN_ASPECT * max(1.0, min(w, h)):  # a line of text is long and thin, at any angle
                return True
        return False

    def read(self, image: Image.Image) -> list[TextLine]:
        """Every line of text found in the photo, top to bottom, in the photo's own pixel coordinates."""
        work, back = _scaled(image.convert("RGB"), READ_SIDE)
        found, _ = self._engine(work)
        lines: list[TextLine] = []
        for box, text, confidence in found or ():
            text = " ".join(str(text).split())
            if text and float(confidence) >= MIN_CONFIDENCE:
                lines.append(TextLine(text, tuple((float(x) * back, float(y) * back) for x, y in box), float(confidence)))
        return lines

    def read_if_text(self, image: Image.Image) -> Optional[list[TextLine]]:
        """`read` where `has_text`, else None (no text to read, at the gate's cost only)."""
        return self.read(image) if self.has_text(image) else None
