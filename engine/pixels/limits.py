"""How many pixels a photo may have: real camera sizes yes, decompression bombs no.

Pillow refuses images above 2 × 89.5 MP (and warns above 89.5 MP), which turns away real
100–200 MP photos from medium-format cameras and phone "high resolution" modes. BitLens
accepts up to `MAX_PHOTO_PIXELS` while it opens a photo, and refuses a frame header that
claims more, or that claims more than Pillow's default on a file far too small to hold
such a picture (a forged header: a real 100 MP JPEG is tens of megabytes).

Importing this module changes nothing: the limit is raised only inside `photo_pixel_limit()`.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator, Optional

from PIL import Image

MAX_PHOTO_PIXELS = 250_000_000  # the largest camera sensors (e.g. 200 MP phones, 150 MP medium format) with room
PILLOW_DEFAULT_PIXELS = 89_478_485  # Pillow's own MAX_IMAGE_PIXELS
# Past Pillow's default, a file must hold at least one byte per this many pixels. A flat
# JPEG of that size needs about one byte per 100 pixels at the very least; camera photos
# carry one byte per 1–4 pixels; a bomb (a flat PNG, a patched header) far less than 1 per 1,000.
PIXELS_PER_BYTE_AT_MOST = 200

_lock = threading.Lock()
_holders = 0
_saved: Optional[int] = None


@contextmanager
def photo_pixel_limit() -> Iterator[None]:
    """Let Pillow open photos up to MAX_PHOTO_PIXELS inside this block (thread-safe, nests)."""
    global _holders, _saved
    with _lock:
        if _holders == 0:
            _saved = Image.MAX_IMAGE_PIXELS
            if Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS < MAX_PHOTO_PIXELS:
                Image.MAX_IMAGE_PIXELS = MAX_PHOTO_PIXELS
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0:
                Image.MAX_IMAGE_PIXELS = _saved


def too_many_pixels(width: int, height: int, file_size: int) -> Optional[str]:
    """Why a picture of this size in a file of this many bytes is refused, or None if it is fine."""
    pixels = width * height
    if pixels > MAX_PHOTO_PIXELS:
        return f"image is too large: {width}×{height} pixels (at most {MAX_PHOTO_PIXELS // 1_000_000} MP are read)"
    if pixels > PILLOW_DEFAULT_PIXELS and file_size * PIXELS_PER_BYTE_AT_MOST < pixels:
        return f"image is too large for its file: {width}×{height} pixels in {file_size:,} bytes (a forged or damaged header)"
    return None
