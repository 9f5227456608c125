"""A photo library on disk with its verbs (add, scan, index, show, tag); engine.facade adds search and models on top."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from contextlib import AbstractContextManager
from typing import Callable, Optional, Sequence

from sqlalchemy import delete, func, select, update

from ..jobs import CancelToken, ProgressCallback, Reporter
from ..models.backbones import Backbone, BackboneSpec
from ..paths import LibraryPaths, library_paths
from .codemodels import active_model, backbone_of, companion_of
from .fingerprints import fingerprint_missing
from .indexing import OtherEncoder, _embedded_count, adopt_model, discard_model, encode_missing, ensure_model, write_codes
from . import readmodel
from .lock import writer_lock
from .name_dates import photo_date
from .report import ScanReport, json_text, printable_path
from .scanner import Scanner
from .schema import Embedding, Folder, Image, ImageTag, Model, PhotoText, Tag
from .store import Store, session_sqlite


class LibraryError(RuntimeError):
    """A request the library cannot honour, explained in one sentence."""


@dataclass
class FolderInfo:
    """A library folder with its photo counts, for listings."""

    path: str
    photos: int
    missing: int
    errors: int
    reachable: bool
    last_scan_at: Optional[float]


class Library:
    """A BitLens library on disk; every user action is one method."""

    def __init__(self, location: str | os.PathLike[str] | None = None) -> None:
        self.paths: LibraryPaths = library_paths(location).ensure()
        self.store = Store(self.paths.database)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "Library":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def writing(self, job: str, wait: float = 0.0) -> AbstractContextManager[None]:
        """Hold the library's writer lock for a job (LibraryBusy if another process writes)."""
        return writer_lock(self.paths.lock, job, wait=wait)

    # -- folders -----------------------------------------------------------------

    def add_folder(self, path: str | os.PathLike[str]) -> str:
        """Add a photo folder (only read, never written); returns its absolute path."""
        try:
            folder = Path(path).expanduser().resolve()
        except (OSError, RuntimeError) as error:  # a symlink loop (RuntimeError before Python 3.13)
            raise LibraryError(f"not a folder: {path} ({error})") from None
        if not folder.is_dir():
            raise LibraryError(f"not a folder: {folder}")
        with self.writing("add folder"), self.store.write_session() as session:
            existing = {f.path: f for f in session.scalars(select(Folder))}
            if str(folder) in existing:
                return str(folder)
            for known in existing:
                if folder.is_relative_to(known):
                    raise LibraryError(f"{folder} is already in the library as part of {known}")
            new = Folder(path=str(folder), added_at=time.time(), reachable=True)
            session.add(new)
            session.flush()
            # A parent of folders already added takes them over, photos and all.
            for other_path, other in existing.items():
                if Path(other_path).is_relative_to(folder):
                    session.execute(update(Image).where(Image.folder_id == other.id).values(folder_id=new.id))
                    session.delete(other)
        return str(folder)

    def remove_folder(self, path: str | os.PathLike[str]) -> int:
        """Forget a folder and its photos' rows; the files themselves are not touched."""
        folder = str(Path(path).expanduser().resolve())
        with self.writing("remove folder"), self.store.write_session() as session:
            row = session.scalar(select(Folder).where(Folder.path == folder))
            if row is None:
                raise LibraryError(f"not a library folder: {folder}")
            count = session.scalar(select(func.count()).select_from(Image).where(Image.folder_id == row.id))
            session.execute(delete(Folder).where(Folder.id == row.id))  # cascades to images, tags, codes
            session.execute(delete(Embedding).where(~Embedding.content_hash.in_(select(Image.content_hash).where(Image.content_hash.is_not(None)))))
            session.execute(delete(PhotoText).where(~PhotoText.content_hash.in_(select(Image.content_hash).where(Image.content_hash.is_not(None)))))
        return int(count or 0)

    def folders(self) -> list[FolderInfo]:
        """The library folders with counts of photos, missing and failed files."""
        with self.store.session() as session:
            counts: dict[tuple[int, str], int] = {
                (folder_id, status): n
                for folder_id, status, n in session.execute(select(Image.folder_id, Image.status, func.count()).group_by(Image.folder_id, Image.status))
            }
            return [
                FolderInfo(f.path, counts.get((f.id, "ok"), 0), counts.get((f.id, "missing"), 0), counts.get((f.id, "error"), 0), f.reachable, f.last_scan_at)
                for f in session.scalars(select(Folder).order_by(Folder.path))
            ]

    def subfolders(self) -> dict[str, list[tuple[str, int]]]:
        """Each library folder's sub-folders that hold readable photos (at any depth), with photo counts.

        A sub-folder counts the photos below it too, so a year folder shows its months' photos.
        Sorted by path; a folder's photos directly in it are not a sub-folder.
        """
        with self.store.raw() as db:
            rows = readmodel.photo_directories(db)
        out: dict[str, dict[str, int]] = {}
        for folder, directory, count in rows:
            counts = out.setdefault(folder, {})
            directory = directory.rstrip(os.sep)
            # the directory and every directory between it and the library folder
            while directory.startswith(folder + os.sep):
                counts[directory] = counts.get(directory, 0) + count
                directory = os.path.dirname(directory)
        return {folder: sorted(counts.items()) for folder, counts in out.items()}

    # -- scanning and indexing ----------------------------------------------------------

    def scan(self, progress: Optional[ProgressCallback] = None, cancel: Optional[CancelToken] = None, report: Optional[ScanReport] = None) -> ScanReport:
        """Bring every folder's rows in line with the disk (no encoding)."""
        report = report or ScanReport()
        scanner = Scanner(self.store, report, Reporter(progress), cancel)
        with self.writing("scan"):
            with self.store.session() as session:
                folder_ids = list(session.scalars(select(Folder.id).order_by(Folder.path)))
            for folder_id in folder_ids:
                scanner.scan(folder_id)
            self._keep_problems(report)
        return report

    PROBLEMS_FILE = "last-problems.json"

    def _keep_problems(self, report: ScanReport) -> None:
        """Remember the last run's per-file problems, so that `status` can count what needs attention."""
        target = self.paths.root / self.PROBLEMS_FILE
        temporary = target.with_suffix(".tmp")
        temporary.write_text(json_text([{"path": p, "reason": r} for p, r in report.problems], indent=1), encoding="utf-8")
        os.replace(temporary, target)

    def _last_problems(self) -> list[dict]:
        try:
            return list(json.loads((self.paths.root / self.PROBLEMS_FILE).read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return []

    def current_backbone(self) -> Optional[BackboneSpec]:
        """The backbone of the active model, if there is one."""
        with self.store.session() as session:
            model = active_model(session)
            return backbone_of(model, self.paths.models) if model else None

    def index(
        self,
        folders: Sequence[str | os.PathLike[str]] = (),
        backbone: Optional[BackboneSpec] = None,
        bits: Optional[int] = None,
        device: str = "auto",
        progress: Optional[ProgressCallback] = None,
        cancel: Optional[CancelToken] = None,
        batch_size: int = 32,
        precision: str = "auto",
        cluster: Optional[str] = None,
        ocr: Optional[bool] = None,
    ) -> ScanReport:
        """Add folders, scan everything, encode new photos and give every photo a code.

        `precision`: "auto" (int8 where no GPU encodes, else fp32; a library keeps its own),
        "int8" or "fp32". `cluster`: a Ray address (or "local") to encode on, see
        `engine/library/cluster.py`; it is connected first, so an unreachable one changes nothing.
        `ocr`: read the text in photos (photo_text.py); None = where the OCR engine is installed.
        """
        connection = None
        if cluster:
            from .cluster import Cluster

            connection = Cluster(cluster)
        try:
            with self.writing("index"):
                from ..models.precision import local_gpu

                spec = self._index_spec(backbone, precision, connection.has_gpu if connection else local_gpu(device))
                if connection is not None:
                    connection.encoder(spec, batch_size, device=device)  # workers start (import torch, load the model) during the scan
                for folder in folders:
                    self.add_folder(folder)
                report = self.scan(progress, cancel)
                reporter = Reporter(progress)
                open_encoder = None
                if connection is not None:
                    open_encoder = lambda: connection.encoder(spec, batch_size, device=device)  # noqa: E731
                self._encode_missing(spec, report, reporter, cancel, device, batch_size, open_encoder)
                if self.current_backbone() is None and not _embedded_count(self.store, spec.key):
                    # nothing readable yet (an empty folder, or only bad files): not an error, just nothing to search
                    report.notes.append("no photo could be encoded yet, so there is nothing to search")
                    return report
                model_id = ensure_model(self.store, self.paths.models, spec, bits, report)
                write_codes(self.store, self.paths.cache, model_id, report, reporter, cancel)
                adopt_model(self.store, model_id, self.paths.models)  # a new fit serves searches only once complete
                if ocr is not False:  # last, so photos are searchable by what they show while text is read
                    from .photo_text import read_photo_text

                    read_photo_text(self.store, report, reporter, cancel, required=bool(ocr))
                self._keep_problems(report)  # with the encoder's problems too
            return report
        finally:
            if connection is not None:
                connection.close()

    def _encode_missing(
        self,
        spec: BackboneSpec,
        report: ScanReport,
        reporter: Reporter,
        cancel: Optional[CancelToken],
        device: str,
        batch_size: int,
        open_encoder: Optional[Callable[[], OtherEncoder]] = None,
    ) -> None:
        """Encode the readable photos `spec` has no embedding for (here, or with `open_encoder`'s), then their fingerprints."""
        onnx_dir = self.paths.cache / "onnx"
        encode_missing(
            self.store,
            self.paths.cache,
            spec,
            lambda: Backbone(spec, device=device, onnx_dir=onnx_dir),
            report,
            reporter,
            cancel,
            batch_size=batch_size,
            open_encoder=open_encoder,
        )
        fingerprint_missing(self.store, report, reporter, cancel)  # photos encoded before fingerprints existed (or on a cluster)

    def _index_spec(self, backbone: Optional[BackboneSpec], precision: str, has_gpu: Callable[[], bool]) -> BackboneSpec:
        """The backbone to index with, its precision resolved; "auto" keeps the library's own."""
        from dataclasses import replace

        from ..models.precision import resolve

        current = self.current_backbone()
        if precision == "auto" and current is not None and (backbone is None or replace(backbone, precision=current.precision).key == current.key):
            return current  # no silent re-encoding of a whole library at another precision
        spec = backbone or current or BackboneSpec.from_args(None)
        return replace(spec, precision=resolve(precision, has_gpu))

    def change_backbone(
        self,
        backbone: BackboneSpec,
        progress: Optional[ProgressCallback] = None,
        cancel: Optional[CancelToken] = None,
        bits: Optional[int] = None,
        device: str = "auto",
        batch_size: int = 32,
        precision: str = "auto",
    ) -> ScanReport:
        """Move the library to another backbone: encode every photo with it, fit its codes, then switch search over.

        Search keeps the current model until every readable photo has a code of the new one;
        a cancel or a failure leaves the current model active and drops the unfinished fit.
        Embeddings are cached per (content, backbone), so what was encoded stays: a second
        try, or changing back later, only fits codes. Trained models of the old backbone
        stay listed; activating one changes the library back to their backbone. No scan:
        photos added on disk since the last index are taken in by the next one.
        """
        from dataclasses import replace

        from ..models.precision import local_gpu, resolve

        report = ScanReport()
        with self.writing("change the model"):
            spec = replace(backbone, precision=resolve(precision, local_gpu(device)))
            current = self.current_backbone()
            if current is not None and current.key == spec.key:
                raise LibraryError(f"the library already uses {spec.label}")
            reporter = Reporter(progress)
            self._encode_missing(spec, report, reporter, cancel, device, batch_size)
            if not _embedded_count(self.store, spec.key):
                raise LibraryError(f"no photo could be encoded with {spec.label}, so the library keeps its model")
            model_id = ensure_model(self.store, self.paths.models, spec, bits, report)
            try:
                write_codes(self.store, self.paths.cache, model_id, report, reporter, cancel)
            except BaseException:
                discard_model(self.store, model_id, self.paths.models)  # the current model stays, with nothing half-made beside it
                raise
            adopt_model(self.store, model_id, self.paths.models)
            report.notes.append(f"search now uses {spec.label}")
            self._keep_problems(report)
        return report

    # -- looking things up ---------------------------------------------------------

    def formats(self) -> list[str]:
        """The file formats of the readable photos (Pillow's names: "JPEG", "PNG"), for a type filter that offers only these."""
        with self.store.session() as session:
            found = session.scalars(select(Image.format).where(Image.status == "ok", Image.format.is_not(None)).distinct())
            return sorted({name.upper() for name in found if name})

    def status(self) -> dict:
        """Counts of photos by state, tags, folders and models, and the active model."""
        with self.store.session() as session:
            by_status = dict(session.execute(select(Image.status, func.count()).group_by(Image.status)).all())
            active = active_model(session)
            failed = {printable_path(p) for p in session.scalars(select(Image.path).where(Image.status == "error"))}
            # Files the last scan could not take in at all (broken links, unreadable folders) have no row to count.
            skipped = [p for p in self._last_problems() if p.get("path") not in failed]
            return {
                "library": str(self.paths.root),
                "folders": session.scalar(select(func.count()).select_from(Folder)),
                "photos": by_status.get("ok", 0),
                "missing": by_status.get("missing", 0),
                "errors": by_status.get("error", 0),
                "needs_attention": by_status.get("error", 0) + len(skipped),  # errors and files that could not be taken in
                "skipped": skipped,
                "tags": session.scalar(select(func.count(func.distinct(ImageTag.tag_id)))),
                "models": sum(1 for m in session.scalars(select(Model)) if companion_of(m) is None),  # companions go with their model
                "active_model": None
                if active is None
                else {"id": active.id, "name": active.name, "kind": active.kind, "bits": active.bits, "backbone": backbone_of(active).label},
            }

    def photo(self, path: str | os.PathLike[str]) -> Optional[dict]:
        """Everything the library knows of one photo, or None if it is not in the library."""
        absolute = str(Path(path).expanduser().absolute())
        # realpath, not Path.resolve: a symlink loop must give "not in the library", not a crash.
        candidates = [absolute, os.path.realpath(absolute)]
        with self.store.session() as session:
            image = session.scalar(select(Image).where(Image.path.in_(candidates)))
            if image is None:
                return None
            tags = session.execute(
                select(Tag.name, ImageTag.source)
                .join(ImageTag, ImageTag.tag_id == Tag.id)
                .where(ImageTag.image_id == image.id)
                .order_by(ImageTag.source, Tag.name)
            ).all()
            return {
                "path": image.path,
                "status": image.status,
                "error": image.error,
                "size": image.size,
                "width": image.width,
                "height": image.height,
                "format": image.format,
                "date_taken": image.date_taken,
                **photo_date(image.path, image.date_taken, image.mtime_ns),
                "camera_make": image.camera_make,
                "camera_model": image.camera_model,
                "content_hash": image.content_hash,
                "tags": [{"tag": name, "source": source} for name, source in tags],
                "text": readmodel.photo_text(session_sqlite(session), image.content_hash),
            }

    # -- the user's own tags ---------------------------------------------------------

    def tag_names(self) -> list[str]:
        """Every tag on at least one readable photo, most used first (for completion as the user types)."""
        with self.store.session() as session:
            rows = session.execute(
                select(Tag.name, func.count())
                .join(ImageTag, ImageTag.tag_id == Tag.id)
                .join(Image, Image.id == ImageTag.image_id)
                .where(Image.status == "ok")
                .group_by(Tag.id)
                .order_by(func.count().desc(), Tag.name)
            ).all()
        return [name for name, _count in rows]

    def add_user_tag(self, paths: Sequence[str | os.PathLike[str]], tag: str) -> int:
        """Tag photos with a tag of the user's own (source "user", kept by rescans); returns photos tagged."""
        from .usertags import add_user_tag

        changed = add_user_tag(self.store, [str(p) for p in paths], tag)
        if changed:
            self._recode_tagged([str(p) for p in paths])
        return changed

    def remove_user_tag(self, paths: Sequence[str | os.PathLike[str]], tag: str) -> int:
        """Take a user tag off photos (tags read from the files stay); returns photos changed."""
        from .usertags import remove_user_tag

        changed = remove_user_tag(self.store, [str(p) for p in paths], tag)
        if changed:
            self._recode_tagged([str(p) for p in paths])
        return changed

    def _recode_tagged(self, paths: list[str]) -> None:
        """New codes for photos whose tags changed, when the active model codes photos from their tags.

        Fused database codes read a photo's tags: without this, a tag added by hand would
        reach the photo's code only at the next activation.
        """
        import json

        from .schema import Code
        from .usertags import _image_ids

        with self.store.session() as session:
            model = active_model(session)
            if model is None or model.kind != "hashing":
                return
            training = json.loads(model.config or "{}").get("hashing", {}).get("training", {})
            if training.get("database_codes", "image") != "fused":
                return
            model_id = model.id
            ids = _image_ids(session, paths)
            session.execute(delete(Code).where(Code.model_id == model_id, Code.image_id.in_(ids)))
        write_codes(self.store, self.paths.cache, model_id, ScanReport(), Reporter(None))
