"""Near-duplicate photos: pairs verified on their pixels, grouped around one representative.

Every photo has a perceptual fingerprint made at index time (`engine/library/fingerprints.py`:
pHash of the picture and of a few slightly cropped views). Two photos are near-duplicates
when their aligned fingerprints agree on at least `min_similarity` of the 64 bits (default
90 %: at most 6 bits differ) and, where both backbone embeddings are cached, the embeddings
do not contradict it (cosine at least `EMBEDDING_VETO`). Pixels carry the decision, so the
finder works as well with an untrained or random model; the embedding only vetoes.

Groups never chain: a group is one representative and photos each verified against it.

Reviewing never touches files: "forget" hides a photo (by its path) from later duplicate
listings, "keep" forgets the others of its group, and both can be undone.
The list of forgotten photos is a small JSON file in the library folder.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Optional

import numpy as np

from ..library.fingerprints import HASH_BITS, load_fingerprints

if TYPE_CHECKING:
    from .searcher import Searcher

__all__ = ["DEFAULT_MIN_SIMILARITY", "DuplicateGroup", "DuplicatePhoto", "Review", "aligned_pairs", "find_duplicates", "similarity_of"]

# On planted duplicates among 800 scenes photos (bench/duplicates_bench.py), aligned
# fingerprints of copies, resizes, recompressions and 4-px crops differed in at most 2 bits,
# 6-px crops in at most 8 (99 % within 6), while 1 of 320,000 pairs of unrelated photos of
# the same subjects came within 6 bits: 90 % (6 of 64 bits) sits in that gap.
DEFAULT_MIN_SIMILARITY = 0.90
# A pair whose cached embeddings disagree this much shows two different pictures, whatever
# the pixels' coarse layout says (a flat dark frame against another, say).
EMBEDDING_VETO = 0.5
_BLOCK = 1024
_SCRATCH_CELLS = 8_000_000  # bounds each block's (rows × N) distance scratch to 64 MB
# Below this many photos every pair is compared; above it, pairs are first found by
# multi-index hashing on the whole-picture hash's four 16-bit chunks (valid up to 7 bits).
_DENSE_UP_TO = 1000
_CHUNKS = 4


def similarity_of(distance: int) -> float:
    """The share of fingerprint bits two photos agree on, from the bits they differ in."""
    return 1.0 - distance / HASH_BITS


def max_distance_for(min_similarity: float) -> int:
    """The most bits two near-duplicates' fingerprints may differ in at this similarity."""
    if not 0.0 <= min_similarity <= 1.0:
        raise ValueError("the similarity must be between 0 and 1 (0 % and 100 %)")
    return int(np.floor((1.0 - min_similarity) * HASH_BITS + 1e-9))


def _aligned(prints: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Aligned distance of each pair: one photo's whole picture against every view of the other."""
    whole_l, whole_r = prints[left, :1], prints[right, :1]
    one = np.bitwise_count(np.bitwise_xor(whole_l, prints[right])).min(axis=1)
    other = np.bitwise_count(np.bitwise_xor(whole_r, prints[left])).min(axis=1)
    return np.minimum(one, other).astype(np.int32)


def aligned_pairs(prints: np.ndarray, max_distance: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All pairs (i < j) of fingerprints (N, views) whose aligned distance is <= max_distance."""
    prints = np.ascontiguousarray(prints, dtype=np.uint64)
    if len(prints) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int32)
    if max_distance < 2 * _CHUNKS and len(prints) > _DENSE_UP_TO:
        left, right = _candidates_by_chunks(prints, max_distance)
    else:
        left, right = _candidates_dense(prints, max_distance)
    dist = _aligned(prints, left, right)
    close = dist <= max_distance
    left, right, dist = left[close], right[close], dist[close]
    order = np.lexsort((right, left))
    return left[order].astype(np.int64), right[order].astype(np.int64), dist[order].astype(np.int32)


def _candidates_dense(prints: np.ndarray, max_distance: int) -> tuple[np.ndarray, np.ndarray]:
    """Every pair compared view by view, block by block: exact at any distance, quadratic in time."""
    n, views = prints.shape
    whole = prints[:, 0]
    left, right = [], []
    block = max(16, min(_BLOCK, _SCRATCH_CELLS // n))
    for start in range(0, n, block):
        stop = min(n, start + block)
        best = np.full((stop - start, n - start), 255, dtype=np.uint8)
        for view in range(views):
            np.minimum(best, np.bitwise_count(whole[start:stop, None] ^ prints[None, start:, view]).astype(np.uint8), out=best)
            np.minimum(best, np.bitwise_count(prints[start:stop, view, None] ^ whole[None, start:]).astype(np.uint8), out=best)
        i, j = np.nonzero(best <= max_distance)
        keep = j > i  # both offset by `start`
        left.append(i[keep] + start)
        right.append(j[keep] + start)
    return np.concatenate(left), np.concatenate(right)


def _candidates_by_chunks(prints: np.ndarray, max_distance: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs where one photo's whole-picture hash and some view of the other agree on a 16-bit chunk but for at most one bit.

    Pigeonhole: two 64-bit hashes at most 7 bits apart differ in at most one bit of at
    least one of their four 16-bit chunks, so every pair within 7 bits is among these.
    """
    n, views = prints.shape
    owners = np.repeat(np.arange(n, dtype=np.int64), views)
    found = []
    for chunk in range(_CHUNKS):
        shift = np.uint64(16 * chunk)
        keys = ((prints.reshape(-1) >> shift) & np.uint64(0xFFFF)).astype(np.int64)
        order = np.argsort(keys, kind="stable")
        sorted_keys, sorted_owners = keys[order], owners[order]
        base = ((prints[:, 0] >> shift) & np.uint64(0xFFFF)).astype(np.int64)
        for flip in [0] + [1 << b for b in range(16)]:
            probe = base ^ flip
            lo = np.searchsorted(sorted_keys, probe, "left")
            counts = np.searchsorted(sorted_keys, probe, "right") - lo
            total = int(counts.sum())
            if not total:
                continue
            asker = np.repeat(np.arange(n, dtype=np.int64), counts)
            offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
            other = sorted_owners[np.repeat(lo, counts) + offsets]
            keep = asker != other
            a, b = np.minimum(asker[keep], other[keep]), np.maximum(asker[keep], other[keep])
            close = _aligned(prints, a, b) <= max_distance  # checked at once: candidates can run to millions
            found.append(np.unique(a[close] * n + b[close]))
    if not found:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    pairs = np.unique(np.concatenate(found))
    return pairs // n, pairs % n


@dataclass
class DuplicatePhoto:
    image_id: int
    path: str
    content_hash: str
    size: int
    width: Optional[int]
    height: Optional[int]
    date: str
    similarity: float = 1.0  # to the group's representative (1.0 for the representative itself)

    @property
    def area(self) -> int:
        return (self.width or 0) * (self.height or 0)

    def as_dict(self) -> dict:
        return {"path": self.path, "size": self.size, "width": self.width, "height": self.height, "date": self.date, "similarity": round(self.similarity, 4)}


@dataclass
class DuplicateGroup:
    """A representative (the largest picture, then the largest file, then the oldest) and its near-duplicates."""

    photos: list[DuplicatePhoto] = field(default_factory=list)

    @property
    def similarity(self) -> float:
        """The lowest similarity of a member to the representative."""
        return min((p.similarity for p in self.photos[1:]), default=1.0)

    @property
    def largest(self) -> Optional[DuplicatePhoto]:
        """The photo with strictly more pixels than every other, if there is one (equal sizes: none)."""
        if not self.photos:
            return None
        top = max(p.area for p in self.photos)
        biggest = [p for p in self.photos if p.area == top]
        return biggest[0] if len(biggest) == 1 and top > 0 else None

    def as_dict(self) -> dict:
        return {"similarity": round(self.similarity, 4), "photos": [p.as_dict() for p in self.photos]}


def _preference(photo: DuplicatePhoto) -> tuple:
    return (-photo.area, -photo.size, photo.date or "9999", photo.path)


def _groups(n: int, left: np.ndarray, right: np.ndarray, dist: np.ndarray, info: list[DuplicatePhoto]) -> list[list[tuple[int, int]]]:
    """Groups as [(member, distance to the representative)], representative first.

    The photo with the most verified neighbours seeds a group with those neighbours; the
    group's best photo becomes its representative and only members verified against it
    stay (the others may join a later group), so A~B~C never puts A and C together unchecked.
    """
    near: dict[int, dict[int, int]] = {}
    for a, b, d in zip(left.tolist(), right.tolist(), dist.tolist()):
        near.setdefault(a, {})[b] = d
        near.setdefault(b, {})[a] = d
    assigned: set[int] = set()
    groups = []
    for seed in sorted(near, key=lambda x: (-len(near[x]), x)):
        if seed in assigned:
            continue
        members = [seed] + [m for m in near[seed] if m not in assigned]
        if len(members) < 2:
            continue
        head = min(members, key=lambda m: _preference(info[m]))
        kept = [(head, 0)] + sorted(((m, near[head][m]) for m in members if m != head and m in near[head]), key=lambda t: (t[1], t[0]))
        if len(kept) > 1:
            groups.append(kept)
            assigned.update(m for m, _ in kept)
    return groups


class Review:
    """What the user decided in the duplicates review (photos to leave out), kept in the library folder."""

    FILE = "duplicates-review.json"

    def __init__(self, library_root: Path) -> None:
        self.path = Path(library_root) / self.FILE
        self.forgotten: set[str] = set()
        if self.path.is_file():
            try:
                self.forgotten = set(json.loads(self.path.read_text(encoding="utf-8")).get("forgotten", []))
            except (OSError, ValueError):
                self.forgotten = set()

    def _save(self) -> None:
        temporary = self.path.with_suffix(".tmp")
        # surrogate escapes in paths (undecodable name bytes) survive as JSON \\udcXX escapes
        temporary.write_text(json.dumps({"forgotten": sorted(self.forgotten)}, indent=1), encoding="utf-8")
        os.replace(temporary, self.path)

    def forget(self, photos: Iterable[DuplicatePhoto]) -> list[str]:
        """Leave these photos out of later duplicate listings (their files are not touched); returns the paths newly forgotten."""
        new = [p.path for p in photos if p.path not in self.forgotten]
        self.forgotten.update(new)
        self._save()
        return new

    def keep(self, group: DuplicateGroup, kept: str) -> list[str]:
        """Keep one photo of a group: the others are forgotten, so the group is resolved; returns what to undo."""
        if kept not in {p.path for p in group.photos}:
            raise ValueError(f"{kept} is not in this group")
        return self.forget(p for p in group.photos if p.path != kept)

    def restore(self, paths: Iterable[str]) -> None:
        """Undo a keep or a forget: these photos take part in the review again."""
        self.forgotten.difference_update(paths)
        self._save()

    def clear(self) -> None:
        self.forgotten.clear()
        self._save()


def find_duplicates(
    searcher: Searcher,
    min_similarity: float = DEFAULT_MIN_SIMILARITY,
    review: Optional[Review] = None,
    folder: Optional[str] = None,
    embedding_veto: Optional[float] = EMBEDDING_VETO,
) -> list[DuplicateGroup]:
    """Groups of near-duplicate photos among the searcher's photos, most similar groups first.

    Photos whose fingerprint is missing (a library indexed by an older BitLens) get one
    first. `embedding_veto=None` decides on pixels alone.
    """
    from ..jobs import Reporter
    from ..library.fingerprints import fingerprint_missing
    from ..library.report import ScanReport

    max_distance = max_distance_for(min_similarity)
    rows = np.arange(len(searcher))
    if folder:
        rows = np.flatnonzero(searcher.folder_mask(folder))
    by_id = _photo_info(searcher, searcher.ids[rows])
    photos = [by_id[int(i)] for i in searcher.ids[rows] if int(i) in by_id]
    if review is not None and review.forgotten:
        photos = [p for p in photos if p.path not in review.forgotten]
    prints = load_fingerprints(searcher.library.store, (p.content_hash for p in photos))
    if any(p.content_hash not in prints for p in photos):
        fingerprint_missing(searcher.library.store, ScanReport(), Reporter(None))
        prints = load_fingerprints(searcher.library.store, (p.content_hash for p in photos))
    photos = [p for p in photos if p.content_hash in prints]  # undecodable files have none
    if len(photos) < 2:
        return []
    matrix = np.stack([prints[p.content_hash] for p in photos])
    left, right, dist = aligned_pairs(matrix, max_distance)
    if embedding_veto is not None and len(left):
        cosine = _cosines(searcher, [p.content_hash for p in photos], left, right)
        keep = np.isnan(cosine) | (cosine >= embedding_veto)
        left, right, dist = left[keep], right[keep], dist[keep]
    groups = []
    for members in _groups(len(photos), left, right, dist, photos):
        group = DuplicateGroup([_with_similarity(photos[m], d) for m, d in members])
        groups.append(group)
    groups.sort(key=lambda g: (-g.similarity, g.photos[0].path))
    return groups


def _with_similarity(photo: DuplicatePhoto, distance: int) -> DuplicatePhoto:
    return DuplicatePhoto(photo.image_id, photo.path, photo.content_hash, photo.size, photo.width, photo.height, photo.date, similarity_of(distance))


def _cosines(searcher: Searcher, hashes: list[str], left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Cosine of the cached embeddings of each pair's photos (NaN where one is not cached)."""
    from ..codes.bits import EMBED_DTYPE

    wanted = sorted({hashes[i] for i in np.concatenate([left, right]).tolist()})
    vectors: dict[str, np.ndarray] = {}
    with searcher.library.store.raw() as db:
        for start in range(0, len(wanted), 900):
            chunk = wanted[start : start + 900]
            sql = f"SELECT content_hash, vector FROM embeddings WHERE backbone_key = ? AND content_hash IN ({','.join('?' * len(chunk))})"
            for digest, blob in db.execute(sql, [searcher.spec.key, *chunk]):
                v = np.frombuffer(blob, dtype=EMBED_DTYPE).astype(np.float32)
                vectors[digest] = v / max(float(np.linalg.norm(v)), 1e-12)
    out = np.full(len(left), np.nan, dtype=np.float32)
    for k, (a, b) in enumerate(zip(left.tolist(), right.tolist())):
        va, vb = vectors.get(hashes[a]), vectors.get(hashes[b])
        if va is not None and vb is not None:
            out[k] = float(va @ vb)
    return out


def _photo_info(searcher: Searcher, ids: np.ndarray) -> dict[int, DuplicatePhoto]:
    from .filters import DATE_SQL

    out: dict[int, DuplicatePhoto] = {}
    wanted = [int(i) for i in ids]
    with searcher.library.store.raw() as db:
        for start in range(0, len(wanted), 900):
            chunk = wanted[start : start + 900]
            sql = f"SELECT i.id, i.path, i.content_hash, i.size, i.width, i.height, {DATE_SQL} FROM images i WHERE i.id IN ({','.join('?' * len(chunk))})"
            for image_id, path, digest, size, width, height, date in db.execute(sql, chunk):
                out[int(image_id)] = DuplicatePhoto(int(image_id), path, digest or "", int(size or 0), width, height, date or "")
    return out
