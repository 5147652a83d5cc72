"""The dead-letter queue of the configured bus behind one interface: list, show and replay.

On the embedded bus dead letters are rows of the store, named by number; on Kafka they are records of the
dead-letter topic, named ``partition:offset`` (or by event id), and replays go through the outbox with an
audit row. ``dealtalk dlq`` talks to ``DeadLetterQueue`` only; the composition root picks the implementation.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Protocol

from dealtalk.contracts.config import KafkaSettings
from dealtalk.contracts.errors import InvalidInput
from dealtalk.pipeline.bus.dead_letters import list_dead_letters, replay_dead_letter, show_dead_letter
from dealtalk.pipeline.bus.embedded import EmbeddedBus
from dealtalk.pipeline.store import Database

__all__ = ["DeadLetterQueue", "EmbeddedDeadLetters", "KafkaDeadLetters", "LetterLine", "Replayed"]


@dataclass(frozen=True, slots=True)
class LetterLine:
    """One dead letter as ``dlq list`` shows it."""

    id: str
    when: str
    stage: str
    recording: str
    attempt: str
    error: str
    reason: str


@dataclass(frozen=True, slots=True)
class Replayed:
    id: str
    topic: str
    recording: str


class DeadLetterQueue(Protocol):
    def list(self, *, include_replayed: bool, limit: int) -> list[LetterLine]:
        """Newest first."""

    def show(self, ref: str) -> dict[str, Any]:
        """One letter with its headers and original message. Raises InvalidInput for an unknown ``ref``."""

    def replay(self, ref: str, *, actor: str) -> Replayed:
        """Put the original back on its topic, unchanged, once. Raises InvalidInput when it cannot be."""


class EmbeddedDeadLetters:
    def __init__(self, bus: EmbeddedBus) -> None:
        self.bus = bus

    @staticmethod
    def _id(ref: str) -> int:
        try:
            return int(ref)
        except ValueError:
            raise InvalidInput(f"dead letter ids on the embedded bus are numbers, got {ref!r}") from None

    def list(self, *, include_replayed: bool, limit: int) -> list[LetterLine]:
        return [
            LetterLine(
                str(letter.id),
                letter.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                letter.stage,
                letter.recording_id or "-",
                str(letter.attempt),
                letter.error_type,
                letter.reason + (" [replayed]" if letter.replayed else ""),
            )
            for letter in list_dead_letters(self.bus, include_replayed=include_replayed, limit=limit)
        ]

    def show(self, ref: str) -> dict[str, Any]:
        row = show_dead_letter(self.bus, self._id(ref))
        return {
            "id": row.id,
            "topic": row.topic,
            "stage": row.stage,
            "recording_id": row.recording_id,
            "reason": row.reason,
            "error_type": row.error_type,
            "attempt": row.attempt,
            "created_at": row.created_at.isoformat(),
            "replayed": row.replayed,
            "headers": row.headers,
            "original": row.payload,
        }

    def replay(self, ref: str, *, actor: str) -> Replayed:
        row = replay_dead_letter(self.bus, self._id(ref), actor=actor)
        return Replayed(str(row.id), row.topic, row.recording_id or "-")


class KafkaDeadLetters:
    def __init__(self, kafka: KafkaSettings, database: Database) -> None:
        self.kafka = kafka
        self.database = database

    def list(self, *, include_replayed: bool, limit: int) -> list[LetterLine]:
        from dealtalk.pipeline.bus.kafka.dead_letters import list_kafka_dead_letters

        letters = asyncio.run(
            list_kafka_dead_letters(self.kafka, self.database, limit=limit, include_replayed=include_replayed)
        )
        lines = []
        for letter in letters:
            failed = letter.failed
            lines.append(
                LetterLine(
                    letter.id,
                    letter.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                    failed.stage if failed else "-",
                    failed.recording_id if failed else "-",
                    str(failed.attempt) if failed else "-",
                    failed.error_type if failed else "-",
                    (failed.reason if failed else "not a StageFailed record")
                    + (" [replayed]" if letter.replayed_at else ""),
                )
            )
        return lines

    def show(self, ref: str) -> dict[str, Any]:
        from dealtalk.pipeline.bus.kafka.dead_letters import show_kafka_dead_letter

        letter = asyncio.run(show_kafka_dead_letter(self.kafka, ref, self.database))
        failed = letter.failed
        shown: dict[str, Any] = {
            "id": letter.id,
            "created_at": letter.created_at.isoformat(),
            "replayed_at": letter.replayed_at.isoformat() if letter.replayed_at else None,
            "headers": letter.headers,
        }
        if failed is None:
            shown["raw"] = letter.raw
            return shown
        shown.update(
            event_id=failed.event_id,
            topic=failed.original_topic,
            stage=failed.stage,
            recording_id=failed.recording_id,
            trace_id=failed.trace_id,
            reason=failed.reason,
            error_type=failed.error_type,
            attempt=failed.attempt,
            retriable=failed.retriable,
            original=failed.original,
        )
        return shown

    def replay(self, ref: str, *, actor: str) -> Replayed:
        from dealtalk.pipeline.bus.kafka.dead_letters import replay_kafka_dead_letter

        letter = asyncio.run(replay_kafka_dead_letter(self.kafka, self.database, ref, actor=actor))
        assert letter.failed is not None  # replay refuses letters that are not StageFailed records
        return Replayed(letter.id, letter.failed.original_topic, letter.failed.recording_id)
