"""`BitLens`: a library with everything above it — search, listing, models, duplicates, suggestions.

`Library` (engine/library) owns the folders, the database and indexing; the layers above
it (search, training) take a library and add their verbs. An application wants one
object for all of them: this is it. Heavy parts (torch, the backbone) load only when a
verb needs them, so opening a `BitLens` is as cheap as opening its library.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Sequence

from ..jobs import CancelToken, ProgressCallback
from ..library import readmodel
from ..library.library import Library

if TYPE_CHECKING:
    from ..search.duplicates import DuplicateGroup, Review
    from ..search.filters import Filters
    from ..search.searcher import Searcher
    from ..search.suggest import TagSuggester
    from ..training.evaluation import Evaluation
    from ..training.tag_stats import TagOverview


def training_efforts() -> tuple[str, ...]:
    """The training efforts this engine can run ("head", "finetune", "scratch"; a build may offer fewer)."""
    from ..training import lifecycle

    return tuple(lifecycle.EFFORTS)


@dataclass(frozen=True)
class FeatureShape:
    """What the library's stored features look like, for training estimates: embedding size and tokens per photo."""

    dim: int
    tokens_per_image: int


class BitLens(Library):
    """The engine's facade: one user action, one method (see docs/engine.md, "Layers")."""

    # -- search and listing ----------------------------------------------------------

    def searcher(self, device: str = "auto") -> "Searcher":
        """A searcher over the active model's codes (loads them into memory once); SearchError without a model."""
        from ..search.searcher import Searcher

        return Searcher(self, device=device)

    def codes_version(self) -> tuple[int, Optional[int]]:
        """Changes whenever what a search ranks changes (codes written, photos gone, another model active).

        A searcher made under one version answers for the library as it was then: compare
        this before reusing one.
        """
        with self.store.raw() as db:
            return readmodel.codes_version(db)

    def listing(self, folder: Optional[str] = None, filters: Optional["Filters"] = None, sort: str = "indexed") -> list[tuple[int, str]]:
        """(id, path) of the readable photos, optionally below one folder and narrowed by filters, without a query.

        `sort`: "indexed" (the order photos were added), "date" (newest first) or "date-asc".
        """
        with self.store.raw() as db:
            rows = readmodel.photos_below(db, folder)
            if filters is not None and not filters.empty:
                from ..search.filters import matching_ids

                allowed = set(matching_ids(db, filters).tolist())
                rows = [row for row in rows if row[0] in allowed]
            if sort in ("date", "date-asc") and rows:
                from ..search.filters import photo_dates

                dates = photo_dates(db, [row[0] for row in rows])
                rows.sort(key=lambda row: dates.get(row[0], ""), reverse=sort == "date")
        return rows

    # -- near-duplicates and tag suggestions ----------------------------------------------

    def duplicates_review(self) -> "Review":
        """The user's decisions on duplicate groups ("not duplicates"), kept in the library folder."""
        from ..search.duplicates import Review

        return Review(self.paths.root)

    def find_duplicates(self, searcher: "Searcher", min_similarity: Optional[float] = None) -> list["DuplicateGroup"]:
        """Groups of near-identical photos, best copy first, leaving out groups the user dismissed."""
        from ..search.duplicates import DEFAULT_MIN_SIMILARITY, find_duplicates

        similarity = DEFAULT_MIN_SIMILARITY if min_similarity is None else min_similarity
        return find_duplicates(searcher, min_similarity=similarity, review=self.duplicates_review())

    def suggester(self, searcher: "Searcher") -> "TagSuggester":
        """Suggests tags for a photo from the photos that carry them."""
        from ..search.suggest import TagSuggester

        return TagSuggester(searcher)

    def accept_suggestion(self, path: str, tag: str) -> None:
        """Tag the photo with a suggested tag (a user tag)."""
        from ..search.suggest import accept_tag

        accept_tag(self, path, tag)

    def reject_suggestion(self, path: str, tag: str) -> None:
        """Never suggest this tag for this photo again."""
        from ..search.suggest import reject_tag

        reject_tag(self, path, tag)

    # -- code models: train, evaluate, activate, rename, remove --------------------------------

    def models(self) -> list[dict]:
        """The library's code models (trained and ITQ), with their scores and which one is active."""
        from ..training.lifecycle import list_models

        return list_models(self)

    def train_model(self, progress: Optional[ProgressCallback] = None, cancel: Optional[CancelToken] = None, **options: Any) -> int:
        """Train a hashing model on the library's tags and register it (not active); returns its id.

        `options` are `engine.training.lifecycle.train_model`'s (bits, epochs, effort, device, sources, folders, name …).
        """
        from ..training.lifecycle import train_model

        return train_model(self, progress=progress, cancel=cancel, **options)

    def evaluate_models(
        self,
        model_id: int,
        others: Sequence[int] = (),
        sources: Optional[Sequence[str]] = None,
        folders: Optional[Sequence[str]] = None,
        progress: Optional[ProgressCallback] = None,
        cancel: Optional[CancelToken] = None,
    ) -> "Evaluation":
        """Scores of a trained model and of `others` on the same held-out photos."""
        from ..training.evaluation import evaluate_models

        return evaluate_models(self, model_id, list(others), sources=sources, folders=folders, progress=progress, cancel=cancel)

    def activate_model(self, model_id: int, progress: Optional[ProgressCallback] = None, cancel: Optional[CancelToken] = None, device: str = "cpu") -> None:
        """Re-code the library with a model, then switch search to it (the old codes serve until then)."""
        from ..training.lifecycle import activate_model

        activate_model(self, model_id, progress=progress, cancel=cancel, device=device)

    def rename_model(self, model_id: int, name: str) -> str:
        from ..training.admin import rename_model

        return rename_model(self, model_id, name)

    def remove_model(self, model_id: int) -> None:
        """Delete a model that is not active, with its codes and files in the library's models folder."""
        from ..training.lifecycle import remove_model

        remove_model(self, model_id)

    def tag_overview(self, sources: Optional[Sequence[str]] = None, folders: Optional[Sequence[str]] = None) -> "TagOverview":
        """Counts, top tags and warnings for training on these tag sources and folders (None: all)."""
        from ..training.tag_stats import TAG_SOURCES, tag_overview

        return tag_overview(self, TAG_SOURCES if sources is None else sources, folders or None)

    def feature_shape(self) -> FeatureShape:
        """The size of the stored features of the library's backbone (zeros before anything was encoded)."""
        from ..library.features import FeatureCache
        from ..models.tokens import TOKENS_PER_IMAGE

        spec = self.current_backbone()
        if spec is None:
            return FeatureShape(0, 0)
        with self.store.raw() as db:
            dim = readmodel.embedding_size(db, spec.key)
        cache = FeatureCache(self.paths.cache, spec.key)
        try:
            tokens = 0 if cache.get_meta("has_tokens") == "0" else TOKENS_PER_IMAGE
        finally:
            cache.close()
        return FeatureShape(dim, tokens)
