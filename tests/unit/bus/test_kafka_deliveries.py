"""Kafka has no delivery count: starts without a surviving worker are counted in the store instead."""

from __future__ import annotations

from pathlib import Path

from dealtalk.pipeline.runtime.handler import Dead
from dealtalk.pipeline.runtime.kafka.deliveries import begin_delivery, died_too_often, end_delivery
from dealtalk.pipeline.store import open_database

WHERE = ("dealtalk.audio.stored", 1, 42)


def test_only_starts_without_a_surviving_worker_add_up(tmp_path: Path) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        assert begin_delivery(database, *WHERE, key="rec-1", stage="transcribe") == 1
        end_delivery(database, *WHERE)  # the worker survived: settled, retried in place or handed over
        assert begin_delivery(database, *WHERE, key="rec-1", stage="transcribe") == 1
        # The worker died twice (no end_delivery), the third start sees both deaths.
        assert begin_delivery(database, *WHERE, key="rec-1", stage="transcribe") == 2
        assert begin_delivery(database, *WHERE, key="rec-1", stage="transcribe") == 3
        assert begin_delivery(database, "dealtalk.audio.stored", 1, 43, key="rec-2", stage="transcribe") == 1
    finally:
        database.dispose()


def test_dead_letter_after_max_attempts_deaths() -> None:
    def check(starts: int) -> Dead | None:
        return died_too_often(
            starts,
            max_attempts=3,
            stage="transcribe",
            key="rec-1",
            headers={"trace_id": "t"},
            payload=b'{"x": 1}',
            topic="dealtalk.audio.stored",
        )

    assert check(3) is None  # two deaths
    dead = check(4)
    assert dead is not None
    assert dead.failed.error_type == "WorkerDied" and dead.failed.attempt == 3
    assert "gave up after 3 deliveries" in dead.failed.reason and dead.failed.original == '{"x": 1}'
