"""Batched image encoding: decoding in worker threads overlapped with the model.

Pillow releases the GIL while it decodes and resizes, so a thread pool keeps the
next batches ready while torch runs the current one.
"""

from __future__ import annotations

import os
import warnings
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Optional, Sequence

import numpy as np
from PIL import Image, ImageOps

from ..jobs import CancelToken
from .backbones import Backbone


class DecodeError(Exception):
    """A photo could not be turned into pixels for the model."""


def _byte_size(source) -> int:
    """A photo's size in bytes: a path's file, or bytes sent in memory (a cluster worker's BytesIO)."""
    if isinstance(source, (str, os.PathLike)):
        return os.path.getsize(source)
    return source.getbuffer().nbytes


def load_rgb(path, target: int) -> Image.Image:
    """Open a photo (a path, or its bytes in a BytesIO) as an upright RGB image, decoding JPEGs at
    reduced size when possible."""
    from ..library.metadata import is_raw
    from ..library.pixel_limit import photo_pixel_limit, too_many_pixels

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


def _load_raw(path: str) -> Image.Image:
    """A camera RAW file developed by LibRaw at half size (turned upright by its own orientation)."""
    from ..library.pixel_limit import too_many_pixels

    try:
        import rawpy  # type: ignore[import-not-found]
    except ImportError as error:
        raise DecodeError("camera RAW files need the `raw` extra (pip install 'bitlens[raw]')") from error
    try:
        with rawpy.imread(path) as raw:
            if reason := too_many_pixels(raw.sizes.width, raw.sizes.height, os.path.getsize(path)):
                raise DecodeError(reason)
            # Half size is plenty for the model and a thumbnail, and four times quicker.
            pixels = raw.postprocess(half_size=True, use_camera_wb=True, output_bps=8)
    except DecodeError:
        raise
    except Exception as error:  # rawpy.LibRawError and its kin, OSError
        raise DecodeError(f"cannot decode camera RAW file: {type(error).__name__}: {error}") from error
    return Image.fromarray(pixels, "RGB")


def prepare_image(backbone: Backbone, path: str):
    """A photo as the backbone's input tensor (upright, RGB, its preprocessing); DecodeError if unreadable."""
    return backbone.preprocess(load_rgb(path, backbone.image_size))


@dataclass
class EncodedBatch:
    """One model batch: which inputs were encoded and which failed, and why."""

    indices: list[int]
    embeddings: np.ndarray
    tokens: Optional[np.ndarray] = None
    failures: list[tuple[int, str]] = field(default_factory=list)
    # The encoder's `fingerprint` of each encoded photo (same order as `indices`), when asked for.
    fingerprints: list[bytes] = field(default_factory=list)


def default_workers() -> int:
    return max(1, min(8, (os.cpu_count() or 2)))


class ImageEncoder:
    """Turns photo paths into backbone embeddings, batch by batch."""

    def __init__(
        self, backbone: Backbone, batch_size: int = 32, workers: Optional[int] = None, fingerprint: Optional[Callable[[Image.Image], bytes]] = None
    ) -> None:
        self.backbone = backbone
        self.batch_size = batch_size
        self.workers = workers or default_workers()
        # Computed from the picture already decoded for the model: no second decode.
        self.fingerprint = fingerprint

    def _prepare(self, path: str):
        image = load_rgb(path, self.backbone.image_size)
        return self.backbone.preprocess(image), (self.fingerprint(image) if self.fingerprint is not None else None)

    def encode(self, paths: Sequence[str], cancel: Optional[CancelToken] = None) -> Iterator[EncodedBatch]:
        """Yield embeddings for `paths` in order, batch by batch; bad files are reported, not raised."""
        import torch

        batches = [list(range(start, min(start + self.batch_size, len(paths)))) for start in range(0, len(paths), self.batch_size)]
        with ThreadPoolExecutor(self.workers, thread_name_prefix="bitlens-decode") as pool:
            pending: deque[tuple[list[int], list[Future]]] = deque()

            def submit(batch: list[int]) -> None:
                pending.append((batch, [pool.submit(self._prepare, paths[i]) for i in batch]))

            queue: Iterable[list[int]] = iter(batches)
            for batch in queue:
                submit(batch)
                if len(pending) >= 2:  # one batch decoding ahead of the one the model runs
                    break
            for batch_indices, futures in self._drain(pending, queue, submit):
                if cancel is not None:
                    cancel.raise_if_cancelled()
                tensors, ok, failures, prints = [], [], [], []
                for index, future in zip(batch_indices, futures):
                    try:
                        tensor, fingerprint = future.result()
                        tensors.append(tensor)
                        prints.append(fingerprint)
                        ok.append(index)
                    except DecodeError as error:
                        failures.append((index, str(error)))
                    except Exception as error:  # a bad file must never stop the batch
                        failures.append((index, f"cannot decode image: {type(error).__name__}: {error}"))
                tokens = None
                if ok:
                    embeddings, tokens = self.backbone.encode_images_with_tokens(torch.stack(tensors))
                else:
                    embeddings = np.zeros((0, self.backbone.embed_dim), np.float32)
                yield EncodedBatch(ok, embeddings, tokens, failures, prints if self.fingerprint is not None else [])

    @staticmethod
    def _drain(pending, queue, submit):
        while pending:
            current = pending.popleft()
            nxt = next(queue, None)
            if nxt is not None:
                submit(nxt)
            yield current
