"""Opening a library database: SQLite in WAL mode with foreign keys, migrated on open."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from .migrations import migrate
from .name_dates import name_date_sql
from .pathtext import text_factory

BUSY_TIMEOUT_MS = 15000
_BEGIN_OPTION = "bitlens_begin"  # an engine execution option: the statement that opens a transaction


def storage_problem(error: BaseException) -> str | None:
    """One sentence for a database error caused by the disk (full, read-only, failing), else None.

    SQLite rolls the open transaction back on such errors, so what was committed before
    is intact; the sentence says so and what to do.
    """
    cause = getattr(error, "orig", None) or error  # SQLAlchemy wraps the driver's exception
    if not isinstance(cause, sqlite3.Error):
        return None
    text = str(cause)
    if not any(word in text for word in ("full", "disk I/O", "readonly", "read-only", "unable to open")):
        return None
    return (
        f"the library database could not be written ({text}): the disk may be full, read-only or failing. "
        "Nothing already stored was lost; make room (or fix the disk) and run the command again to go on"
    )


def _configure(dbapi_connection: sqlite3.Connection) -> None:
    """Per-connection pragmas: WAL readers never block the writer, FKs enforced."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # A photo's date when its metadata has none: from its file or folder names (search.filters.DATE_SQL).
    dbapi_connection.create_function("name_date", 1, name_date_sql, deterministic=True)
    # Paths whose names are not UTF-8 are stored escaped (pathtext.to_db); every read turns them back.
    dbapi_connection.text_factory = text_factory


def _migrate_file(path: Path) -> None:
    raw = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        _configure(raw)
        migrate(raw)
    finally:
        raw.close()


class Store:
    """The library database: one SQLAlchemy engine and a session factory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        _migrate_file(path)
        self.engine: Engine = create_engine(f"sqlite:///{path}", future=True)

        @event.listens_for(self.engine, "connect")
        def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
            # Let SQLAlchemy, not the driver, decide where transactions begin (the
            # pysqlite recipe from the SQLAlchemy docs), so BEGIN is explicit and real.
            dbapi_connection.isolation_level = None
            _configure(dbapi_connection)

        @event.listens_for(self.engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql(conn.get_execution_options().get(_BEGIN_OPTION, "BEGIN"))

        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(self.engine.execution_options(**{_BEGIN_OPTION: "BEGIN IMMEDIATE"}), expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any error."""
        with self._sessions() as session:
            with session.begin():
                yield session

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """A session for a change that reads before it writes: it takes SQLite's write lock at BEGIN.

        A plain (deferred) transaction that has read and then writes fails at once with
        "database is locked" if another connection committed in between (its snapshot is
        stale; SQLite does not wait then). Another thread of this process may write at any
        moment (an index job writes codes, a tag is added, a model is activated), so such a
        change waits for the lock first (up to the busy timeout) and reads what is current.
        """
        with self._write_sessions() as session:
            with session.begin():
                yield session

    @contextmanager
    def raw(self) -> Iterator[sqlite3.Connection]:
        """A plain sqlite3 connection for bulk reads where the ORM would be slow, closed on leaving the block.

        It is in autocommit mode: a caller that needs one snapshot or one write transaction
        says BEGIN itself.
        """
        connection = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            _configure(connection)
            yield connection
        finally:
            connection.close()

    def close(self) -> None:
        self.engine.dispose()


def session_sqlite(session: Session) -> sqlite3.Connection:
    """The sqlite3 connection under an ORM session (in the session's transaction), for plain SQL."""
    db = session.connection().connection.driver_connection
    assert db is not None  # a live session's connection always has its driver's
    return db
