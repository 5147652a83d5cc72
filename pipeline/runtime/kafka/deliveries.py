"""Counting the Kafka records whose worker died mid-job, so a record that kills workers is dead-lettered.

Kafka has no delivery count. Before a job starts, its record's row is incremented; when the worker finishes
the job in any way it survives (settled, retried in place, handed to a new owner), the row is deleted. A row
that survives therefore counts deaths: crashes, SIGKILLs, out-of-memory kills. Past ``max_attempts`` such
deaths the record is dead-lettered with that reason instead of taking down the next worker too.
"""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from dealtalk.contracts.events import StageFailed
from dealtalk.pipeline.runtime.handler import Dead
from dealtalk.pipeline.store import Database
from dealtalk.pipeline.store.schema import DeliveryRow, utcnow

__all__ = ["begin_delivery", "died_too_often", "end_delivery"]


def begin_delivery(
    database: Database, topic: str, partition: int, offset: int, *, key: str, stage: str
) -> int:
    """Record that the job of this record starts; return how many starts are on record (1 = first)."""
    for _ in range(2):  # a concurrent first insert by another worker: read it back on the second pass
        try:
            with database.session() as session:
                row = session.get(DeliveryRow, (topic, partition, offset))
                if row is None:
                    session.add(
                        DeliveryRow(
                            topic=topic,
                            partition=partition,
                            offset=offset,
                            recording_id=key,
                            stage=stage,
                            started=1,
                        )
                    )
                    return 1
                row.started += 1
                row.last_started_at = utcnow()
                return row.started
        except IntegrityError:
            continue
    return 1


def end_delivery(database: Database, topic: str, partition: int, offset: int) -> None:
    """The worker survived the job: forget the record's starts."""
    with database.session() as session:
        session.execute(
            delete(DeliveryRow).where(
                DeliveryRow.topic == topic, DeliveryRow.partition == partition, DeliveryRow.offset == offset
            )
        )


def died_too_often(
    starts: int,
    *,
    max_attempts: int,
    stage: str,
    key: str,
    headers: dict[str, str],
    payload: bytes,
    topic: str,
) -> Dead | None:
    """A dead letter when the workers that started this record died ``max_attempts`` times, else None."""
    deaths = starts - 1
    if deaths < max_attempts:
        return None
    failed = StageFailed(
        recording_id=key,
        trace_id=headers.get("trace_id", "unknown"),
        stage=stage,
        reason=(
            f"gave up after {deaths} deliveries: each time the worker died (crash, kill or out of memory) "
            "before finishing this message"
        ),
        error_type="WorkerDied",
        attempt=deaths,
        retriable=True,
        original=payload.decode("utf-8", errors="replace"),
        original_topic=topic,
    )
    return Dead(failed=failed)
