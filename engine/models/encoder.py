"""Batched image encoding: decoding in worker threads overlapped with the model.

Pillow releases the GIL while it decodes and resizes, so a thread pool keeps the
next batches ready while torch runs the current one.
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Optional, Sequence

import numpy as np
from PIL import Image

from ..jobs import CancelToken
from ..pixels.decode import DecodeError, PhotoSource, load_rgb
from .backbones import Backbone


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

    def _prepare(self, path: PhotoSource):
        image = load_rgb(path, self.backbone.image_size)
        return self.backbone.preprocess(image), (self.fingerprint(image) if self.fingerprint is not None else None)

    def encode(self, paths: Sequence[PhotoSource], cancel: Optional[CancelToken] = None) -> Iterator[EncodedBatch]:
        """Yield embeddings for `paths` (or photos' bytes) in order, batch by batch; bad files are reported, not raised."""
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
