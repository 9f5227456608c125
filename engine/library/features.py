"""Cached backbone outputs for training: pooled patch tokens and tag text embeddings.

Derived data, so it lives in the cache folder (one SQLite file per backbone) and can
always be rebuilt. Keyed by content hash: a changed file gets a new hash and so new
tokens; another backbone gets another file.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from ..models.tokens import TOKENS_PER_IMAGE

DTYPE = np.float16


class FeatureCache:
    """Patch tokens per photo content and text embeddings per tag, for one backbone."""

    def __init__(self, cache_dir: Path, backbone_key: str) -> None:
        folder = cache_dir / "features"
        folder.mkdir(parents=True, exist_ok=True)
        self.path = self.file_of(cache_dir, backbone_key)
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=15, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        self._db.execute("CREATE TABLE IF NOT EXISTS tokens (content_hash TEXT PRIMARY KEY, data BLOB NOT NULL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS tag_text (tag TEXT PRIMARY KEY, data BLOB NOT NULL)")
        self._db.execute("INSERT OR IGNORE INTO meta VALUES ('backbone_key', ?)", (backbone_key,))

    @staticmethod
    def file_of(cache_dir: Path, backbone_key: str) -> Path:
        return cache_dir / "features" / f"{hashlib.sha256(backbone_key.encode('utf-8')).hexdigest()[:20]}.sqlite"

    @classmethod
    def remove(cls, cache_dir: Path, backbone_key: str) -> None:
        """Delete one backbone's cache file (with its WAL side files)."""
        path = cls.file_of(cache_dir, backbone_key)
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)

    def close(self) -> None:
        self._db.close()

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def put_tokens(self, items: Iterable[tuple[str, np.ndarray]]) -> None:
        rows = [(h, np.ascontiguousarray(t, dtype=DTYPE).tobytes()) for h, t in items]
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO tokens VALUES (?, ?)", rows)

    def cached_token_hashes(self) -> set[str]:
        return {h for (h,) in self._db.execute("SELECT content_hash FROM tokens")}

    def get_tokens(self, hashes: Sequence[str], dim: int) -> np.ndarray:
        """Tokens (N × 14 × dim, float32) in the order of `hashes`; all must be cached."""
        out = np.zeros((len(hashes), TOKENS_PER_IMAGE, dim), np.float32)
        position = {h: i for i, h in enumerate(hashes)}
        for start in range(0, len(hashes), 900):
            chunk = hashes[start : start + 900]
            marks = ",".join("?" * len(chunk))
            for h, data in self._db.execute(f"SELECT content_hash, data FROM tokens WHERE content_hash IN ({marks})", chunk):
                out[position[h]] = np.frombuffer(data, dtype=DTYPE).reshape(TOKENS_PER_IMAGE, dim)
        return out

    def tokens_of(self, content_hash: str, dim: int) -> np.ndarray | None:
        """One photo's tokens (14 × dim, float32), or None if they are not cached."""
        row = self._db.execute("SELECT data FROM tokens WHERE content_hash = ?", (content_hash,)).fetchone()
        return None if row is None else np.frombuffer(row[0], dtype=DTYPE).reshape(TOKENS_PER_IMAGE, dim).astype(np.float32)

    def tag_embeddings(self, tags: Sequence[str], encode: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        """Text embeddings of tags (N × D); unknown ones are encoded with `encode` and cached."""
        known: dict[str, bytes] = {}
        for start in range(0, len(tags), 900):
            chunk = list(tags[start : start + 900])
            marks = ",".join("?" * len(chunk))
            known.update(self._db.execute(f"SELECT tag, data FROM tag_text WHERE tag IN ({marks})", chunk))
        todo = [t for t in tags if t not in known]
        for start in range(0, len(todo), 256):
            chunk = todo[start : start + 256]
            vectors = encode(chunk)
            rows = [(t, np.asarray(v, DTYPE).tobytes()) for t, v in zip(chunk, vectors)]
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany("INSERT OR REPLACE INTO tag_text VALUES (?, ?)", rows)
            known.update(rows)
        return np.stack([np.frombuffer(known[t], dtype=DTYPE) for t in tags]).astype(np.float32) if tags else np.zeros((0, 0), np.float32)
