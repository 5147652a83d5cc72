"""The topology hands every child process the parent's settings as ``DEALTALK_*`` variables: nothing lost."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import SecretStr

from dealtalk.contracts.config import Settings
from dealtalk.pipeline.topology import settings_environment


def test_settings_survive_the_trip_through_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Settings.load(
        data_dir=tmp_path / "data",
        bus={"kind": "kafka"},
        database={"url": "postgresql+psycopg://postgres@127.0.0.1:5432/x"},
        kafka={"bootstrap_servers": "127.0.0.1:1234", "topic_prefix": "p", "group_instance_id": ""},
        graph={
            "tenant_id": "t",
            "client_id": "c",
            "client_secret": SecretStr("s3cret"),
            "organizers": ["eva@example.nl", "mark@example.nl"],
            "notification_url": "http://127.0.0.1:9/graph/notifications",
            "client_state": SecretStr("state"),
            "leader_lease_s": 4.0,
        },
        speech={"languages": ["nl", "en"], "language": "auto"},
    )
    for name in list(os.environ):
        if name.startswith("DEALTALK_"):
            monkeypatch.delenv(name)
    for name, value in settings_environment(original).items():
        monkeypatch.setenv(name, value)
    again = Settings.load()
    assert again == original
    assert again.graph.client_secret is not None and again.graph.client_secret.get_secret_value() == "s3cret"
