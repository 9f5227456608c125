"""The library's tables as SQLAlchemy 2.x ORM classes.

The tables themselves are created by the frozen SQL of `migrations.py`; these classes
only map them. A test checks that both agree.
"""

from __future__ import annotations

from typing import Optional

from sqlalchemy import ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from .pathtext import PathText

# Where a weak tag came from. "user" tags are the user's own and survive every rescan;
# "ocr" tags are words read in the photo itself (engine/library/photo_text.py).
TAG_SOURCES = ("folder", "filename", "xmp", "iptc", "sidecar", "user", "ocr")
IMAGE_STATUSES = ("ok", "missing", "error")


class Base(DeclarativeBase):
    pass


class Folder(Base):
    """A photo folder the user added; BitLens only ever reads below it."""

    __tablename__ = "folders"

    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(PathText, unique=True)
    added_at: Mapped[float]
    last_scan_at: Mapped[Optional[float]]
    reachable: Mapped[bool] = mapped_column(default=True)

    images: Mapped[list["Image"]] = relationship(back_populates="folder", passive_deletes=True)


class Image(Base):
    """One photo file as last seen by the scanner."""

    __tablename__ = "images"

    id: Mapped[int] = mapped_column(primary_key=True)
    folder_id: Mapped[int] = mapped_column(ForeignKey("folders.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(PathText, unique=True)  # as the OS gives it, surrogate escapes and all
    size: Mapped[int]
    mtime_ns: Mapped[int]
    content_hash: Mapped[Optional[str]] = mapped_column(String(64))
    width: Mapped[Optional[int]]
    height: Mapped[Optional[int]]
    format: Mapped[Optional[str]]
    date_taken: Mapped[Optional[str]]
    camera_make: Mapped[Optional[str]]
    camera_model: Mapped[Optional[str]]
    status: Mapped[str] = mapped_column(String(16), default="ok")
    error: Mapped[Optional[str]] = mapped_column(PathText)  # may quote a path
    first_seen: Mapped[float]
    last_seen: Mapped[float]

    folder: Mapped[Folder] = relationship(back_populates="images")
    tags: Mapped[list["ImageTag"]] = relationship(back_populates="image", passive_deletes=True)


class Tag(Base):
    """A distinct tag text; matching is case-insensitive, the first spelling is kept."""

    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)


class ImageTag(Base):
    """A tag on a photo together with the source it was read from."""

    __tablename__ = "image_tags"

    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)
    source: Mapped[str] = mapped_column(String(16), primary_key=True)

    image: Mapped[Image] = relationship(back_populates="tags")
    tag: Mapped[Tag] = relationship()


class Model(Base):
    """A code model: a backbone plus what turns its embeddings into K-bit codes."""

    __tablename__ = "models"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    backbone: Mapped[str] = mapped_column(Text)
    pretrained: Mapped[Optional[str]] = mapped_column(Text)
    bits: Mapped[int]
    config: Mapped[str] = mapped_column(Text)
    checkpoint: Mapped[Optional[str]] = mapped_column(Text)
    checkpoint_sha256: Mapped[Optional[str]] = mapped_column(String(64))
    metrics: Mapped[Optional[str]] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[float]


class Code(Base):
    """The K-bit code of one photo under one model (K/8 little-endian bytes)."""

    __tablename__ = "codes"

    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[bytes] = mapped_column(LargeBinary)


class Embedding(Base):
    """A cached backbone embedding, keyed by file content so renames and copies share it."""

    __tablename__ = "embeddings"

    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    backbone_key: Mapped[str] = mapped_column(Text, primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class PhotoText(Base):
    """The text an OCR engine read in one photo content (none found is stored too, so it is not read again)."""

    __tablename__ = "photo_text"

    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    engine: Mapped[str] = mapped_column(Text, primary_key=True)
    has_text: Mapped[bool]
    text: Mapped[str] = mapped_column(Text, default="")  # the lines joined by newlines, as read
    lines: Mapped[str] = mapped_column(Text, default="[]")  # JSON: [{text, box, confidence}]
    tags: Mapped[str] = mapped_column(Text, default="")  # the words that became "ocr" tags, space-separated
    read_at: Mapped[float]


class Fingerprint(Base):
    """A perceptual fingerprint of a photo's pixels (for near-duplicates), keyed by file content."""

    __tablename__ = "fingerprints"

    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
