"""The embedded bus's dead-letter queue: list, show and replay what the stages gave up on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from dealtalk.contracts.errors import InvalidInput
from dealtalk.pipeline.bus.embedded import EmbeddedBus
from dealtalk.pipeline.store.schema import AuditRow, DeadLetterRow, utcnow

LOCAL_INGEST_TOPIC = "ingest.local"

__all__ = ["LOCAL_INGEST_TOPIC", "DeadLetter", "list_dead_letters", "replay_dead_letter", "show_dead_letter"]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    topic: str
    stage: str
    recording_id: str | None
    reason: str
    error_type: str
    attempt: int
    created_at: datetime
    replayed: bool
    payload: str
    headers: dict[str, str]


def _to_dead_letter(row: DeadLetterRow) -> DeadLetter:
    return DeadLetter(
        id=row.id,
        topic=row.topic,
        stage=row.stage,
        recording_id=row.recording_id,
        reason=row.reason,
        error_type=row.error_type,
        attempt=row.attempt,
        created_at=row.created_at,
        replayed=row.replayed,
        payload=row.payload,
        headers={str(k): str(v) for k, v in row.headers.items()},
    )


def list_dead_letters(
    bus: EmbeddedBus, *, include_replayed: bool = False, limit: int = 100
) -> Sequence[DeadLetter]:
    """Newest first."""
    query = select(DeadLetterRow).order_by(DeadLetterRow.id.desc()).limit(limit)
    if not include_replayed:
        query = query.where(DeadLetterRow.replayed.is_(False))
    with bus.database.session() as session:
        return [_to_dead_letter(row) for row in session.scalars(query)]


def show_dead_letter(bus: EmbeddedBus, dead_letter_id: int) -> DeadLetter:
    """Raises InvalidInput when there is no dead letter with that id."""
    with bus.database.session() as session:
        row = session.get(DeadLetterRow, dead_letter_id)
        if row is None:
            raise InvalidInput(f"no dead letter with id {dead_letter_id}; `dealtalk dlq list` shows them")
        return _to_dead_letter(row)


def replay_dead_letter(bus: EmbeddedBus, dead_letter_id: int, *, actor: str) -> DeadLetter:
    """Put the original message back on its topic (unchanged) and mark the dead letter replayed."""
    with bus.database.session() as session:
        row = session.get(DeadLetterRow, dead_letter_id)
        if row is None:
            raise InvalidInput(f"no dead letter with id {dead_letter_id}; `dealtalk dlq list` shows them")
        if row.replayed:
            raise InvalidInput(f"dead letter {dead_letter_id} was already replayed at {row.replayed_at}")
        headers = {str(k): str(v) for k, v in row.headers.items() if k != "dead_lettered_by"}
        # A rejected sidecar has no message to resend: once fixed, the next folder scan discovers the file.
        if row.topic != LOCAL_INGEST_TOPIC:
            bus.publish(session, row.topic, row.recording_id or "unknown", row.payload, headers)
        row.replayed = True
        row.replayed_at = utcnow()
        session.add(
            AuditRow(
                recording_id=row.recording_id,
                actor=actor,
                action="dlq.replay",
                detail={"dead_letter_id": row.id, "topic": row.topic, "stage": row.stage},
            )
        )
        return _to_dead_letter(row)
