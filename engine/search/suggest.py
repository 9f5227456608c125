"""Tag suggestions: the user's own tags whose codes lie nearest a photo's code, with a confidence.

Each tag gets a code-space profile:

* a **prototype**: the per-bit mean of ±1 codes over the photos that carry the tag (tags on
  at least `min_photos` photos), compared with a photo's ±1 code as Σ b·p / Σ|p| in [−1, 1]
  (bits the tag's photos agree on count most);
* else, with `use_text`, the **text code** of "a photo of TAG" through the code model, compared
  as 1 − 2·hamming/K.

The **confidence** is a probability fitted on the library itself: per tag, a small logistic
regression of "carries the tag" on those similarities, over the photos that have at least one
tag (so their missing tags mean something). Photos inside a prototype are scored leave-one-out,
so a photo's own code does not flatter its tag. A photo's own tags are never suggested, and
neither are tags the user rejected for it.

Accepting a suggestion adds a "user" tag (it survives rescans); rejecting one is remembered
in `tag-suggestions.json` in the library folder. No photo file is written.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, AbstractSet, Optional

import numpy as np

from ..codes.bits import unpack_bits

if TYPE_CHECKING:
    from ..library.library import Library
    from .searcher import Searcher

__all__ = ["Suggestion", "TagSuggester", "accept_tag", "reject_tag"]

REJECTED_FILE = "tag-suggestions.json"


@dataclass(frozen=True)
class Suggestion:
    tag: str
    confidence: float  # estimated precision, 0..1
    score: float  # similarity in [-1, 1]
    basis: str  # "prototype" or "text"

    def as_dict(self) -> dict:
        return {"tag": self.tag, "confidence": round(self.confidence, 3), "score": round(self.score, 3), "basis": self.basis}


def _rejected_path(library: Library) -> Path:
    return Path(library.paths.root) / REJECTED_FILE


def _load_rejected(library: Library) -> dict[str, list[str]]:
    path = _rejected_path(library)
    if not path.is_file():
        return {}
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")).get("rejected", {}))
    except (OSError, ValueError):
        return {}


def reject_tag(library: Library, photo_path: str, tag: str) -> None:
    """Never suggest `tag` for this photo again (no file of the user's is touched)."""
    rejected = _load_rejected(library)
    names = rejected.setdefault(str(photo_path), [])
    if tag.casefold() not in {n.casefold() for n in names}:
        names.append(tag)
    path = _rejected_path(library)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"rejected": rejected}, indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(temporary, path)


def accept_tag(library: Library, photo_path: str, tag: str) -> None:
    """Give the photo `tag` as a user tag (kept across rescans; the first spelling of a tag wins)."""
    from sqlalchemy import select

    from ..library.schema import Image, ImageTag, Tag

    name = " ".join(tag.split())
    if not name:
        raise ValueError("an empty tag")
    with library.store.session() as session:
        image = session.scalar(select(Image).where(Image.path == str(photo_path)))
        if image is None:
            raise ValueError(f"not in the library: {photo_path}")
        existing = next((t for t in session.scalars(select(Tag)) if t.name.casefold() == name.casefold()), None)
        if existing is None:
            existing = Tag(name=name)
            session.add(existing)
            session.flush()
        if session.get(ImageTag, (image.id, existing.id, "user")) is None:
            session.add(ImageTag(image_id=image.id, tag_id=existing.id, source="user"))


def _fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 0.1, steps: int = 25) -> np.ndarray:
    """Weights (features + bias) of a small L2-regularised logistic regression, by Newton steps."""
    design = np.concatenate([x, np.ones((len(x), 1))], axis=1)
    w = np.zeros(design.shape[1])
    penalty = np.full(design.shape[1], l2)
    penalty[-1] = 1e-6  # the bias carries the base rate: barely regularised
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ w, -30, 30)))
        gradient = design.T @ (p - y) + penalty * w
        hessian = (design * (p * (1 - p))[:, None]).T @ design + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-6:
            break
    return w


class TagSuggester:
    """Profiles of the library's tags in the active model's code space (build once, ask often).

    Each tag has up to two similarity features for a photo's code: to the tag's prototype
    (photos carrying it) and to the tag's text code. A per-tag logistic regression on the
    library's labelled photos (those with any tag) turns them into a probability: the
    confidence shown to the user.
    """

    def __init__(self, searcher: Searcher, min_photos: int = 3, use_text: bool = False, max_tags: int = 2000) -> None:
        self.searcher = searcher
        self.library = searcher.library
        bits = searcher.bits
        n = len(searcher)
        self.signs = (unpack_bits(np.ascontiguousarray(searcher.index.codes), bits).astype(np.int8) * 2 - 1) if n else np.zeros((0, bits), np.int8)
        row_of = {int(image_id): row for row, image_id in enumerate(searcher.ids.tolist())}
        with self.library.store.raw() as db:
            pairs = db.execute("SELECT DISTINCT it.image_id, t.name FROM image_tags it JOIN tags t ON t.id = it.tag_id").fetchall()
        by_tag: dict[str, set[int]] = {}
        spelling: dict[str, str] = {}
        self.tags_of_row: dict[int, set[str]] = {}
        for image_id, name in pairs:
            row = row_of.get(int(image_id))
            if row is None:
                continue
            key = name.casefold()
            spelling.setdefault(key, name)
            by_tag.setdefault(key, set()).add(row)
            self.tags_of_row.setdefault(row, set()).add(key)
        keys = sorted(by_tag, key=lambda k: (-len(by_tag[k]), k))[:max_tags]
        labelled_rows = np.asarray(sorted(self.tags_of_row), dtype=np.int64)
        self.names: list[str] = []
        self.basis: list[str] = []
        self.prototypes: list[Optional[np.ndarray]] = []
        self.text_codes: list[Optional[np.ndarray]] = []
        self.weights: list[np.ndarray] = []
        self.counts: list[int] = []
        for key in keys:
            rows = np.fromiter(sorted(by_tag[key]), dtype=np.int64)
            prototype = self.signs[rows].sum(axis=0, dtype=np.int64) / len(rows) if len(rows) >= min_photos else None
            text = self._text_signs(spelling[key]) if use_text else None
            if prototype is None and text is None:
                continue
            self.names.append(spelling[key])
            self.basis.append("+".join(b for b, v in (("prototype", prototype), ("text", text)) if v is not None))
            self.prototypes.append(prototype)
            self.text_codes.append(text)
            self.counts.append(len(rows))
            # calibration on labelled photos; positives scored leave-one-out against the prototype
            has = np.isin(labelled_rows, rows)
            x = self._features(self.signs[labelled_rows], len(self.names) - 1, leave_out=has)
            self.weights.append(_fit_logistic(x, has.astype(np.float64)))

    def _text_signs(self, tag: str) -> np.ndarray:
        from .searcher import TEXT_PROMPT

        embedding = self.searcher.backbone.encode_texts([TEXT_PROMPT.format(tag)])[0]
        return self.searcher.code_model.encode_texts(embedding[None, :])[0].astype(np.float64) * 2 - 1

    def _features(self, signs: np.ndarray, index: int, leave_out: Optional[np.ndarray] = None) -> np.ndarray:
        """Similarity features (M, F) of ±1 codes to tag `index`; `leave_out` marks rows inside the prototype."""
        x = signs.astype(np.float64)
        columns = []
        prototype = self.prototypes[index]
        if prototype is not None:
            profile = np.broadcast_to(prototype, x.shape).copy()
            count = self.counts[index]
            if leave_out is not None and leave_out.any() and count > 1:
                # the prototype without the photo itself, so that its own code does not flatter it
                profile[leave_out] = (prototype * count - x[leave_out]) / (count - 1)
            columns.append((x * profile).sum(axis=1) / np.maximum(np.abs(profile).sum(axis=1), 1e-9))
        text = self.text_codes[index]
        if text is not None:
            columns.append(x @ text / x.shape[1])
        return np.stack(columns, axis=1)

    def probability(self, signs: np.ndarray, index: int) -> np.ndarray:
        """Calibrated probability that photos with these ±1 codes carry tag `index`."""
        x = self._features(signs, index)
        w = self.weights[index]
        return 1.0 / (1.0 + np.exp(-np.clip(x @ w[:-1] + w[-1], -30, 30)))

    def suggest_row(self, row: int, limit: int = 5, min_confidence: float = 0.2, skip: AbstractSet[str] = frozenset()) -> list[Suggestion]:
        have = self.tags_of_row.get(row, set()) | {s.casefold() for s in skip}
        out = []
        for index, name in enumerate(self.names):
            if name.casefold() in have:
                continue
            features = self._features(self.signs[row : row + 1], index)[0]
            confidence = float(self.probability(self.signs[row : row + 1], index)[0])
            if confidence >= min_confidence:
                out.append(Suggestion(name, confidence, float(features.mean()), self.basis[index]))
        out.sort(key=lambda s: (-s.confidence, -s.score, s.tag))
        return out[:limit]

    def suggest(self, photo_path: str, limit: int = 5, min_confidence: float = 0.2) -> list[Suggestion]:
        """Suggestions for one library photo (by path), best first."""
        path = str(Path(photo_path).expanduser().absolute())
        candidates = {path, str(Path(path).resolve())}
        try:
            row = next(i for i, p in enumerate(self.searcher.paths) if p in candidates)
        except StopIteration:
            raise ValueError(f"not in the library (or not coded yet): {photo_path}") from None
        skip = set()
        rejected = _load_rejected(self.library)
        for p in candidates:
            skip.update(rejected.get(p, []))
        return self.suggest_row(row, limit, min_confidence, skip)

    def untagged_paths(self) -> list[str]:
        return [p for row, p in enumerate(self.searcher.paths) if row not in self.tags_of_row]
