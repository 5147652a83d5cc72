"""The Kafka dead-letter topic: list, show and replay what the stages gave up on.

A dead letter is a ``StageFailed`` record on ``{prefix}.stage.failed``: the reason, the stage, the attempt
count and the original message, with the original headers beside it. It is named by ``partition:offset``
(or by its event id). Replaying puts the original back on its stage's input topic, unchanged, as a first
attempt; the replay is recorded in the store's audit log under the dead letter's event id, so the same letter
is not replayed twice.

Reading uses no consumer group: it assigns every partition and reads from the start to the end offsets, so
inspecting the queue never moves anybody's offsets.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from dealtalk.contracts.config import KafkaSettings
from dealtalk.contracts.errors import InvalidInput
from dealtalk.contracts.events import StageFailed, parse_event
from dealtalk.pipeline.bus.dead_letters import LOCAL_INGEST_TOPIC
from dealtalk.pipeline.bus.kafka.headers import (
    ATTEMPT,
    DLQ_ORIGINAL,
    DLQ_PREFIX,
    NOT_BEFORE_MS,
    ORIGINAL_TOPIC,
    TRUNCATED,
    decode_headers,
)
from dealtalk.pipeline.bus.kafka.reader import read_topic
from dealtalk.pipeline.bus.kafka.topics import TopicNames
from dealtalk.pipeline.store import Database
from dealtalk.pipeline.store.coordination import OutboxRow
from dealtalk.pipeline.store.schema import AuditRow

__all__ = ["KafkaDeadLetter", "list_kafka_dead_letters", "replay_kafka_dead_letter", "show_kafka_dead_letter"]

logger = logging.getLogger(__name__)

_REPLAY_ACTION = "dlq.replay"
# Headers that steered the failed delivery; a replay starts afresh without them.
_DELIVERY_HEADERS = {ATTEMPT, NOT_BEFORE_MS, ORIGINAL_TOPIC, "retry_reason"}


@dataclass(frozen=True, slots=True)
class KafkaDeadLetter:
    """One record of the dead-letter topic; ``failed`` is None when the record itself is not a StageFailed."""

    id: str
    partition: int
    offset: int
    created_at: datetime
    failed: StageFailed | None
    headers: dict[str, str]
    raw: str
    replayed_at: datetime | None = None

    @property
    def truncated(self) -> bool:
        return self.headers.get(DLQ_ORIGINAL) == TRUNCATED


async def list_kafka_dead_letters(
    settings: KafkaSettings,
    database: Database | None = None,
    *,
    limit: int = 100,
    include_replayed: bool = False,
) -> list[KafkaDeadLetter]:
    """The newest ``limit`` dead letters, newest first; replayed ones only with ``include_replayed``.

    Raises:
        TransientError: the cluster cannot be reached.
    """
    letters = await _read_all(settings)
    replays = _replays(database) if database is not None else {}
    marked = [_with_replay(letter, replays) for letter in letters]
    if not include_replayed:
        marked = [letter for letter in marked if letter.replayed_at is None]
    marked.sort(key=lambda letter: (letter.created_at, letter.partition, letter.offset), reverse=True)
    return marked[:limit]


async def show_kafka_dead_letter(
    settings: KafkaSettings, ref: str, database: Database | None = None
) -> KafkaDeadLetter:
    """The dead letter named ``partition:offset`` or by its event id.

    Raises:
        InvalidInput: there is no such dead letter.
        TransientError: the cluster cannot be reached.
    """
    letters = await _read_all(settings)
    replays = _replays(database) if database is not None else {}
    for letter in letters:
        if ref in (letter.id, letter.failed.event_id if letter.failed else None):
            return _with_replay(letter, replays)
    raise InvalidInput(
        f"no dead letter {ref!r} on {TopicNames.from_settings(settings).dead_letters}; `dealtalk dlq list` "
        "shows them as partition:offset"
    )


async def replay_kafka_dead_letter(
    settings: KafkaSettings, database: Database, ref: str, *, actor: str
) -> KafkaDeadLetter:
    """Send a dead letter's original message back to its topic, unchanged, and record the replay.

    Raises:
        InvalidInput: no such dead letter, it was replayed already, it is not a StageFailed, or its original
            was too large to keep whole.
        TransientError: the cluster cannot be read (nothing was recorded then).
    """
    letter = await show_kafka_dead_letter(settings, ref, database)
    failed = letter.failed
    if failed is None:
        raise InvalidInput(f"dead letter {letter.id} is not a StageFailed record; there is nothing to replay")
    if letter.replayed_at is not None:
        raise InvalidInput(
            f"dead letter {letter.id} was already replayed at {letter.replayed_at:%Y-%m-%d %H:%M:%S}"
        )
    if letter.truncated:
        raise InvalidInput(
            f"dead letter {letter.id} kept only the start of an oversized message "
            f"({letter.headers.get(f'{DLQ_PREFIX}original_bytes', '?')} bytes); it cannot be replayed"
        )
    headers = {
        name: value
        for name, value in letter.headers.items()
        if not name.startswith(DLQ_PREFIX) and name not in _DELIVERY_HEADERS
    }
    headers["replayed_from"] = letter.id
    with database.session() as session:
        # The original goes through the outbox in the same transaction as the audit row that marks the letter
        # replayed: a crash leaves both or neither, and the relay sends it once the cluster answers.
        # A rejected sidecar has no message to resend: once fixed, the next folder scan discovers the file.
        if failed.original_topic != LOCAL_INGEST_TOPIC:
            session.add(
                OutboxRow(
                    topic=failed.original_topic,
                    key=failed.recording_id,
                    payload=failed.original,
                    headers=headers,
                )
            )
        session.add(
            AuditRow(
                recording_id=failed.recording_id,
                actor=actor,
                action=_REPLAY_ACTION,
                detail={
                    "bus": "kafka",
                    "event_id": failed.event_id,
                    "dead_letter": letter.id,
                    "topic": failed.original_topic,
                    "stage": failed.stage,
                },
            )
        )
    logger.info(
        "dead letter replayed id=%s recording=%s stage=%s topic=%s actor=%s",
        letter.id,
        failed.recording_id,
        failed.stage,
        failed.original_topic,
        actor,
    )
    return letter


async def _read_all(settings: KafkaSettings) -> list[KafkaDeadLetter]:
    topic = TopicNames.from_settings(settings).dead_letters
    try:
        records = await read_topic(settings, topic)
    except InvalidInput as exc:
        raise InvalidInput(f"no dead-letter topic: {exc}") from exc
    return [_letter(record) for record in records]


def _letter(record: Any) -> KafkaDeadLetter:
    raw = (record.value or b"").decode("utf-8", errors="replace")
    try:
        event = parse_event(raw)
    except InvalidInput:
        event = None
    return KafkaDeadLetter(
        id=f"{record.partition}:{record.offset}",
        partition=record.partition,
        offset=record.offset,
        created_at=datetime.fromtimestamp(record.timestamp / 1000, UTC),
        failed=event if isinstance(event, StageFailed) else None,
        headers=decode_headers(record.headers),
        raw=raw,
    )


def _replays(database: Database) -> dict[str, datetime]:
    """When each dead letter (by event id) was replayed, from the audit log."""
    with database.session() as session:
        rows = session.scalars(select(AuditRow).where(AuditRow.action == _REPLAY_ACTION))
        return {
            str(row.detail["event_id"]): row.at
            for row in rows
            if row.detail.get("bus") == "kafka" and "event_id" in row.detail
        }


def _with_replay(letter: KafkaDeadLetter, replays: dict[str, datetime]) -> KafkaDeadLetter:
    if letter.failed is None or letter.failed.event_id not in replays:
        return letter
    return replace(letter, replayed_at=replays[letter.failed.event_id])
