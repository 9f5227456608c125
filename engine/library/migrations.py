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


# Triggers that count every write the code cache depends on (engine/search/codecache.py): codes
# inserted, changed or deleted, and photos whose id, status or folder changed or that were deleted.
CODE_COUNTER_TRIGGERS = {
    "bitlens_cc_codes_insert": "AFTER INSERT ON codes",
    "bitlens_cc_codes_update": "AFTER UPDATE ON codes",
    "bitlens_cc_codes_delete": "AFTER DELETE ON codes",
    "bitlens_cc_images_update": "AFTER UPDATE OF id, status, folder_id ON images",
    "bitlens_cc_images_delete": "AFTER DELETE ON images",
}
_BUMP = "UPDATE code_cache_state SET generation = generation + 1"


def _v4_code_counter(db: sqlite3.Connection) -> None:
    """The write counter of the codes and its random library token (before v4 the code cache made them itself)."""
    db.execute("CREATE TABLE IF NOT EXISTS code_cache_state (id INTEGER PRIMARY KEY CHECK (id = 1), generation INTEGER NOT NULL, token TEXT NOT NULL)")
    db.execute("INSERT OR IGNORE INTO code_cache_state (id, generation, token) VALUES (1, 0, lower(hex(randomblob(16))))")
    for name, when in CODE_COUNTER_TRIGGERS.items():
        db.execute(f"CREATE TRIGGER IF NOT EXISTS {name} {when} BEGIN {_BUMP}; END")
    # Writes made while a trigger was missing went uncounted: no copy made before may match.
    db.execute(_BUMP)


def code_counter_intact(db: sqlite3.Connection) -> bool:
    """Whether the counter table and all its triggers are there (a tool or a table rebuild may drop them)."""
    present = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")}
    return "code_cache_state" in present and all(name in present for name in CODE_COUNTER_TRIGGERS)


# Index i holds the step that takes a library from version i to version i + 1.
MIGRATIONS: list[Step] = [_v1_initial, _v2_photo_text, _v3_fingerprints, _v4_code_counter]
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
                if not code_counter_intact(db):
                    _v4_code_counter(db)  # put dropped triggers back (and bump: older copies never match)
                db.execute("COMMIT")
                return found
            MIGRATIONS[version](db)
            db.execute(f"PRAGMA user_version = {version + 1}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
