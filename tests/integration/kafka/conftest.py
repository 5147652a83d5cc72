"""Kafka tests: one real broker per session; each test gets its own topics, groups and database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dealtalk.pipeline.bus.kafka.admin import KafkaAdmin
from dealtalk.pipeline.bus.kafka.topics import topic_plan
from dealtalk.pipeline.config import BusSettings, KafkaSettings
from dealtalk.pipeline.store import Database, open_database
from support.kafka_broker import TestBroker, kafka_broker

__all__ = ["kafka_broker"]

FAST_RETRIES = BusSettings(max_attempts=3, backoff_base_s=0.3, backoff_max_s=2.0)


def make_kafka_settings(broker: TestBroker, **overrides: object) -> KafkaSettings:
    """Settings for a test: unique topics and groups, 2 partitions, short timeouts."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    values: dict[str, object] = {
        "bootstrap_servers": broker.bootstrap,
        "topic_prefix": prefix,
        "group_prefix": prefix,
        "partitions": 2,
        "session_timeout_ms": 6000,
        "heartbeat_interval_ms": 500,
        "poll_timeout_ms": 100,
        "rebalance_grace_s": 10.0,
        "shutdown_grace_s": 10.0,
        "topic_check_interval_s": 0.5,
        "lag_interval_s": 0.5,
        "max_concurrent_jobs": 2,
    }
    values.update(overrides)
    return KafkaSettings(**values)  # type: ignore[arg-type]


def create_topics(kafka: KafkaSettings) -> None:
    async def create() -> None:
        async with KafkaAdmin(kafka) as admin:
            results = await admin.create(topic_plan(kafka))
        assert all(result.status == "created" for result in results), results

    asyncio.run(create())


@pytest.fixture
def kafka(kafka_broker: TestBroker) -> KafkaSettings:
    settings = make_kafka_settings(kafka_broker)
    create_topics(settings)
    return settings


@pytest.fixture
def bus() -> BusSettings:
    return FAST_RETRIES


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = open_database(f"sqlite:///{tmp_path / 'dealtalk.db'}")
    yield db
    db.dispose()
