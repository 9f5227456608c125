"""The user's own tags (source "user"): added and removed by hand, kept by every rescan."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.orm import Session

from .xmp import MAX_TAG_LENGTH
from .schema import Image, ImageTag, Tag
from .store import Store

USER = "user"


class TagError(ValueError):
    """A tag the library cannot store as given."""


def clean_tag(text: str) -> str:
    """A tag as stored: inner whitespace collapsed, ends trimmed; refuses empty and over-long ones."""
    tag = " ".join(str(text).split())
    if not tag:
        raise TagError("a tag cannot be empty")
    if len(tag) > MAX_TAG_LENGTH:
        raise TagError(f"a tag can be at most {MAX_TAG_LENGTH} characters")
    return tag


def _image_ids(session: Session, paths: Sequence[str]) -> list[int]:
    wanted = {str(Path(p).expanduser().absolute()) for p in paths}
    return list(session.scalars(select(Image.id).where(Image.path.in_(wanted))))


def add_user_tag(store: Store, paths: Sequence[str], text: str) -> int:
    """Tag photos (by path) with `text`; returns how many photos got the tag now."""
    tag = clean_tag(text)
    with store.session() as session:
        ids = _image_ids(session, paths)
        if not ids:
            return 0
        tag_id = session.scalar(select(Tag.id).where(Tag.name == tag))  # NOCASE: "Beach" is "beach"
        if tag_id is None:
            row = Tag(name=tag)
            session.add(row)
            session.flush()
            tag_id = row.id
        had = set(session.scalars(select(ImageTag.image_id).where(ImageTag.image_id.in_(ids), ImageTag.tag_id == tag_id, ImageTag.source == USER)))
        fresh = [i for i in ids if i not in had]
        if fresh:
            session.execute(insert(ImageTag).on_conflict_do_nothing(), [{"image_id": i, "tag_id": tag_id, "source": USER} for i in fresh])
        return len(fresh)


def remove_user_tag(store: Store, paths: Sequence[str], text: str) -> int:
    """Take the user's tag `text` off photos; tags read from the files themselves stay. Returns photos changed."""
    tag = " ".join(str(text).split())
    with store.session() as session:
        ids = _image_ids(session, paths)
        tag_id = session.scalar(select(Tag.id).where(Tag.name == tag))
        if not ids or tag_id is None:
            return 0
        # A DELETE gives a CursorResult (with rowcount); Session.execute is typed for any statement.
        result = cast(
            "CursorResult[Any]", session.execute(delete(ImageTag).where(ImageTag.image_id.in_(ids), ImageTag.tag_id == tag_id, ImageTag.source == USER))
        )
        return int(result.rowcount or 0)
