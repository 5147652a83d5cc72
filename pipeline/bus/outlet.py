"""The one seam for events that start outside a stage: discovery (local folder, Graph), manual link, replay.

A producer registers what it found in the store and hands the event on *in the same transaction*:

* ``EmbeddedOutlet``: the event goes into the embedded bus's queue table, where the workers read it;
* ``KafkaOutlet``: the event goes into the outbox table; ``OutboxRelay`` (``bus/kafka/relay.py``) produces it to
  its topic and only then deletes the row. A relay killed between the produce and the delete sends the event
  again; every stage keys its result by recording + stage + model version, so the second copy reuses the first
  result instead of acting twice. Nothing is lost: the row stays until a broker has the record.

The composition root builds the outlet for the configured bus; producers only see ``EventOutlet``.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel
from sqlalchemy.orm import Session

from dealtalk.contracts.events import StageFailed, dump_event, topic_of
from dealtalk.pipeline.bus.embedded import EmbeddedBus
from dealtalk.pipeline.bus.kafka.topics import TopicNames
from dealtalk.pipeline.store.coordination import OutboxRow
from dealtalk.pipeline.store.schema import DeadLetterRow

__all__ = ["EmbeddedOutlet", "EventOutlet", "KafkaOutlet"]


class EventOutlet(Protocol):
    """Hands events on to the bus inside the caller's transaction."""

    def publish(self, session: Session, event: BaseModel, *, key: str, headers: dict[str, str]) -> None:
        """Queue ``event`` (keyed by recording id) to go out when ``session`` commits."""

    def dead_letter(self, session: Session, failed: StageFailed, headers: dict[str, str]) -> None:
        """Queue a ``StageFailed`` for input that never became an event (e.g. an unreadable sidecar)."""


class EmbeddedOutlet:
    """Events into the embedded bus's queue table; dead letters into the dead-letter table."""

    def __init__(self, bus: EmbeddedBus) -> None:
        self.bus = bus

    def publish(self, session: Session, event: BaseModel, *, key: str, headers: dict[str, str]) -> None:
        self.bus.publish(session, topic_of(event), key, dump_event(event), headers)

    def dead_letter(self, session: Session, failed: StageFailed, headers: dict[str, str]) -> None:
        session.add(
            DeadLetterRow(
                topic=failed.original_topic,
                stage=failed.stage,
                recording_id=None,
                reason=failed.reason,
                error_type=failed.error_type,
                attempt=failed.attempt,
                payload=failed.original,
                headers=headers,
                replayed=False,
            )
        )


class KafkaOutlet:
    """Events into the outbox table, addressed to their Kafka topic; the relay produces them."""

    def __init__(self, names: TopicNames) -> None:
        self.names = names

    def publish(self, session: Session, event: BaseModel, *, key: str, headers: dict[str, str]) -> None:
        session.add(
            OutboxRow(topic=self.names.of(event), key=key, payload=dump_event(event), headers=headers)
        )

    def dead_letter(self, session: Session, failed: StageFailed, headers: dict[str, str]) -> None:
        session.add(
            OutboxRow(
                topic=self.names.dead_letters,
                key=failed.recording_id,
                payload=dump_event(failed),
                headers={**headers, "dlq_reason": failed.reason[:1000], "dlq_stage": failed.stage},
            )
        )
