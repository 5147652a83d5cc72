"""Making a job's outcome durable on Kafka, before its input offset is committed.

* done: the result, its projection and the idempotency record in ONE database transaction
  (``record_success``), then the output event to its topic (keyed by recording id, trace id in the headers);
* retry: the original message, unchanged, to the stage's retry topic with the next attempt number and the
  time before which it must not run;
* dead: ``StageFailed`` (reason, stage, attempt, the original message) to the dead-letter topic with the
  original headers, and the recording marked failed in the store.

The caller commits ``offset + 1`` only after one of these returned. A crash in between means the message is
delivered again: the stored result is reused and the output sent again (downstream reuses in turn), so nothing
is duplicated and nothing lost.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from dealtalk.contracts.events import StageFailed, dump_event, parse_event
from dealtalk.contracts.stage import Stage
from dealtalk.pipeline.bus.kafka.headers import (
    ATTEMPT,
    DLQ_ORIGINAL,
    DLQ_PREFIX,
    NOT_BEFORE_MS,
    ORIGINAL_TOPIC,
    STAGE,
    TRACE_ID,
    TRUNCATED,
    decode_headers,
)
from dealtalk.pipeline.bus.kafka.producer import KafkaProducer
from dealtalk.pipeline.bus.kafka.topics import TopicNames
from dealtalk.pipeline.runtime.handler import Dead, Done, Retry, record_success
from dealtalk.pipeline.store import Database
from dealtalk.pipeline.store.projections import mark_failed
from dealtalk.pipeline.store.schema import StageResultRow

__all__ = ["MAX_DEAD_LETTER_ORIGINAL_BYTES", "Settler", "retry_wait_s", "shrink_original"]

logger = logging.getLogger(__name__)

# A dead letter keeps at most this much of its original message: an oversized record must not make its dead
# letter oversized too. The size and sha256 of the whole original go into the headers.
MAX_DEAD_LETTER_ORIGINAL_BYTES = 64 * 1024


class Settler:
    """Stores and hands on outcomes for one worker.

    Args:
        names: the cluster's topic names.
        producer: the worker's started producer.
        database: the results store shared by every worker.
        actor: who did it, for the audit log (the worker id).
    """

    def __init__(self, *, names: TopicNames, producer: KafkaProducer, database: Database, actor: str) -> None:
        self.names = names
        self.producer = producer
        self.database = database
        self.actor = actor

    def store(self, stage: Stage[Any, Any], done: Done) -> Done:
        """The result, projection and idempotency record in one transaction (blocking: call from a thread).

        Returns the outcome to hand on: this one, or, when another delivery of the same message stored its
        result first (a job abandoned at a rebalance that finished anyway), that stored result, so downstream
        only ever sees one event per recording and stage.
        """
        recording_id = str(getattr(done.event, "recording_id", ""))
        with self.database.session() as session:
            record_success(session, stage, done, actor=self.actor)
            row = session.get(StageResultRow, (recording_id, stage.name, stage.version))
            stored = row.output_event if row is not None else None
        if stored is None or done.reused:
            return done
        output = parse_event(stored)
        if getattr(output, "event_id", None) == getattr(done.output, "event_id", None):
            return done
        logger.info(
            "result stored by another delivery first stage=%s recording=%s; handing on that one",
            stage.name,
            recording_id,
        )
        return Done(event=done.event, output=output, reused=True)

    async def hand_on(self, stage: Stage[Any, Any], done: Done) -> None:
        """Send a stored result's output event to its topic.

        Raises:
            TransientError: the cluster is away; the caller tries again later (the result stays stored).
        """
        output: BaseModel = done.output
        trace_id = str(getattr(output, "trace_id", ""))
        recording_id = str(getattr(output, "recording_id", ""))
        await self.producer.send(
            self.names.of(output), recording_id, dump_event(output), {TRACE_ID: trace_id, STAGE: stage.name}
        )

    async def retry(
        self,
        stage: Stage[Any, Any],
        retry: Retry,
        *,
        key: str,
        value: bytes,
        headers: Mapping[str, str],
        origin: str,
        attempt: int,
    ) -> None:
        """Put the message, unchanged, on the stage's retry topic for attempt ``attempt + 1``."""
        not_before_ms = int((time.time() + retry.delay_s) * 1000)
        await self.producer.send(
            self.names.retry_of(stage.name),
            key,
            value,
            {
                **headers,
                ATTEMPT: str(attempt + 1),
                NOT_BEFORE_MS: str(not_before_ms),
                ORIGINAL_TOPIC: origin,
                STAGE: stage.name,
                "retry_reason": retry.error[:500],
            },
        )

    def mark_failed(self, dead: Dead) -> None:
        """The recording's status says which stage gave up (blocking: call from a thread)."""
        with self.database.session() as session:
            mark_failed(session, dead.failed.recording_id, dead.failed.stage)

    async def dead_letter(
        self, dead: Dead, *, headers: Mapping[str, str], partition: int, offset: int
    ) -> StageFailed:
        """Send the ``StageFailed`` to the dead-letter topic with the original headers; returns what was sent."""
        failed, size_headers = shrink_original(dead.failed)
        dlq_headers = {
            **headers,
            **size_headers,
            f"{DLQ_PREFIX}reason": failed.reason[:1000],
            f"{DLQ_PREFIX}stage": failed.stage,
            f"{DLQ_PREFIX}attempt": str(failed.attempt),
            f"{DLQ_PREFIX}error_type": failed.error_type,
            f"{DLQ_PREFIX}topic": failed.original_topic,
            f"{DLQ_PREFIX}partition": str(partition),
            f"{DLQ_PREFIX}offset": str(offset),
            f"{DLQ_PREFIX}worker": self.actor,
        }
        await self.producer.send(
            self.names.dead_letters, failed.recording_id, dump_event(failed), dlq_headers
        )
        return failed


def shrink_original(failed: StageFailed) -> tuple[StageFailed, dict[str, str]]:
    """Cut an oversized original to its first bytes; the headers say how large it was and its sha256."""
    data = failed.original.encode("utf-8")
    if len(data) <= MAX_DEAD_LETTER_ORIGINAL_BYTES:
        return failed, {}
    head = data[:MAX_DEAD_LETTER_ORIGINAL_BYTES].decode("utf-8", errors="ignore")
    headers = {
        f"{DLQ_PREFIX}original_bytes": str(len(data)),
        f"{DLQ_PREFIX}original_sha256": hashlib.sha256(data).hexdigest(),
        DLQ_ORIGINAL: TRUNCATED,
    }
    return failed.model_copy(update={"original": head}), headers


def retry_wait_s(record: Any, retry_topic: str) -> float:
    """Seconds until a retry-topic record may run (0 for any other record, or a malformed time)."""
    if record.topic != retry_topic:
        return 0.0
    try:
        not_before_ms = int(decode_headers(record.headers).get(NOT_BEFORE_MS, "0"))
    except ValueError:
        return 0.0
    return max(0.0, not_before_ms / 1000 - time.time())
