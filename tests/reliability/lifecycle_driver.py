"""A user's whole session in one process: index, train + activate, search, show, remove.

Usage: python lifecycle_driver.py PHOTOS CONFIG   (the library is the platform default)
Prints one JSON line: what the searches found.
"""

from __future__ import annotations

import json
import sys

from engine.facade import BitLens

from engine.models.backbones import BackboneSpec
from engine.training.lifecycle import activate_model, train_model


def main() -> int:
    photos, config = sys.argv[1:3]
    with BitLens() as library:
        library.index([photos], backbone=BackboneSpec.from_args("tiny"), device="cpu")
        model_id = train_model(library, bits=32, epochs=2, config_path=config, device="cpu")
        activate_model(library, model_id)
        searcher = library.searcher(device="cpu")
        text = [r.path for r in searcher.search(text="snowy mountain", limit=5)]
        query = f"{photos}/Camera Roll/IMG_0002.png"
        image = [r.path for r in searcher.search(image=query, limit=1)]
        library.photo(query)
        library.remove_folder(photos)
        print(json.dumps({"text": text, "image": image, "left": library.status()["photos"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
