"""A photo file as upright RGB pixels: Pillow for common formats, LibRaw for camera RAW, size limits enforced."""

from __future__ import annotations

import io
import os
import warnings

from PIL import Image, ImageOps

from .limits import photo_pixel_limit, too_many_pixels

# Camera RAW files LibRaw reads; their pixels come from rawpy, their EXIF from the TIFF header most of them have.
RAW_EXTENSIONS: frozenset[str] = frozenset({".dng", ".cr2", ".cr3", ".nef", ".nrw", ".arw", ".orf", ".rw2", ".raf", ".pef", ".srw"})


def is_raw(path: str | os.PathLike[str]) -> bool:
    """True for a camera RAW file name (read through rawpy, not Pillow)."""
    name = os.fspath(path)
    dot = name.rfind(".")
    return dot > 0 and name[dot:].lower() in RAW_EXTENSIONS


# What a photo is read from: a path, or its bytes in memory (a cluster worker's BytesIO).
PhotoSource = str | os.PathLike[str] | io.BytesIO


class DecodeError(Exception):
    """A photo could not be turned into pixels for the model."""


def _byte_size(source: PhotoSource) -> int:
    """A photo's size in bytes: a path's file, or bytes sent in memory (a cluster worker's BytesIO)."""
    if isinstance(source, (str, os.PathLike)):
        return os.path.getsize(source)
    return source.getbuffer().nbytes


def load_rgb(path: PhotoSource, target: int) -> Image.Image:
    """Open a photo (a path, or its bytes in a BytesIO) as an upright RGB image, decoding JPEGs at
    reduced size when possible."""
    if isinstance(path, (str, os.PathLike)) and is_raw(path):
        return _load_raw(path)
    try:
        # The limit is raised for the whole decode: Pillow checks sizes again when it crops.
        with warnings.catch_warnings(), photo_pixel_limit():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                if reason := too_many_pixels(image.width, image.height, _byte_size(path)):
                    raise DecodeError(reason)
                if image.format in ("JPEG", "MPO"):
                    # DCT scaling: decode straight to >= target px instead of full size.
                    image.draft("RGB", (target, target))
                image.seek(0)  # first frame of GIF / WebP animations
                upright = ImageOps.exif_transpose(image)
                if upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P" and "transparency" in upright.info):
                    # Transparent areas onto white, as a viewer shows them.
                    rgba = upright.convert("RGBA")
                    canvas = Image.new("RGB", rgba.size, (255, 255, 255))
                    canvas.paste(rgba, mask=rgba.getchannel("A"))
                    return canvas
                return upright.convert("RGB")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise DecodeError(f"image is too large to decode safely ({error})") from error
    except (OSError, ValueError, SyntaxError, EOFError) as error:
        raise DecodeError(f"cannot decode image: {error}") from error


def _load_raw(path: str | os.PathLike[str]) -> Image.Image:
    """A camera RAW file developed by LibRaw at half size (turned upright by its own orientation)."""
    try:
        import rawpy
    except ImportError as error:
        raise DecodeError("camera RAW files need the `raw` extra (pip install 'bitlens[raw]')") from error
    try:
        with rawpy.imread(os.fspath(path)) as raw:  # rawpy takes a Path for a file object: give it the name
            if reason := too_many_pixels(raw.sizes.width, raw.sizes.height, os.path.getsize(path)):
                raise DecodeError(reason)
            # Half size is plenty for the model and a thumbnail, and four times quicker.
            pixels = raw.postprocess(half_size=True, use_camera_wb=True, output_bps=8)
    except DecodeError:
        raise
    except Exception as error:  # rawpy.LibRawError and its kin, OSError
        raise DecodeError(f"cannot decode camera RAW file: {type(error).__name__}: {error}") from error
    return Image.fromarray(pixels, "RGB")
