"""Database engine and sessions for SQLite (embedded profile) and PostgreSQL, and schema migrations.

SQLite runs in WAL mode with a busy timeout and IMMEDIATE transactions so that worker processes, their lease
heartbeats and the CLI can write concurrently; foreign keys are switched on (SQLite leaves them off by default).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from dealtalk.contracts.errors import ConfigurationError

__all__ = ["Database", "open_database"]

logger = logging.getLogger(__name__)

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class Database:
    """An engine plus a session factory; ``session()`` is a unit of work that commits or rolls back."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back when it raises."""
        with self._sessions.begin() as session:
            yield session

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (idempotent)."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(url: str, *, echo: bool = False, pool_size: int = 5, migrate: bool = True) -> Database:
    """Open (and by default migrate) the database at ``url``.

    Raises:
        ConfigurationError: the URL is malformed or the server cannot be reached.
    """
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ConfigurationError(f"DEALTALK_DATABASE__URL is not a database URL: {exc}") from exc
    options: dict[str, Any] = {"echo": echo, "future": True}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        options["connect_args"] = {"timeout": 30, "check_same_thread": False}
    else:
        options.update(pool_size=pool_size, pool_pre_ping=True)
    engine = create_engine(parsed, **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    database = Database(engine)
    if migrate:
        try:
            database.migrate()
        except OperationalError as exc:
            raise ConfigurationError(
                f"cannot open the database at {parsed.render_as_string(hide_password=True)}: {exc.orig}"
            ) from exc
    return database


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control away from the sqlite3 module (its implicit BEGINs break SAVEPOINTs) ...
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # ... and begin every transaction IMMEDIATE: the write lock is taken up front and waits on busy_timeout,
    # instead of a read transaction failing with "database is locked" when it later tries to write.
    connection.exec_driver_sql("BEGIN IMMEDIATE")
