"""The deployed topology's tests: one Kafka-protocol broker for the session, and a PostgreSQL database of
their own per test (the topology's processes leave Graph state and results behind that other tests must not
see)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import POSTGRES_ADMIN_URL
from tests.support.kafka_broker import kafka_broker

__all__ = ["kafka_broker", "own_postgres_url"]


@pytest.fixture
def own_postgres_url() -> Iterator[str]:
    import psycopg

    name = f"dealtalk_deployed_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
