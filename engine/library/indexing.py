"""Encoding photos with the backbone and turning embeddings into stored codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import numpy as np
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.sqlite import insert

from ..jobs import CancelToken, Reporter
from ..models.backbones import Backbone, BackboneSpec
from ..models.projection import fit_itq
from ..search.hamming import codes_to_bytes, pack_bits
from .codemodels import activate, active_model, backbone_of, load_itq, save_itq
from .report import ScanReport
from .schema import Code, Embedding, Image, Model
from .store import Store

EMBED_DTYPE = np.float16  # half the size; the projection is insensitive to fp16 rounding
# Refit the unsupervised projection once the library has grown this much since the fit.
REFIT_GROWTH = 2.0


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


def encode_missing(store: Store, backbone: Backbone, report: ScanReport, progress: Reporter, cancel: Optional[CancelToken], batch_size: int = 32) -> None:
    """Run the backbone over every ok photo whose content has no embedding yet."""
    from ..models.encoder import ImageEncoder

    key = backbone.spec.key
    with store.session() as session:
        todo = session.execute(
            select(Image.content_hash, Image.path, Image.id)
            .where(Image.status == "ok", Image.content_hash.is_not(None))
            .where(~select(Embedding.content_hash).where(Embedding.backbone_key == key, Embedding.content_hash == Image.content_hash).exists())
            .order_by(Image.id)
        ).all()
    # One encoding per distinct content: copies share it.
    unique: dict[str, tuple[str, int]] = {}
    for digest, path, image_id in todo:
        unique.setdefault(digest, (path, image_id))
    items = list(unique.items())
    report.reused += len(todo) - len(items)
    encoder = ImageEncoder(backbone, batch_size=batch_size)
    done = 0
    progress("encode", 0, len(items), "encoding photos", force=True)
    for batch in encoder.encode([path for _, (path, _) in items], cancel=cancel):
        with store.session() as session:
            rows = [
                {"content_hash": items[i][0], "backbone_key": key, "vector": vector.astype(EMBED_DTYPE).tobytes()}
                for i, vector in zip(batch.indices, batch.embeddings)
            ]
            if rows:
                session.execute(insert(Embedding).on_conflict_do_nothing(), rows)
            for i, reason in batch.failures:
                path, image_id = items[i][1]
                report.problem(path, reason)
                report.errors += 1
                session.execute(update(Image).where(Image.content_hash == items[i][0]).values(status="error", error=reason))
        report.encoded += len(batch.indices)
        done += len(batch.indices) + len(batch.failures)
        progress("encode", done, len(items), "encoding photos")


def ensure_model(store: Store, models_dir: Path, spec: BackboneSpec, bits: Optional[int], report: ScanReport) -> int:
    """The id of the model to code with: the active one if it fits, else a freshly fitted ITQ."""
    with store.session() as session:
        current = active_model(session)
        if current is not None:
            same_backbone = backbone_of(current).key == spec.key
            if same_backbone and (bits is None or bits == current.bits):
                if current.kind != "itq":
                    return current.id
                fitted_on = json.loads(current.config).get("fitted_on", 0)
                n_now = len(_embeddings_for(store, spec.key)[1])
                if n_now < REFIT_GROWTH * max(fitted_on, 1):
                    return current.id
                report.notes.append(f"the library grew from {fitted_on} to {n_now} photos: refitting the code projection")
            bits = bits or current.bits
    vectors, _ = _embeddings_for(store, spec.key)
    if len(vectors) == 0:
        raise RuntimeError("no photo could be encoded, so there is nothing to fit codes on")
    projection = fit_itq(vectors, bits=bits or 64)
    with store.session() as session:
        old = [m.id for m in session.scalars(select(Model).where(Model.kind == "itq"))]
        model = save_itq(session, models_dir, spec, projection, fitted_on=len(vectors))
        activate(session, model.id)
        # Replaced unsupervised models are cheap to recompute: drop them and their codes.
        for old_id in old:
            old_model = session.get(Model, old_id)
            if old_model.checkpoint:
                Path(old_model.checkpoint).unlink(missing_ok=True)
            session.execute(delete(Model).where(Model.id == old_id))
        report.notes.append(f"fitted a {projection.bits}-bit ITQ projection on {len(vectors)} photos")
        return model.id


def write_codes(store: Store, model_id: int, report: ScanReport, progress: Reporter) -> None:
    """Give every ok photo that has an embedding but no code under this model its code."""
    with store.session() as session:
        model = session.get(Model, model_id)
        projection = load_itq(model)
        key = backbone_of(model).key
        todo = session.execute(
            select(Image.id, Embedding.vector)
            .join(Embedding, (Embedding.content_hash == Image.content_hash) & (Embedding.backbone_key == key))
            .where(Image.status == "ok")
            .where(~select(Code.image_id).where(Code.image_id == Image.id, Code.model_id == model_id).exists())
        ).all()
    for start in range(0, len(todo), 5000):
        chunk = todo[start : start + 5000]
        vectors = np.stack([np.frombuffer(v, dtype=EMBED_DTYPE) for _, v in chunk]).astype(np.float32)
        packed = pack_bits(projection.encode(vectors))
        with store.session() as session:
            session.execute(
                insert(Code).on_conflict_do_nothing(),
                [{"image_id": image_id, "model_id": model_id, "code": codes_to_bytes(row, projection.bits)} for (image_id, _), row in zip(chunk, packed)],
            )
        report.coded += len(chunk)
        progress("codes", min(start + 5000, len(todo)), len(todo), "writing codes")
