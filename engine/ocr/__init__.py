"""Reading the words inside photos (signs, menus, receipts, screenshots), offline.

`reader.py` wraps the OCR engine (RapidOCR: PP-OCRv4 detection and recognition on ONNX
Runtime, models shipped inside its wheel); `words.py` turns what it read into
searchable words and weak tags. Optional: without the `ocr` extra BitLens indexes and
searches as before, and `available()` says so.
"""

from __future__ import annotations

import importlib.util


def available() -> bool:
    """Whether the OCR engine is installed (the `ocr` extra)."""
    return importlib.util.find_spec("rapidocr_onnxruntime") is not None
