"""Can a word the library has no photo of be told apart from one it has? (docs/search.md)

Builds a folders-only library from six scenes albums without the photos of three concepts
(music, Asian food, electronics: the ground truth only chooses photos, it never tags),
trains a 64-bit model on the folder names and activates it, then prints for each of the
benchmark's written queries two closeness figures a "nothing close" answer could use:

- CLIP's own: mean cosine of the query to its ten nearest photos (float embeddings);
- the zero-shot companion's: mean agreement of the query's projection with the bits of
  its ten nearest photos (Σ v·(2b−1) / Σ|v|, 1 = every bit agrees).

Then the range of each for queries whose concepts are absent and for the rest. Where the
ranges overlap, no threshold separates "nothing here" from a real match.

    .venv/bin/python bench/nothing_close_bench.py [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SCENES = REPO.parent / "shared" / "benchmark" / "scenes-s0"
BACKBONE = REPO.parent / "shared" / "benchmark" / "backbone"
ABSENT = {"music", "food-asian", "electronics"}
ALBUMS = ("2012-06 cars and trains", "2017-11 mammals", "Mammals 2021", "2009-01 birds", "Sea life 2014", "Camera Roll")


def main() -> None:
    from engine.library.codemodels import load_code_model, zero_shot_companion
    from engine.library.readmodel import photo_embeddings
    from engine.facade import BitLens

    from engine.models.backbones import BackboneSpec
    from engine.codes.bits import unpack_bits
    from engine.search.openvocab import DEFAULT_NEIGHBOURS
    from engine.training.lifecycle import activate_model, train_model
    from engine.training.regimes import mirror

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, help="where the library is built (default: a temporary folder)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bitlens-nothing-close-"))
    gt = json.loads((SCENES / "ground_truth.json").read_text(encoding="utf-8"))
    images = [im for im in gt["images"] if im["album"] in ALBUMS and im["split"] == "database" and not set(im["labels"]) & ABSENT]
    fresh = not (work / "lib").exists()
    if fresh:
        mirror(SCENES, images, work / "Pictures", "folders")
    spec = BackboneSpec.from_args(str(BACKBONE / "scenes-clip-tiny.json"), weights=str(BACKBONE / "scenes-clip-tiny.safetensors"))
    with BitLens(work / "lib") as library:
        if fresh:
            library.index([work / "Pictures"], backbone=spec)
            activate_model(library, train_model(library, bits=64, epochs=8, overrides={"training": {"database_codes": "fused"}}))
        searcher = library.searcher()
        with library.store.session() as session:
            companion = load_code_model(zero_shot_companion(session, searcher.model_id), models_dir=library.paths.models)
        with library.store.raw() as db:
            embeddings = photo_embeddings(db, searcher.spec.key, searcher.ids)
        embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
        signed = 2.0 * unpack_bits(searcher.open_vocabulary.codes, companion.bits) - 1
        print(f"{len(images)} photos without {', '.join(sorted(ABSENT))}; 64-bit model trained on folder names\n")
        print(f"{'query':<28}{'CLIP top-10 cosine':>20}{'companion agreement':>22}")
        figures: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
        for query in gt["text_queries"]:
            text = searcher.text_embedding(query["text"])
            cosine = float(np.sort(embeddings @ (text / np.linalg.norm(text)))[::-1][:DEFAULT_NEIGHBOURS].mean())
            values = companion.project_texts(text[None, :])[0]
            agreement = float(np.sort(signed @ values)[::-1][:DEFAULT_NEIGHBOURS].mean() / np.abs(values).sum())
            absent = set(query["concepts"]) <= ABSENT
            figures[absent].append((cosine, agreement))
            print(f"{query['text']:<28}{cosine:>20.3f}{agreement:>22.3f}{'   (absent)' if absent else ''}")
        for absent, rows in figures.items():
            c, a = np.array(rows).T
            print(
                f"\n{'absent' if absent else 'present'} ({len(rows)} queries): cosine {c.min():.2f}–{c.max():.2f}, agreement {a.min():.2f}–{a.max():.2f}",
                end="",
            )
        print()


if __name__ == "__main__":
    main()
