"""The deployed topology's tests: one Kafka-protocol broker for the session, the machine's PostgreSQL."""

from __future__ import annotations

from tests.support.kafka_broker import kafka_broker

__all__ = ["kafka_broker"]
