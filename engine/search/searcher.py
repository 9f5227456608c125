"""Answering text and image queries over the active model's codes."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import numpy as np

from ..library.codemodels import active_model, backbone_of, load_code_model, zero_shot_companion
from ..codes.bits import EMBED_DTYPE
from ..library.scanner import content_hash
from ..library.schema import Folder
from ..models.backbones import LRU, Backbone
from ..models.views import VIEW_COUNT
from .codecache import load_codes
from .cutoff import default_radius
from .expansion import DEFAULT_EXPANSION, expand_packed
from .filters import FilterError, Filters, matching_ids, photo_dates
from ..codes.bits import pack_bits, unpack_bits
from .mih import build_index
from .openvocab import ZeroShotNeighbours, mixed_values, vocabulary_form
from .pathcolumn import PathColumn
from .phototext import PhotoTexts
from .query import ParsedQuery, QueryError, Term, parse_query

if TYPE_CHECKING:
    from ..library.library import Library

# CLIP was trained on captions; a short prompt around a bare query word helps it.
TEXT_PROMPT = "a photo of {}"
SORTS = ("distance", "date", "date-asc")


class SearchError(RuntimeError):
    """A query that cannot be answered, explained in one sentence."""


class QuerySyntaxError(SearchError):
    """A query the search language cannot parse; `position` is the 0-based column."""

    def __init__(self, error: QueryError) -> None:
        super().__init__(f"query: {error}")
        self.position = error.position
        self.pointer = error.pointer()


@dataclass(frozen=True)
class SearchResult:
    """One ranked photo: its rank (1-based), path and Hamming distance to the query."""

    rank: int
    image_id: int
    path: str
    distance: int

    def as_dict(self) -> dict:
        return {"rank": self.rank, "path": self.path, "distance": self.distance}


class Searcher:
    """Holds the active model's codes in RAM and ranks them against queries."""

    def __init__(self, library: Library, device: str = "auto") -> None:
        self.library = library
        self.device = device
        # neighbours voted into a photo query from outside the library (0: off); see expansion.py
        self.image_query_expansion = DEFAULT_EXPANSION
        # views averaged for a photo query from outside the library (1: the photo alone); see views.py
        self.image_query_views = VIEW_COUNT
        self._image_values = LRU(size=32)
        self.last_matched = 0  # photos that passed the folder, filters and radius in the last ranking
        with library.store.session() as session:
            model = active_model(session)
            if model is None:
                raise SearchError("the library has no codes yet: run `bitlens index FOLDER` first")
            self.model_id, self.bits = model.id, model.bits
            # "close matches only" by default: the radius training calibrated on held-out
            # tagged photos, or the code-length rule for untrained codes (cutoff.py)
            calibrated = json.loads(model.metrics or "{}").get("close_radius")
            self.default_radius = int(calibrated) if calibrated is not None else default_radius(model.bits)
            self.spec = backbone_of(model, library.paths.models)
            self.code_model = load_code_model(model, models_dir=library.paths.models)
            self.folder_paths = {f.id: f.path for f in session.query(Folder)}
            companion = zero_shot_companion(session, model.id)
            companion_model = None if companion is None else load_code_model(companion, models_dir=library.paths.models)
        # The trained model's tags (case-folded): a query naming one is coded as that tag.
        self.vocabulary: frozenset[str] = frozenset(getattr(self.code_model, "vocabulary", None) or ())
        tag_embeddings = getattr(self.code_model, "vocabulary_embeddings", None)
        self._vocabulary_embeddings = None if tag_embeddings is None else tag_embeddings.float().cpu().numpy()
        with library.store.raw() as db:
            # Codes of other models are never mixed in: one model, one ranking.
            loaded = load_codes(db, library.paths.cache, self.model_id, self.bits)
            zero_shot = None if companion is None else load_codes(db, library.paths.cache, companion.id, companion.bits)
        self.codes_from_cache = loaded.from_cache
        self.index = build_index(loaded.ids, loaded.codes, self.bits)  # + MIH tables past 2M photos
        self.ids, self.folder_ids = self.index.ids, loaded.folder_ids  # the index's own copy: no second one
        del loaded
        # Words that are no tag find their photos through CLIP's own geometry (openvocab.py).
        self.open_vocabulary = None
        if zero_shot is not None and companion_model is not None and self.vocabulary:
            self.open_vocabulary = ZeroShotNeighbours(companion_model, zero_shot.ids, zero_shot.codes, self.ids)
            del zero_shot
        # Paths are read when a result needs one (a million strings cost seconds to load).
        self.paths = PathColumn(library.store, self.ids)
        # Text read in photos at index time (OCR), loaded on the first query that needs it.
        self.photo_texts = PhotoTexts(library.store)
        self._backbone: Optional[Backbone] = None

    def __len__(self) -> int:
        return len(self.paths)

    def adopt_backbone(self, other: "Searcher") -> None:
        """Reuse another searcher's loaded backbone when both use the same one (saves seconds)."""
        if other._backbone is not None and other.spec.key == self.spec.key:
            self._backbone = other._backbone

    @property
    def backbone(self) -> Backbone:
        """The backbone, loaded on first use (text and new-image queries need it)."""
        if self._backbone is None:
            self._backbone = Backbone(self.spec, device=self.device, onnx_dir=self.library.paths.cache / "onnx")
        return self._backbone

    def text_embedding(self, text: str) -> np.ndarray:
        return self.backbone.encode_texts([TEXT_PROMPT.format(text.strip())])[0]

    def _query_file(self, path: str | os.PathLike[str]) -> tuple[Path, str]:
        """The query photo's path and content hash (hashed once per query)."""
        file = Path(path).expanduser()
        if not file.is_file():
            raise SearchError(f"query image not found: {file}")
        return file, content_hash(str(file))

    def image_features(self, file: Path, digest: str) -> tuple[np.ndarray, Optional[np.ndarray]]:
        """A photo's embeddings (V × D) and pooled tokens (V × S × D, or None), one row per view.

        A photo whose bytes are in the library has one view, its cached features (as indexing
        coded it); a photo from outside is decoded and encoded in `image_query_views` views.
        """
        with self.library.store.raw() as db:
            row = db.execute("SELECT vector FROM embeddings WHERE content_hash = ? AND backbone_key = ?", (digest, self.spec.key)).fetchone()
        if row is not None:
            embedding = np.frombuffer(row[0], dtype=EMBED_DTYPE).astype(np.float32)[None, :]
            if not self.code_model.needs_tokens:
                return embedding, None
            from ..library.features import FeatureCache

            cache = FeatureCache(self.library.paths.cache, self.spec.key)
            try:
                tokens = cache.tokens_of(digest, embedding.shape[1])
            finally:
                cache.close()
            if tokens is not None:
                return embedding, tokens[None]
        from ..pixels.decode import DecodeError
        from ..models.views import encode_photo_views

        try:
            return encode_photo_views(self.backbone, file, self.image_query_views)
        except DecodeError as error:
            raise SearchError(f"{file}: {error}") from error

    def image_values(self, file: Path, digest: str) -> np.ndarray:
        """A query photo's real-valued code-model output (K,): the mean over its views.

        Remembered per photo content (and view count), so re-running a query with other
        filters does not encode the photo again.
        """
        key = f"{digest}:{self.image_query_views}"
        values = self._image_values.get(key)
        if values is None:
            embeddings, tokens = self.image_features(file, digest)
            values = np.asarray(self.code_model.project_images(embeddings, tokens), dtype=np.float64).mean(axis=0)
            self._image_values.put(key, values)
        return values

    def stored_code(self, digest: str) -> Optional[np.ndarray]:
        """The library's own code for a photo with these bytes ("find similar"), as {0,1} bits."""
        with self.library.store.raw() as db:
            found = [r[0] for r in db.execute("SELECT id FROM images WHERE content_hash = ? AND status = 'ok' ORDER BY id", (digest,))]
        for image_id in found:
            position = int(np.searchsorted(self.ids, image_id))
            if position < len(self.ids) and self.ids[position] == image_id:
                return unpack_bits(self.index.codes[position : position + 1], self.bits)[0]
        return None

    def parse(self, text: Optional[str] = None, image: Optional[str] = None) -> ParsedQuery:
        """The query's terms: the text in the search language, plus `image` as one more added photo."""
        terms: list[Term] = []
        if text and text.strip():
            try:
                terms = parse_query(text).terms
            except QueryError as error:
                raise QuerySyntaxError(error) from error
        if image:
            terms.append(Term("image", str(image), 1.0, len(text or "")))
        if not terms:
            raise SearchError("give a text query, an image query, or both")
        return ParsedQuery(terms)

    def _image_term_file(self, term: Term) -> tuple[Path, str]:
        """The file of an image term; a missing one names the term's column and the quoting rule."""
        try:
            return self._query_file(term.value)
        except SearchError as error:
            raise SearchError(f'{error} (the photo term at column {term.start + 1}; a path with spaces needs quotes: img:"…")') from error

    def text_values(self, text: str) -> np.ndarray:
        """A text's real-valued code (K,): positive where its bit is set.

        A text that names a tag of the trained model (up to case, article and number) is
        coded as that tag; another text, where the model has a zero-shot companion, by the
        majority of the trained codes of the photos CLIP finds for it (`openvocab.py`).
        """
        tag = vocabulary_form(text, self.vocabulary) if self.vocabulary else None
        embedding = self.text_embedding(tag or text)
        values = np.asarray(self.code_model.project_texts(embedding[None, :])[0], dtype=np.float64)
        if tag is None and self.open_vocabulary is not None and len(self.open_vocabulary):
            rows = self.open_vocabulary.rows_for(embedding)
            values = mixed_values(values, embedding, unpack_bits(self.index.codes[rows], self.bits), self._vocabulary_embeddings)
        return values

    def term_values(self, term: Term) -> np.ndarray:
        """A term's real-valued code-model output (K,), before binarisation."""
        if term.kind == "text":
            return self.text_values(term.value)
        return self.image_values(*self._image_term_file(term))

    def combined_values(self, parsed: ParsedQuery) -> np.ndarray:
        """Σ weight × (term output scaled to unit length): what query arithmetic binarises."""
        total = np.zeros(self.bits, dtype=np.float64)
        for term in parsed.terms:
            values = np.asarray(self.term_values(term), dtype=np.float64)
            norm = float(np.linalg.norm(values))
            if norm > 0:
                total += term.weight * values / norm
        return total

    def query_code(self, text: Optional[str] = None, image: Optional[str] = None) -> np.ndarray:
        """The packed code of a query in the search language (see engine/search/query.py).

        A single added term is coded exactly as indexing codes it (a library photo keeps its
        stored code). Several terms, weights or taken-away terms are combined on the code
        model's real-valued outputs, each scaled to unit length, then binarised by sign.
        """
        parsed = self.parse(text, image).without_photo_text()
        if not parsed.terms:
            raise SearchError("text: terms match the words written in photos; they have no code to rank by")
        if parsed.is_plain:
            term = parsed.terms[0]
            if term.kind == "text":
                return pack_bits((self.text_values(term.value) > 0).astype(np.uint8)[None, :])[0]
            file, digest = self._image_term_file(term)
            stored = self.stored_code(digest)
            if stored is not None:
                return pack_bits(stored[None, :])[0]
            code = pack_bits((self.image_values(file, digest) > 0).astype(np.uint8)[None, :])[0]
            if self.code_model.needs_tags:
                # pixels alone, against library codes that also hold their tags: expand the query
                code = expand_packed(self.index, code, self.image_query_expansion)
            return code
        return pack_bits((self.combined_values(parsed) > 0).astype(np.uint8)[None, :])[0]

    def folder_mask(self, folder: str | os.PathLike[str]) -> np.ndarray:
        """Rows of photos below one library folder (or any sub-folder of one)."""
        wanted = Path(folder).expanduser().resolve()
        exact = [fid for fid, p in self.folder_paths.items() if Path(p) == wanted]
        if exact:
            return np.isin(self.folder_ids, exact)
        prefix = str(wanted) + os.sep
        if not any(wanted.is_relative_to(p) for p in self.folder_paths.values()):
            raise SearchError(f"not in any library folder: {wanted}")
        return np.fromiter((p.startswith(prefix) for p in self.paths), dtype=bool, count=len(self.paths))

    def mask(self, folder: Optional[str] = None, filters: Optional[Filters] = None) -> Optional[np.ndarray]:
        """Rows that pass the folder choice and the filters (None: every row)."""
        mask = self.folder_mask(folder) if folder else None
        if filters is not None and not filters.empty:
            try:
                with self.library.store.raw() as db:
                    allowed = np.isin(self.ids, matching_ids(db, filters))
            except FilterError as error:
                raise SearchError(str(error)) from error
            mask = allowed if mask is None else mask & allowed
        return mask

    def search(
        self,
        text: Optional[str] = None,
        image: Optional[str] = None,
        limit: int = 20,
        folder: Optional[str] = None,
        filters: Optional[Filters] = None,
        radius: Optional[int] = None,
        sort: str = "distance",
    ) -> list[SearchResult]:
        """Rank the library by Hamming distance to the query; `limit` 0 means everything."""
        parsed = self.parse(text, image)
        only, exclude = self.photo_text_terms(parsed)
        if not parsed.without_photo_text().terms:  # text: terms alone: no code, the matches in library order
            return self.rank_matches(only, limit, folder, filters=filters, exclude=exclude, sort=sort)
        first = self.photo_text_matches(parsed)
        code = self.query_code(text, image)
        return self.rank(code, limit, folder, filters=filters, radius=radius, sort=sort, only=only, exclude=exclude, first=first)

    def photo_text_terms(self, parsed: ParsedQuery) -> tuple[Optional[np.ndarray], Optional[np.ndarray]]:
        """Ids the `text:` terms allow (None: no added one) and ids they take away (None: none)."""
        only = exclude = None
        for term in parsed.photo_text:
            ids = self.photo_texts.matching_phrase(term.value)
            if term.weight > 0:
                only = ids if only is None else np.intersect1d(only, ids)
            else:
                exclude = ids if exclude is None else np.union1d(exclude, ids)
        return only, exclude

    def photo_text_matches(self, parsed: ParsedQuery) -> Optional[np.ndarray]:
        """Ids of photos whose text holds every word of the added plain phrases (ranked first), or None."""
        from ..ocr.words import query_words

        words = [w for term in parsed.texts if term.weight > 0 for w in query_words(term.value)]
        if not words or not len(self.photo_texts):
            return None
        found = self.photo_texts.matching(words)
        return found if len(found) else None

    def rank_matches(
        self,
        ids: Optional[np.ndarray],
        limit: int = 20,
        folder: Optional[str] = None,
        filters: Optional[Filters] = None,
        exclude: Optional[np.ndarray] = None,
        sort: str = "distance",
    ) -> list[SearchResult]:
        """Photos matched by their text alone (distance 0 each), in library order or by date."""
        if sort not in SORTS:
            raise SearchError(f"unknown sort order '{sort}' (one of {', '.join(SORTS)})")
        keep = np.isin(self.ids, ids if ids is not None else np.zeros(0, np.int64))
        mask = self.mask(folder, filters)
        if mask is not None:
            keep &= mask
        if exclude is not None:
            keep &= ~np.isin(self.ids, exclude)
        rows = np.flatnonzero(keep)
        self.last_matched = len(rows)
        if sort != "distance":
            rows = self._by_date(rows, sort)
        if limit > 0:
            rows = rows[:limit]
        return [SearchResult(rank + 1, int(self.ids[row]), self.paths[int(row)], 0) for rank, row in enumerate(rows)]

    def _by_date(self, rows: np.ndarray, sort: str) -> np.ndarray:
        """Rows newest first ("date") or oldest first ("date-asc"); stable, so ties keep their order."""
        with self.library.store.raw() as db:
            dates = photo_dates(db, self.ids[rows])
        keys = [dates.get(int(i), "") for i in self.ids[rows]]
        order = sorted(range(len(rows)), key=lambda j: keys[j], reverse=(sort == "date"))
        return rows[np.asarray(order, dtype=np.int64)] if order else rows

    def rank(
        self,
        code: np.ndarray,
        limit: int = 20,
        folder: Optional[str] = None,
        filters: Optional[Filters] = None,
        radius: Optional[int] = None,
        sort: str = "distance",
        only: Optional[np.ndarray] = None,
        exclude: Optional[np.ndarray] = None,
        first: Optional[np.ndarray] = None,
    ) -> list[SearchResult]:
        """Rank by an already computed packed code.

        `radius`: only photos at most this many bits from the query (none may be left).
        `sort`: "distance" (closest first), or "date"/"date-asc" (newest/oldest first among
        the matches: the photos within the radius, or without one the `limit` closest).
        `only` / `exclude`: ids allowed / taken out (the `text:` terms). `first`: ids ranked
        above all others (photos whose text holds the query's words), by distance among
        themselves; a `radius` keeps them however far their codes are.

        Afterwards `last_matched` says how many photos passed the folder, the filters and
        the radius: the "of N" behind a page of `limit` results.
        """
        if sort not in SORTS:
            raise SearchError(f"unknown sort order '{sort}' (one of {', '.join(SORTS)})")
        mask = self.mask(folder, filters)
        if only is not None or exclude is not None:
            allowed = np.isin(self.ids, only) if only is not None else np.ones(len(self), dtype=bool)
            if exclude is not None:
                allowed &= ~np.isin(self.ids, exclude)
            mask = allowed if mask is None else mask & allowed
        ahead = None if first is None or not len(first) else np.isin(self.ids, first)
        if ahead is not None and mask is not None:
            ahead &= mask
        if radius is None and sort == "distance":
            self.last_matched = len(self) if mask is None else int(np.count_nonzero(mask))
        if radius is None and sort == "distance" and ahead is not None:
            ids, distances = self.index.search(code, limit, mask=ahead)
            if limit <= 0 or len(ids) < limit:
                rest = ~ahead if mask is None else mask & ~ahead
                more_ids, more_distances = self.index.search(code, 0 if limit <= 0 else limit - len(ids), mask=rest)
                ids, distances = np.concatenate([ids, more_ids]), np.concatenate([distances, more_distances])
        elif radius is None and sort == "distance":
            ids, distances = self.index.search(code, limit, mask=mask)
        else:
            all_distances = self.index.distances(code)
            keep = np.ones(len(self), dtype=bool) if mask is None else mask.copy()
            if radius is not None:
                keep &= all_distances <= radius
                if ahead is not None:
                    keep |= ahead  # a photo with the words written in it is a match, however far its code
            rows = np.flatnonzero(keep)
            self.last_matched = len(rows)
            if ahead is None:
                rows = rows[np.argsort(all_distances[rows], kind="stable")]  # (distance, position)
            else:
                rows = rows[np.lexsort((all_distances[rows], ~ahead[rows]))]  # text matches, then distance
            if radius is None and limit > 0:
                rows = rows[:limit]  # no cutoff: the matches are the closest, not the newest of the library
            if sort != "distance":
                rows = self._by_date(rows, sort)  # ties stay by distance
            if limit > 0:
                rows = rows[:limit]
            ids, distances = self.ids[rows], all_distances[rows].astype(np.int32)
        position = np.searchsorted(self.ids, ids)
        return [
            SearchResult(rank + 1, int(image_id), self.paths[int(pos)], int(dist)) for rank, (image_id, pos, dist) in enumerate(zip(ids, position, distances))
        ]
