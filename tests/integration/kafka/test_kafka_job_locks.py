"""Job locks on the real stores (SQLite and PostgreSQL): one live executor per (recording, stage, version),
released when the holder lets go or dies."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator

import pytest

from dealtalk.pipeline.runtime.kafka.locks import HeldLock, job_locks
from dealtalk.pipeline.store import Database, open_database


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = open_database(database_url)
    yield db
    db.dispose()


def test_one_holder_per_job_and_other_jobs_unaffected(database: Database) -> None:
    locks = job_locks(database)
    first = locks.try_acquire("rec-1", "transcribe", "asr-1")
    assert first is not None
    assert locks.try_acquire("rec-1", "transcribe", "asr-1") is None  # the same job is running
    others = [
        locks.try_acquire("rec-2", "transcribe", "asr-1"),
        locks.try_acquire("rec-1", "analyze", "nlp-1"),
    ]
    assert all(lock is not None for lock in others)
    first.release()
    first.release()  # idempotent
    again = locks.try_acquire("rec-1", "transcribe", "asr-1")
    assert again is not None
    for lock in (again, *others):
        assert lock is not None
        lock.release()


def test_a_killed_holder_releases_its_lock(database: Database) -> None:
    holder = textwrap.dedent(
        f"""
        import sys, time
        from dealtalk.pipeline.runtime.kafka.locks import job_locks
        from dealtalk.pipeline.store import open_database
        lock = job_locks(open_database({str(database.engine.url.render_as_string(hide_password=False))!r}))
        assert lock.try_acquire("rec-9", "publish", "v1") is not None
        print("held", flush=True)
        time.sleep(60)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "held"
        locks = job_locks(database)
        assert locks.try_acquire("rec-9", "publish", "v1") is None
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        deadline = time.monotonic() + 10  # PostgreSQL notices the dropped connection within moments
        lock = None
        while lock is None and time.monotonic() < deadline:
            lock = locks.try_acquire("rec-9", "publish", "v1")
            time.sleep(0.05)
        assert lock is not None
        lock.release()
    finally:
        process.kill()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def test_a_lock_given_up_while_its_job_runs_is_released_when_the_job_ends(database: Database) -> None:
    locks = job_locks(database)
    lock = locks.try_acquire("rec-3", "transcribe", "asr-1")
    assert lock is not None
    held = HeldLock(lock)
    started, finish = threading.Event(), threading.Event()

    def job() -> str:
        started.set()
        finish.wait(10)
        return "done"

    thread = threading.Thread(target=held.run, args=(job,))
    thread.start()
    assert started.wait(5)
    held.release()  # the worker stopped waiting (shutdown): the job still runs, so the lock stays held
    assert locks.try_acquire("rec-3", "transcribe", "asr-1") is None
    finish.set()
    thread.join(5)
    after = locks.try_acquire("rec-3", "transcribe", "asr-1")
    assert after is not None
    after.release()
