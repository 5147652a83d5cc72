"""One live executor per job: a lock on (recording id, stage, version) held while a worker runs and stores it.

Kafka hands a partition to one group member at a time, but not at every instant: a member that has not yet
noticed it was replaced (a "zombie" after a rebalance, or a job orphaned by one) keeps running the job it had
while the new owner starts it again. The idempotency record makes the results identical, but the work would
run twice at once: twice the GPU minutes, and two concurrent calls to a CRM whose upsert may race. The lock
makes the second executor wait until the first has stored its result, which it then reuses.

The lock dies with its holder, so a SIGKILLed worker never blocks a job: a PostgreSQL session-level advisory
lock (released when the connection drops), or on SQLite (one host) an ``flock`` on one of a fixed set of lock
files beside the database (released when the process's file descriptor closes). Striping over a fixed set
keeps the number of files bounded; two jobs that share a stripe merely wait for each other.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy import text

from dealtalk.pipeline.store import Database

__all__ = ["AdvisoryLocks", "FileLocks", "HeldLock", "JobLock", "JobLocks", "job_locks"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

_STRIPES = 4096


class JobLock(Protocol):
    def release(self) -> None:
        """Give the lock back (idempotent)."""


class JobLocks(Protocol):
    def try_acquire(self, recording_id: str, stage: str, version: str) -> JobLock | None:
        """The lock for this job, or None when another live worker holds it (blocking: call from a thread)."""


def _key(recording_id: str, stage: str, version: str) -> bytes:
    return hashlib.sha256(f"{recording_id}\x00{stage}\x00{version}".encode()).digest()


def job_locks(database: Database) -> JobLocks:
    """The job locks that fit the store: advisory locks on PostgreSQL, lock files beside a SQLite database.

    Raises:
        ValueError: the database is neither (no lock that dies with its holder is known for it).
    """
    if database.dialect == "postgresql":
        return AdvisoryLocks(database)
    if database.dialect == "sqlite":
        path = database.engine.url.database
        folder = Path(path).resolve().parent if path and path != ":memory:" else Path.cwd()
        return FileLocks(folder / ".dealtalk-job-locks")
    raise ValueError(f"no job lock for a {database.dialect} database; use PostgreSQL or SQLite")


class _AdvisoryLock:
    def __init__(self, connection: Any, key: int) -> None:
        self._connection = connection
        self._key = key

    def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
        finally:
            connection.close()


class AdvisoryLocks:
    """PostgreSQL session-level advisory locks, each on a connection of its own held for the job."""

    def __init__(self, database: Database) -> None:
        self._engine = database.engine

    def try_acquire(self, recording_id: str, stage: str, version: str) -> JobLock | None:
        key = int.from_bytes(_key(recording_id, stage, version)[:8], "big", signed=True)
        # Autocommit: the lock belongs to the session, and no transaction stays open for minutes.
        connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()
        except Exception:
            connection.close()
            raise
        if not got:
            connection.close()
            return None
        return _AdvisoryLock(connection, key)


class _FileLock:
    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


class FileLocks:
    """``flock`` on lock files in ``folder`` (one host: where a SQLite store lives)."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    def try_acquire(self, recording_id: str, stage: str, version: str) -> JobLock | None:
        stripe = int.from_bytes(_key(recording_id, stage, version)[:4], "big") % _STRIPES
        self._folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._folder / f"{stripe:04d}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        return _FileLock(fd)


class HeldLock:
    """A job's lock while its thread runs: released after the result is stored, or, when the worker stops
    waiting for the thread (shutdown, abandoned job), by the thread itself once it ends, so that the job
    never runs twice at once even then."""

    def __init__(self, lock: JobLock) -> None:
        self._lock = lock
        self._mutex = threading.Lock()
        self._running = False
        self._orphaned = False

    def run(self, fn: Callable[[], T]) -> T:
        """Run the job's ``fn`` (in its thread) under the lock."""
        with self._mutex:
            self._running = True
        try:
            return fn()
        finally:
            with self._mutex:
                self._running = False
                release = self._orphaned
            if release:
                self._lock.release()

    def release(self) -> None:
        """The worker is done with the job: release now, or when its thread ends if it still runs."""
        with self._mutex:
            self._orphaned = True
            release = not self._running
        if release:
            self._lock.release()
