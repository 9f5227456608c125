"""Answering text and image queries over the active model's codes."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from ..library.codemodels import active_model, backbone_of, load_code_model
from ..library.indexing import EMBED_DTYPE
from ..library.scanner import content_hash
from ..library.schema import Folder
from .hamming import HammingIndex, pack_bits, unpack_bits

# CLIP was trained on captions; a short prompt around a bare query word helps it.
TEXT_PROMPT = "a photo of {}"


class SearchError(RuntimeError):
    """A query that cannot be answered, explained in one sentence."""


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

    def __init__(self, library, device: str = "auto") -> None:
        self.library = library
        self.device = device
        with library.store.session() as session:
            model = active_model(session)
            if model is None:
                raise SearchError("the library has no codes yet: run `bitlens index FOLDER` first")
            self.model_id, self.bits = model.id, model.bits
            self.spec = backbone_of(model)
            self.code_model = load_code_model(model, models_dir=library.paths.models)
            self.folder_paths = {f.id: f.path for f in session.query(Folder)}
        with library.store.raw() as db:
            # Codes of other models are never mixed in: one model, one ranking.
            rows = db.execute(
                "SELECT c.image_id, c.code, i.folder_id, i.path FROM codes c JOIN images i ON i.id = c.image_id "
                "WHERE c.model_id = ? AND i.status = 'ok' ORDER BY c.image_id",
                (self.model_id,),
            ).fetchall()
        words = (self.bits + 63) // 64
        self.ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        self.folder_ids = np.fromiter((r[2] for r in rows), dtype=np.int64, count=len(rows))
        self.paths = [r[3] for r in rows]
        raw = b"".join(r[1].ljust(words * 8, b"\0") for r in rows)
        codes = np.frombuffer(raw, dtype="<u8").reshape(len(rows), words) if rows else np.zeros((0, words), np.uint64)
        self.index = HammingIndex(self.ids, np.ascontiguousarray(codes, dtype=np.uint64), self.bits)
        self._backbone = None

    def __len__(self) -> int:
        return len(self.paths)

    def adopt_backbone(self, other: "Searcher") -> None:
        """Reuse another searcher's loaded backbone when both use the same one (saves seconds)."""
        if other._backbone is not None and other.spec.key == self.spec.key:
            self._backbone = other._backbone

    @property
    def backbone(self):
        """The backbone, loaded on first use (text and new-image queries need it)."""
        if self._backbone is None:
            from ..models.backbones import Backbone

            self._backbone = Backbone(self.spec, device=self.device)
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
        """A photo's embedding (and pooled tokens): cached if its bytes are in the library, else computed."""
        with self.library.store.raw() as db:
            row = db.execute("SELECT vector FROM embeddings WHERE content_hash = ? AND backbone_key = ?", (digest, self.spec.key)).fetchone()
        if row is not None:
            embedding = np.frombuffer(row[0], dtype=EMBED_DTYPE).astype(np.float32)
            if not self.code_model.needs_tokens:
                return embedding, None
            from ..library.features import FeatureCache

            cache = FeatureCache(self.library.paths.cache, self.spec.key)
            try:
                tokens = cache.tokens_of(digest, embedding.shape[0])
            finally:
                cache.close()
            if tokens is not None:
                return embedding, tokens
        from ..models.encoder import DecodeError, load_rgb

        try:
            image = load_rgb(str(file), self.backbone.image_size)
        except DecodeError as error:
            raise SearchError(f"{file}: {error}") from error
        embeddings, tokens = self.backbone.encode_images_with_tokens(self.backbone.preprocess(image).unsqueeze(0))
        return embeddings[0], None if tokens is None else tokens[0]

    def stored_code(self, digest: str) -> Optional[np.ndarray]:
        """The library's own code for a photo with these bytes ("find similar"), as {0,1} bits."""
        with self.library.store.raw() as db:
            found = [r[0] for r in db.execute("SELECT id FROM images WHERE content_hash = ? AND status = 'ok' ORDER BY id", (digest,))]
        for image_id in found:
            position = int(np.searchsorted(self.ids, image_id))
            if position < len(self.ids) and self.ids[position] == image_id:
                return unpack_bits(self.index.codes[position : position + 1], self.bits)[0]
        return None

    def query_code(self, text: Optional[str] = None, image: Optional[str] = None) -> np.ndarray:
        """The packed code of a text, an image, or both (a bitwise vote, ties to the text)."""
        if not (text and text.strip()) and not image:
            raise SearchError("give a text query, an image query, or both")
        bits = []
        if text and text.strip():
            bits.append(self.code_model.encode_texts(self.text_embedding(text)[None, :])[0])
        if image:
            file, digest = self._query_file(image)
            stored = self.stored_code(digest)
            if stored is not None:
                bits.append(stored)
            else:
                embedding, tokens = self.image_features(file, digest)
                bits.append(self.code_model.encode_images(embedding[None, :], None if tokens is None else tokens[None])[0])
        if len(bits) == 1:
            return pack_bits(bits[0][None, :])[0]
        # Text and image together: a majority vote of the two codes, ties going to the text.
        votes = np.sum([2 * b.astype(np.int8) - 1 for b in bits], axis=0) + (2 * bits[0].astype(np.int8) - 1) * 0.5
        return pack_bits((votes > 0).astype(np.uint8)[None, :])[0]

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

    def search(self, text: Optional[str] = None, image: Optional[str] = None, limit: int = 20, folder: Optional[str] = None) -> list[SearchResult]:
        """Rank the library by Hamming distance to the query; `limit` 0 means everything."""
        code = self.query_code(text, image)
        return self.rank(code, limit, folder)

    def rank(self, code: np.ndarray, limit: int = 20, folder: Optional[str] = None) -> list[SearchResult]:
        """Rank by an already computed packed code."""
        mask = self.folder_mask(folder) if folder else None
        ids, distances = self.index.search(code, limit, mask=mask)
        position = np.searchsorted(self.ids, ids)
        return [SearchResult(rank + 1, int(image_id), self.paths[int(pos)], int(dist)) for rank, (image_id, pos, dist) in enumerate(zip(ids, position, distances))]
