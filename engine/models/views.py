"""Several views of one query photo, so that its code does not hang on one framing.

A photo from outside the library is coded from its pixels alone, and the image head's
outputs for it are noisy: shifting or mirroring the picture a little moves many of them
across zero. Averaging the outputs over a few views before taking the sign keeps the bits
the views agree on (test-time augmentation, as in the ten-crop evaluation of image
classifiers). The views are the whole photo, the four corner crops and the centre crop,
each also mirrored: twelve in all. A crop keeps 90% of each side (81% of the area), inside
the range that CLIP training's random resized crops cover, so every view still shows the
scene the photo shows.

Only query photos get views. Library photos are coded once, from the whole photo, when
they are indexed: twelve backbone passes per photo would make indexing twelve times slower.
"""

from __future__ import annotations

import math
import os

from PIL import Image

CROP_SIDE = 0.9
VIEW_COUNT = 12


def photo_views(image: Image.Image, count: int = VIEW_COUNT, crop_side: float = CROP_SIDE) -> list[Image.Image]:
    """The first `count` (1 to 12) views of a photo, each followed by its mirror image.

    Order: whole photo, then the top-left, top-right, bottom-left, bottom-right and centre
    crops; 1 is the photo itself, 2 adds its mirror image.
    """
    if not 1 <= count <= VIEW_COUNT:
        raise ValueError(f"a photo has 1 to {VIEW_COUNT} views, not {count}")
    width, height = image.size
    w, h = max(1, round(width * crop_side)), max(1, round(height * crop_side))
    left, top = (width - w) // 2, (height - h) // 2
    boxes = [(0, 0, w, h), (width - w, 0, width, h), (0, height - h, w, height), (width - w, height - h, width, height), (left, top, left + w, top + h)]
    views: list[Image.Image] = []
    for upright in [image] + [image.crop(box) for box in boxes[: (count - 1) // 2]]:
        views += [upright, upright.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    return views[:count]


def decode_size(backbone_size: int, count: int = VIEW_COUNT, crop_side: float = CROP_SIDE) -> int:
    """How large to decode a photo so that its crops still fill the backbone's input."""
    return backbone_size if count <= 2 else math.ceil(backbone_size / crop_side)


def encode_photo_views(backbone, path: str | os.PathLike[str], count: int = VIEW_COUNT):
    """A photo file's views through a backbone: embeddings (count × D) and pooled tokens (count × S × D, or None).

    The file is decoded large enough for its crops (`decode_size`); an unreadable one
    raises `engine.pixels.decode.DecodeError`.
    """
    import torch

    from ..pixels.decode import load_rgb

    image = load_rgb(str(path), decode_size(backbone.image_size, count))
    batch = torch.stack([backbone.preprocess(view) for view in photo_views(image, count)])
    return backbone.encode_images_with_tokens(batch)
