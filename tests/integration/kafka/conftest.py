"""Kafka tests: one real broker per session; each test gets its own topics, groups and database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dealtalk.contracts.config import BusSettings, KafkaSettings
from dealtalk.pipeline.store import Database, open_database
from tests.support.kafka_broker import TestBroker, kafka_broker
from tests.support.kafka_stages import create_topics, make_kafka_settings

__all__ = ["kafka_broker"]

FAST_RETRIES = BusSettings(max_attempts=3, backoff_base_s=0.3, backoff_max_s=2.0)


@pytest.fixture
def kafka(kafka_broker: TestBroker) -> KafkaSettings:
    settings = make_kafka_settings(kafka_broker.bootstrap)
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
