"""The producer every Kafka worker shares: ``acks=all``, idempotent, keyed by recording id, trace id in headers.

``acks="all"`` waits until every in-sync replica has the record; idempotence makes the client's own retries
(lost acks, leader moves) write each record once. Together with keying by recording id, one call's events stay
in order in one partition. A record the application sends twice (a redelivered job handing its output on
again) is a second record: downstream stages recognise it by their idempotency record and reuse the result.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer

from dealtalk.pipeline.bus.kafka.connection import KafkaClient, describe_cluster
from dealtalk.pipeline.bus.kafka.errors import CLIENT_ERRORS, translate
from dealtalk.pipeline.bus.kafka.headers import encode_headers

__all__ = ["KafkaProducer", "Sent"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Sent:
    """Where the broker stored a record."""

    topic: str
    partition: int
    offset: int


class KafkaProducer(KafkaClient):
    """An async context manager around ``AIOKafkaProducer``; ``stop()`` flushes and may be called twice.

    Usage::

        async with KafkaProducer(settings.kafka) as producer:
            await producer.send("dealtalk.audio.stored", recording_id, payload, {"trace_id": trace})
    """

    def _open(self, options: dict[str, Any]) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            **options,
            acks="all",
            enable_idempotence=True,
            linger_ms=self.settings.linger_ms,
            max_request_size=self.settings.max_request_bytes,
        )

    def _failed_start(self) -> str:
        return f"cannot connect a producer to {describe_cluster(self.settings)}"

    def _opened(self) -> None:
        logger.info("kafka producer started cluster=%s", describe_cluster(self.settings))

    def _closed(self) -> None:
        logger.info("kafka producer stopped")

    async def send(
        self, topic: str, key: str, value: bytes | str, headers: Mapping[str, str] | None = None
    ) -> Sent:
        """Send one record and wait until the cluster has it (all in-sync replicas).

        Raises:
            TransientError: the cluster is unreachable or timed out; sending again may succeed.
            InvalidInput: the record is too large for the cluster.
            ConfigurationError: we may not write to ``topic``.
            RuntimeError: the producer was not started.
        """
        producer = self._started()
        data = value.encode("utf-8") if isinstance(value, str) else value
        try:
            metadata = await producer.send_and_wait(
                topic, data, key=key.encode("utf-8"), headers=encode_headers(headers or {})
            )
        except CLIENT_ERRORS as exc:
            raise translate(exc, f"cannot write to topic {topic}") from exc
        return Sent(topic=metadata.topic, partition=metadata.partition, offset=metadata.offset)
