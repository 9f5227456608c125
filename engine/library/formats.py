"""Which photo files BitLens reads: the extensions, with HEIC and camera RAW where their readers are installed."""

from __future__ import annotations

from ..pixels.decode import RAW_EXTENSIONS


def _register_heif() -> bool:
    """Register pillow_heif's HEIC/HEIF opener if it is installed; True when it is."""
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
    except Exception:  # not installed, or a broken native build: HEIC just stays unsupported
        return False
    return True


HEIF_AVAILABLE: bool = _register_heif()  # module import runs once, so this registers once


def _raw_available() -> bool:
    """Whether rawpy (LibRaw) is installed to read camera RAW files (the `raw` extra)."""
    try:
        import rawpy  # noqa: F401
    except Exception:  # not installed, or a broken native build: RAW files are just not indexed
        return False
    return True


RAW_AVAILABLE: bool = _raw_available()
SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".tif", ".tiff", ".bmp"}
    | ({".heic", ".heif"} if HEIF_AVAILABLE else set())
    | (RAW_EXTENSIONS if RAW_AVAILABLE else set())
)


def is_supported(name: str) -> bool:
    """True when the file name has an extension BitLens indexes (case-insensitive)."""
    dot = name.rfind(".")
    return dot > 0 and name[dot:].lower() in SUPPORTED_EXTENSIONS
