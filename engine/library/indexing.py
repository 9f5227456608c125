"""Encoding photos with the backbone and turning embeddings into stored codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Optional, Protocol, Sequence

import numpy as np
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.orm import Session

from ..jobs import CancelToken, Reporter
from ..models.backbones import Backbone, BackboneSpec
from ..models.projection import fit_itq
from ..codes.bits import EMBED_DTYPE, codes_to_bytes, pack_bits
from .codemodels import ZERO_SHOT_BITS, activate, active_model, backbone_of, checkpoint_path, companion_of, load_code_model, save_itq, zero_shot_companion
from .fingerprints import KIND as FINGERPRINT_KIND
from .report import ScanReport
from .schema import Code, Embedding, Fingerprint, Image, Model
from .store import Store

if TYPE_CHECKING:
    from ..models.encoder import EncodedBatch

# Refit the unsupervised projection once the library has grown this much since the fit.
REFIT_GROWTH = 2.0


class PhotoEncoder(Protocol):
    """Photo paths in, embeddings out, batch by batch: the local ImageEncoder or the Ray cluster's."""

    def encode(self, paths: Sequence[str], cancel: Optional[CancelToken] = None) -> Iterator[EncodedBatch]: ...


class OtherEncoder(PhotoEncoder, Protocol):
    """What `open_encoder` gives instead of the local encoder (the Ray cluster's ClusterEncoder)."""

    @property
    def has_tokens(self) -> bool: ...


def _embeddings_for(store: Store, key: str) -> tuple[np.ndarray, list[str]]:
    """All cached embeddings of one backbone for photos that are ok, with their content hashes."""
    with store.raw() as db:
        rows = db.execute(
            "SELECT e.content_hash, e.vector FROM embeddings e WHERE e.backbone_key = ? AND e.content_hash IN "
            "(SELECT content_hash FROM images WHERE status = 'ok') ORDER BY e.content_hash",
            (key,),
        ).fetchall()
    if not rows:
        return np.zeros((0, 0), np.float32), []
    vectors = np.stack([np.frombuffer(v, dtype=EMBED_DTYPE) for _, v in rows]).astype(np.float32)
    return vectors, [h for h, _ in rows]


def _embedded_count(store: Store, key: str) -> int:
    """How many ok photos' contents have an embedding of this backbone (a count, no vectors read)."""
    with store.raw() as db:
        return db.execute(
            "SELECT count(*) FROM embeddings WHERE backbone_key = ? AND content_hash IN (SELECT content_hash FROM images WHERE status = 'ok')",
            (key,),
        ).fetchone()[0]


def _to_encode(todo: Sequence[tuple[str, str, int]], embedded: set[str], tokenised: Optional[set[str]]) -> tuple[list[tuple[str, tuple[str, int]]], int]:
    """Distinct contents that lack an embedding (or tokens), and how many copies share them."""
    unique: dict[str, tuple[str, int]] = {}
    copies = 0
    for digest, path, image_id in todo:
        if digest in embedded and (tokenised is None or digest in tokenised):
            continue
        if digest in unique:
            copies += 1
            continue
        unique[digest] = (path, image_id)
    return list(unique.items()), copies


def encode_missing(
    store: Store,
    cache_dir: Path,
    spec: BackboneSpec,
    load_backbone: Callable[[], Backbone],
    report: ScanReport,
    progress: Reporter,
    cancel: Optional[CancelToken],
    batch_size: int = 32,
    open_encoder: Optional[Callable[[], OtherEncoder]] = None,
) -> None:
    """Run the backbone over every ok photo whose content lacks an embedding (or cached tokens).

    The backbone is only loaded (`load_backbone`) when there is something to encode, so
    a rescan of an unchanged library never pays for importing torch and building a model.
    `open_encoder` replaces the local encoder with another one of its interface (`has_tokens`,
    `encode(paths, cancel)`, optional `message` and `close()`): the Ray cluster's.
    """
    from ..models.encoder import ImageEncoder
    from .features import FeatureCache
    from .fingerprints import fingerprint

    key = spec.key
    with store.raw() as db:
        todo = db.execute("SELECT content_hash, path, id FROM images WHERE status = 'ok' AND content_hash IS NOT NULL ORDER BY id").fetchall()
        embedded = {h for (h,) in db.execute("SELECT content_hash FROM embeddings WHERE backbone_key = ?", (key,))}
    features = FeatureCache(cache_dir, key)
    try:
        # Whether this backbone has patch tokens is remembered in the cache after the first load.
        known = features.get_meta("has_tokens")
        tokenised = None if known == "0" else features.cached_token_hashes()
        items, copies = _to_encode(todo, embedded, tokenised)
        if not items:
            return
        encoder: PhotoEncoder
        if open_encoder is not None:
            other = open_encoder()
            encoder, has_tokens = other, other.has_tokens
        else:
            local = ImageEncoder(load_backbone(), batch_size=batch_size, fingerprint=fingerprint)
            encoder, has_tokens = local, local.backbone.has_tokens
        features.set_meta("has_tokens", "1" if has_tokens else "0")
        if not has_tokens:
            items, copies = _to_encode(todo, embedded, None)
        report.reused += copies
        done = 0
        progress("encode", 0, len(items), getattr(encoder, "message", "encoding photos"), force=True)
        for batch in encoder.encode([path for _, (path, _) in items], cancel=cancel):
            if batch.tokens is not None and batch.indices:
                features.put_tokens((items[i][0], t) for i, t in zip(batch.indices, batch.tokens))
            with store.session() as session:
                rows = [
                    {"content_hash": items[i][0], "backbone_key": key, "vector": vector.astype(EMBED_DTYPE).tobytes()}
                    for i, vector in zip(batch.indices, batch.embeddings)
                ]
                if rows:
                    session.execute(insert(Embedding).on_conflict_do_nothing(), rows)
                prints = [{"content_hash": items[i][0], "kind": FINGERPRINT_KIND, "value": value} for i, value in zip(batch.indices, batch.fingerprints)]
                if prints:
                    session.execute(insert(Fingerprint).on_conflict_do_nothing(), prints)
                for i, reason in batch.failures:
                    path, image_id = items[i][1]
                    report.problem(path, reason)
                    report.errors += 1
                    session.execute(update(Image).where(Image.content_hash == items[i][0]).values(status="error", error=reason))
            report.encoded += len(batch.indices)
            done += len(batch.indices) + len(batch.failures)
            # The cluster's line says where photos are encoded and how their bytes travel.
            progress("encode", done, len(items), getattr(encoder, "message", "encoding photos"))
    finally:
        features.close()


def ensure_model(store: Store, models_dir: Path, spec: BackboneSpec, bits: Optional[int], report: ScanReport) -> int:
    """The id of the model to code with: the active one if it fits, else a freshly fitted ITQ.

    A fresh fit is saved inactive: searches keep the old model (and all its codes) until
    `adopt_model` switches over, after every photo has its new code.
    """
    with store.session() as session:
        current = active_model(session)
        if current is not None:
            same_backbone = backbone_of(current).key == spec.key
            if same_backbone and (bits is None or bits == current.bits):
                if current.kind != "itq":
                    return current.id
                fitted_on = json.loads(current.config).get("fitted_on", 0)
                n_now = _embedded_count(store, spec.key)
                if n_now < REFIT_GROWTH * max(fitted_on, 1):
                    return current.id
                report.notes.append(f"the library grew from {fitted_on} to {n_now} photos: refitting the code projection")
            bits = bits or current.bits
    vectors, _ = _embeddings_for(store, spec.key)
    if len(vectors) == 0:
        raise RuntimeError("no photo could be encoded, so there is nothing to fit codes on")
    projection = fit_itq(vectors, bits=bits or 64)
    with store.session() as session:
        model = save_itq(session, models_dir, spec, projection, fitted_on=len(vectors))
        report.notes.append(f"fitted a {projection.bits}-bit ITQ projection on {len(vectors)} photos")
        return model.id


def _model(session: Session, model_id: int) -> Model:
    """A model's row; the ids given here were written by the same indexing run."""
    model = session.get(Model, model_id)
    if model is None:
        raise LookupError(f"model {model_id} is no longer in the library")
    return model


def adopt_model(store: Store, model_id: int, models_dir: Path) -> None:
    """Make a freshly fitted model active and drop the ITQ models it replaces.

    One transaction: a crash before it leaves the old model active and complete, a crash
    after it the new one. Replaced checkpoints are deleted only once that has committed.
    """
    with store.session() as session:
        if _model(session, model_id).active:
            return
        activate(session, model_id)
        # Replaced unsupervised models (and fits left over by an interrupted run) are cheap
        # to recompute: drop them and their codes.
        old = [m for m in session.scalars(select(Model).where(Model.kind == "itq", Model.id != model_id)) if companion_of(m) is None]
        # Only files in this library's own models folder: a copied library's rows still
        # name the original's files, which are not this library's to delete.
        files = [path for m in old if m.checkpoint and (path := checkpoint_path(m, models_dir)).parent == Path(models_dir)]
        session.execute(delete(Model).where(Model.id.in_([m.id for m in old])))
    for file in files:
        file.unlink(missing_ok=True)


def discard_model(store: Store, model_id: int, models_dir: Path) -> None:
    """Forget a model that never became active, with its codes and its file (an unfinished change of backbone).

    The embeddings it was fitted on stay cached: a later try, or changing back, skips them.
    """
    with store.session() as session:
        model = session.get(Model, model_id)
        if model is None or model.active:
            return
        path = checkpoint_path(model, models_dir) if model.checkpoint else None
        session.execute(delete(Code).where(Code.model_id == model_id))
        session.execute(delete(Model).where(Model.id == model_id))
    if path is not None and path.parent == Path(models_dir):
        path.unlink(missing_ok=True)


def tags_of(store: Store, image_ids: list[int]) -> list[list[str]]:
    """Each photo's tag names (any source), in the order of `image_ids`."""
    found: dict[int, list[str]] = {i: [] for i in image_ids}
    with store.raw() as db:
        for start in range(0, len(image_ids), 900):
            chunk = image_ids[start : start + 900]
            marks = ",".join("?" * len(chunk))
            for image_id, name in db.execute(
                f"SELECT it.image_id, t.name FROM image_tags it JOIN tags t ON t.id = it.tag_id WHERE it.image_id IN ({marks}) ORDER BY it.source, t.name",
                chunk,
            ):
                if name not in found[image_id]:
                    found[image_id].append(name)
    return [found[i] for i in image_ids]


def ensure_companion(store: Store, models_dir: Path, model_id: int) -> Optional[int]:
    """The zero-shot companion of a trained model, fitted on the library's embeddings the first time.

    A trained model's codes speak the library's tag vocabulary; its companion keeps CLIP's
    own geometry (an ITQ projection of the same embeddings), which search uses to find
    the photos a word that is no tag describes (`engine/search/openvocab.py`).
    """
    with store.session() as session:
        model = session.get(Model, model_id)
        if model is None or model.kind == "itq":
            return None
        found = zero_shot_companion(session, model_id)
        if found is not None:
            return found.id
        spec = backbone_of(model)
    vectors, _ = _embeddings_for(store, spec.key)
    if len(vectors) < 2:
        return None
    projection = fit_itq(vectors, bits=min(ZERO_SHOT_BITS, vectors.shape[1]))
    with store.session() as session:
        return save_itq(session, models_dir, spec, projection, fitted_on=len(vectors), companion=model_id).id


def write_codes(
    store: Store, cache_dir: Path, model_id: int, report: ScanReport, progress: Reporter, cancel: Optional[CancelToken] = None, device: str = "cpu"
) -> None:
    """Give every ok photo that has an embedding but no code under this model its code.

    A trained model's zero-shot companion (`ensure_companion`) gets its codes too.
    Resumable: photos that already have a code are skipped, so an interrupted run (or
    activation) picks up where it stopped.
    """
    _write_model_codes(store, cache_dir, model_id, report, progress, cancel, device)
    companion = ensure_companion(store, store.path.parent / "models", model_id)
    if companion is not None:
        _write_model_codes(store, cache_dir, companion, ScanReport(), progress, cancel, device)


def _write_model_codes(
    store: Store, cache_dir: Path, model_id: int, report: ScanReport, progress: Reporter, cancel: Optional[CancelToken], device: str
) -> None:
    from .features import FeatureCache

    with store.session() as session:
        model = _model(session, model_id)
        # The models folder beside the database (LibraryPaths.models), wherever the library now is.
        code_model = load_code_model(model, device=device, models_dir=store.path.parent / "models")
        key = backbone_of(model).key
        todo = session.execute(
            select(Image.id, Embedding.content_hash, Embedding.vector)
            .join(Embedding, (Embedding.content_hash == Image.content_hash) & (Embedding.backbone_key == key))
            .where(Image.status == "ok")
            .where(~select(Code.image_id).where(Code.image_id == Image.id, Code.model_id == model_id).exists())
            .order_by(Image.id)
        ).all()
    features = FeatureCache(cache_dir, key) if code_model.needs_tokens else None
    try:
        chunk_size = 5000 if not code_model.needs_tokens else 1024
        for start in range(0, len(todo), chunk_size):
            if cancel is not None:
                cancel.raise_if_cancelled()
            chunk = todo[start : start + chunk_size]
            vectors = np.stack([np.frombuffer(v, dtype=EMBED_DTYPE) for _, _, v in chunk]).astype(np.float32)
            tokens = features.get_tokens([h for _, h, _ in chunk], vectors.shape[1]) if features is not None else None
            tags = tags_of(store, [image_id for image_id, _, _ in chunk]) if code_model.needs_tags else None
            packed = pack_bits(code_model.encode_images(vectors, tokens, tags))
            with store.session() as session:
                session.execute(
                    insert(Code).on_conflict_do_nothing(),
                    [
                        {"image_id": image_id, "model_id": model_id, "code": codes_to_bytes(row, code_model.bits)}
                        for (image_id, _, _), row in zip(chunk, packed)
                    ],
                )
            report.coded += len(chunk)
            progress("codes", min(start + chunk_size, len(todo)), len(todo), "writing codes")
    finally:
        if features is not None:
            features.close()
