"""Incremental mark-and-sweep scanning of photo folders into the library.

Read-only towards the photos: this module only lists, stats and reads files.
Unchanged files (size + mtime) are skipped, moved files keep their row (and so their
codes and user tags), files no longer seen become `missing`, never deleted, and
every per-file problem goes into the report while the scan goes on.
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ..jobs import CancelToken, Reporter
from . import metadata as md
from .formats import SUPPORTED_EXTENSIONS
from .nametags import tags_from_filename, tags_from_folder_name
from .xmp import MetadataError
from .report import ScanReport
from .schema import Code, Folder, Image, ImageTag, Tag
from .store import Store

WRITE_BATCH = 200  # files per transaction: a crash loses at most one batch of work
# A photo's row as the scan reads it, by path: (id, size, mtime_ns, status).
KnownRow = tuple[int, int, int, str]


def content_hash(path: str, chunk: int = 1 << 20) -> str:
    """BLAKE2b-128 of the file's bytes: equal hashes mean the same photo (renames, copies)."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class Found:
    """A candidate photo seen on disk during the walk."""

    path: str
    size: int
    mtime_ns: int
    folder_tags: list[str]
    siblings: frozenset[str]


def walk_photos(root: Path, report: ScanReport) -> Iterator[Found]:
    """Every supported photo below `root`, following symlinks but never looping."""
    visited: set[tuple[int, int]] = set()
    root_tags = tags_from_folder_name(root.name)
    stack: list[tuple[str, list[str]]] = [(str(root), root_tags)]
    while stack:
        directory, tags = stack.pop()
        try:
            info = os.stat(directory)
        except OSError as error:
            report.problem(directory, f"folder cannot be read: {error.strerror or error}")
            continue
        if (info.st_dev, info.st_ino) in visited:
            continue  # a symlink loop or a second link to a folder already walked
        visited.add((info.st_dev, info.st_ino))
        try:
            with os.scandir(directory) as entries:
                listing = sorted(entries, key=lambda e: e.name)
        except OSError as error:
            report.problem(directory, f"folder cannot be listed: {error.strerror or error}")
            continue
        names = frozenset(entry.name for entry in listing)
        subfolders = []
        supported = SUPPORTED_EXTENSIONS
        for entry in listing:
            name = entry.name
            if name[0] == ".":
                continue  # hidden files and folders: app metadata, not photos
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
            except OSError:
                is_dir = False
            if is_dir:
                subfolders.append((entry.path, tags + tags_from_folder_name(name)))
                continue
            dot = name.rfind(".")
            if dot <= 0 or name[dot:].lower() not in supported:  # formats.is_supported, inlined: runs per file
                continue
            try:
                st = entry.stat(follow_symlinks=True)
            except FileNotFoundError:
                reason = "broken symbolic link" if entry.is_symlink() else "file disappeared during the scan"
                report.problem(entry.path, reason)
                continue
            except OSError as error:
                report.problem(entry.path, f"cannot read file: {error.strerror or error}")
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            yield Found(entry.path, st.st_size, st.st_mtime_ns, tags, names)
        stack.extend(reversed(subfolders))


class TagCache:
    """Tag name → id, created on first use; matching is case-insensitive."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}

    def id_for(self, session: Session, name: str) -> int:
        key = name.casefold()
        if key not in self._ids:
            tag_id = session.scalar(select(Tag.id).where(Tag.name == name))  # NOCASE column
            if tag_id is None:
                tag = Tag(name=name)
                session.add(tag)
                session.flush()
                tag_id = tag.id
            self._ids[key] = tag_id
        return self._ids[key]


def _file_tags(found: Found, meta: Optional[md.PhotoMetadata]) -> list[tuple[str, str]]:
    pairs = [(tag, "folder") for tag in found.folder_tags]
    pairs += [(tag, "filename") for tag in tags_from_filename(Path(found.path).stem)]
    if meta is not None:
        pairs += md.weak_tags(meta)
    seen: set[tuple[str, str]] = set()
    unique = []
    for tag, source in pairs:
        key = (tag.casefold(), source)
        if key not in seen:
            seen.add(key)
            unique.append((tag, source))
    return unique


def _set_tags(session: Session, tags: TagCache, image_id: int, pairs: list[tuple[str, str]]) -> None:
    """Replace the photo's derived tags; the user's own tags are left alone."""
    session.execute(delete(ImageTag).where(ImageTag.image_id == image_id, ImageTag.source != "user"))
    rows = {(tags.id_for(session, tag), source) for tag, source in pairs}
    session.add_all(ImageTag(image_id=image_id, tag_id=tag_id, source=source) for tag_id, source in rows)


def _folder(session: Session, folder_id: int) -> Folder:
    """A library folder's row; scans run under the write lock, so one listed a moment ago is still there."""
    folder = session.get(Folder, folder_id)
    if folder is None:
        raise LookupError(f"library folder {folder_id} is no longer in the library")
    return folder


class Scanner:
    """Brings the library's rows for one folder in line with what is on disk."""

    def __init__(self, store: Store, report: ScanReport, progress: Reporter, cancel: Optional[CancelToken] = None) -> None:
        self.store = store
        self.report = report
        self.progress = progress
        self.cancel = cancel or CancelToken()
        self.tags = TagCache()

    def scan(self, folder_id: int) -> None:
        """Walk one library folder, update changed rows, mark vanished ones missing."""
        with self.store.session() as session:
            folder = _folder(session, folder_id)
            root = Path(folder.path)
            if not root.is_dir():
                # Unmounted drive or removed folder: keep every row as it is, so nothing
                # (tags, codes) is lost when it comes back; just say so.
                folder.reachable = False
                self.report.notes.append(f"folder not reachable, left as it was: {root}")
                return
            folder.reachable = True
        # One plain SELECT into tuples: ORM rows for 100,000 photos cost seconds.
        with self.store.raw() as db:
            rows = db.execute("SELECT path, id, size, mtime_ns, status FROM images WHERE folder_id = ?", (folder_id,)).fetchall()
        known: dict[str, KnownRow] = {row[0]: row[1:] for row in rows}
        del rows
        seen: set[int] = set()
        changed: list[Found] = []
        walked = 0
        for found in walk_photos(root, self.report):
            walked += 1
            if walked % 500 == 0:
                self.cancel.raise_if_cancelled()
                self.progress("scan", walked, None, f"looking at {root}")
            row = known.get(found.path)
            if row is not None and row[1] == found.size and row[2] == found.mtime_ns and row[3] == "ok":
                seen.add(row[0])
                self.report.unchanged += 1
            else:
                changed.append(found)
        total = len(changed)
        for start in range(0, total, WRITE_BATCH):
            self.cancel.raise_if_cancelled()
            batch = changed[start : start + WRITE_BATCH]
            with self.store.session() as session:
                for found in batch:
                    image_id = self._record(session, folder_id, found, known.get(found.path))
                    if image_id is not None:
                        seen.add(image_id)
            self.progress("read", min(start + WRITE_BATCH, total), total, f"reading {root}")
        self._sweep(folder_id, known, seen)
        with self.store.session() as session:
            _folder(session, folder_id).last_scan_at = time.time()

    def _record(self, session: Session, folder_id: int, found: Found, known_row: Optional[KnownRow]) -> Optional[int]:
        """Insert or refresh one photo's row; returns its id, or None if it vanished."""
        now = time.time()
        try:
            digest = content_hash(found.path)
        except FileNotFoundError:
            self.report.problem(found.path, "file disappeared during the scan")
            return None
        except OSError as error:
            reason = f"cannot read file: {error.strerror or error}"
            self.report.problem(found.path, reason)
            self.report.errors += 1
            if known_row is None:
                image = Image(
                    folder_id=folder_id, path=found.path, size=found.size, mtime_ns=found.mtime_ns, status="error", error=reason, first_seen=now, last_seen=now
                )
                session.add(image)
                session.flush()
                return image.id
            session.execute(update(Image).where(Image.id == known_row[0]).values(status="error", error=reason, last_seen=now))
            return known_row[0]
        meta: Optional[md.PhotoMetadata] = None
        error_text: Optional[str] = None
        try:
            meta = md.read_photo_metadata(Path(found.path), siblings=found.siblings)
        except MetadataError as error:
            error_text = str(error)
        for warning in meta.warnings if meta else ():
            self.report.problem(found.path, warning)
        values = dict(
            folder_id=folder_id,
            path=found.path,
            size=found.size,
            mtime_ns=found.mtime_ns,
            content_hash=digest,
            width=meta.width if meta else None,
            height=meta.height if meta else None,
            format=meta.format if meta else None,
            date_taken=meta.date_taken if meta else None,
            camera_make=meta.camera_make if meta else None,
            camera_model=meta.camera_model if meta else None,
            status="ok" if meta else "error",
            error=error_text,
            last_seen=now,
        )
        if error_text:
            self.report.problem(found.path, error_text)
            self.report.errors += 1
        image_id = known_row[0] if known_row else self._moved_from(session, digest)
        if image_id is None:
            image = Image(first_seen=now, **values)
            session.add(image)
            session.flush()
            image_id = image.id
            self.report.added += 1
        else:
            if not known_row:
                self.report.moved += 1
            else:
                self.report.updated += 1
            old_digest = session.scalar(select(Image.content_hash).where(Image.id == image_id))
            if old_digest != digest:
                # New pixels: the old codes describe another picture.
                session.execute(delete(Code).where(Code.image_id == image_id))
            session.execute(update(Image).where(Image.id == image_id).values(**values))
        _set_tags(session, self.tags, image_id, _file_tags(found, meta))
        return image_id

    @staticmethod
    def _moved_from(session: Session, digest: str) -> Optional[int]:
        """The row of a photo with these bytes whose old path is gone: the file was moved."""
        for image_id, path in session.execute(select(Image.id, Image.path).where(Image.content_hash == digest).order_by(Image.id)):
            if not os.path.lexists(path):
                return image_id
        return None

    def _sweep(self, folder_id: int, known: dict[str, KnownRow], seen: set[int]) -> None:
        """Rows of this folder not seen in this scan and gone from disk become `missing`."""
        gone = [row[0] for path, row in known.items() if row[0] not in seen and row[3] != "missing" and not os.path.lexists(path)]
        # A row whose file still exists but failed this time keeps its state (reported above).
        with self.store.session() as session:
            for start in range(0, len(gone), 500):
                chunk = gone[start : start + 500]
                session.execute(update(Image).where(Image.id.in_(chunk)).values(status="missing"))
        self.report.missing += len(gone)
