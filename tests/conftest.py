"""Test-wide setup: offline model hubs, and the real databases (SQLite and the local PostgreSQL).

The PostgreSQL server on 127.0.0.1:5432 is part of the test environment (trust auth); each test session gets a
fresh database there, dropped at the end, so runs never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["PYANNOTE_METRICS_ENABLED"] = "0"
# Never let a developer's environment or .env change what the tests see.
for _name in [n for n in os.environ if n.startswith("DEALTALK_")]:
    del os.environ[_name]

from dealtalk.contracts.config import Settings  # noqa: E402

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session (dropped afterwards)."""
    import psycopg

    name = f"dealtalk_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test using this runs against SQLite and against the real PostgreSQL (with its tables emptied)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'dealtalk.db'}"
        return
    url: str = request.getfixturevalue("postgres_url")
    yield url
    from sqlalchemy import create_engine

    from dealtalk.pipeline.store.schema import Base

    engine = create_engine(url)
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    engine.dispose()


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings rooted in a per-test data dir; keyword overrides as in ``Settings.load``."""

    def factory(**overrides: object) -> Settings:
        overrides.setdefault("data_dir", tmp_path / "data")
        return Settings.load(**overrides)

    return factory
