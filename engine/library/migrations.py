"""Step-by-step schema migrations, tracked in SQLite's `PRAGMA user_version`.

Each step is frozen SQL: once released it is never edited, only followed by a new
step, so a library made by any earlier release upgrades one version at a time.
"""

from __future__ import annotations

import sqlite3
from typing import Callable

Step = Callable[[sqlite3.Connection], None]


def _run_script(db: sqlite3.Connection, script: str) -> None:
    """Run statements one by one: `executescript` would COMMIT the open transaction."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            db.execute(statement)
            statement = ""


def _v1_initial(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        CREATE TABLE folders (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            added_at FLOAT NOT NULL,
            last_scan_at FLOAT,
            reachable BOOLEAN NOT NULL DEFAULT 1
        );
        CREATE TABLE images (
            id INTEGER PRIMARY KEY,
            folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
            path TEXT NOT NULL UNIQUE,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            content_hash VARCHAR(64),
            width INTEGER,
            height INTEGER,
            format VARCHAR,
            date_taken VARCHAR,
            camera_make VARCHAR,
            camera_model VARCHAR,
            status VARCHAR(16) NOT NULL DEFAULT 'ok'
                CHECK (status IN ('ok', 'missing', 'error')),
            error TEXT,
            first_seen FLOAT NOT NULL,
            last_seen FLOAT NOT NULL
        );
        CREATE INDEX ix_images_folder ON images(folder_id);
        CREATE INDEX ix_images_hash ON images(content_hash);
        CREATE TABLE tags (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE
        );
        CREATE TABLE image_tags (
            image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
            tag_id INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
            source VARCHAR(16) NOT NULL
                CHECK (source IN ('folder', 'filename', 'xmp', 'iptc', 'sidecar', 'user')),
            PRIMARY KEY (image_id, tag_id, source)
        );
        CREATE INDEX ix_image_tags_tag ON image_tags(tag_id);
        CREATE TABLE models (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            kind VARCHAR(32) NOT NULL,
            backbone TEXT NOT NULL,
            pretrained TEXT,
            bits INTEGER NOT NULL,
            config TEXT NOT NULL,
            checkpoint TEXT,
            checkpoint_sha256 VARCHAR(64),
            metrics TEXT,
            active BOOLEAN NOT NULL DEFAULT 0,
            created_at FLOAT NOT NULL
        );
        -- at most one active model, enforced by the database itself
        CREATE UNIQUE INDEX ix_models_one_active ON models(active) WHERE active;
        CREATE TABLE codes (
            image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
            model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
            code BLOB NOT NULL,
            PRIMARY KEY (image_id, model_id)
        );
        CREATE INDEX ix_codes_model ON codes(model_id);
        CREATE TABLE embeddings (
            content_hash VARCHAR(64) NOT NULL,
            backbone_key TEXT NOT NULL,
            vector BLOB NOT NULL,
            PRIMARY KEY (content_hash, backbone_key)
        );
        """,
    )


def _v2_photo_text(db: sqlite3.Connection) -> None:
    """Text read in photos (OCR), per content; "ocr" joins the tag sources."""
    _run_script(
        db,
        """
        CREATE TABLE photo_text (
            content_hash VARCHAR(64) NOT NULL,
            engine TEXT NOT NULL,
            has_text BOOLEAN NOT NULL,
            text TEXT NOT NULL DEFAULT '',
            lines TEXT NOT NULL DEFAULT '[]',
            tags TEXT NOT NULL DEFAULT '',
            read_at FLOAT NOT NULL,
            PRIMARY KEY (content_hash, engine)
        );
        CREATE INDEX ix_photo_text_found ON photo_text(content_hash) WHERE has_text;
        -- SQLite cannot change a CHECK constraint in place: rebuild image_tags with "ocr" allowed.
        CREATE TABLE image_tags_v2 (
            image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
            tag_id INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
            source VARCHAR(16) NOT NULL
                CHECK (source IN ('folder', 'filename', 'xmp', 'iptc', 'sidecar', 'user', 'ocr')),
            PRIMARY KEY (image_id, tag_id, source)
        );
        INSERT INTO image_tags_v2 (image_id, tag_id, source) SELECT image_id, tag_id, source FROM image_tags;
        DROP TABLE image_tags;
        ALTER TABLE image_tags_v2 RENAME TO image_tags;
        CREATE INDEX ix_image_tags_tag ON image_tags(tag_id);
        """,
    )


def _v3_fingerprints(db: sqlite3.Connection) -> None:
    # Perceptual fingerprints of the pixels (engine/library/fingerprints.py), keyed by
    # content like embeddings; `kind` names the algorithm so a new one never mixes with old values.
    _run_script(
        db,
        """
        CREATE TABLE fingerprints (
            content_hash VARCHAR(64) NOT NULL,
            kind VARCHAR(32) NOT NULL,
            value BLOB NOT NULL,
            PRIMARY KEY (content_hash, kind)
        );
        """,
    )


# Index i holds the step that takes a library from version i to version i + 1.
MIGRATIONS: list[Step] = [_v1_initial, _v2_photo_text, _v3_fingerprints]
SCHEMA_VERSION = len(MIGRATIONS)


class LibraryTooNew(RuntimeError):
    """The library was written by a newer BitLens than this one."""


def migrate(db: sqlite3.Connection) -> int:
    """Bring the database to SCHEMA_VERSION one step at a time; return the version found."""
    found = db.execute("PRAGMA user_version").fetchone()[0]
    if found > SCHEMA_VERSION:
        raise LibraryTooNew(f"this library has schema version {found}, but this BitLens only knows up to {SCHEMA_VERSION}: update BitLens to open it")
    while True:
        # Each step and its version bump commit together, so a crash leaves a whole step or none.
        db.execute("BEGIN IMMEDIATE")
        try:
            # Read the version again under the write lock: another process opening the same
            # library at the same moment may have run this step already.
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version >= SCHEMA_VERSION:
                db.execute("COMMIT")
                return found
            MIGRATIONS[version](db)
            db.execute(f"PRAGMA user_version = {version + 1}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
