"""Teams -> Kafka workers -> Dynamics 365 as deployed: the sandbox tenant's Graph posts change notifications to
two API replicas behind a balancer, one worker process per stage runs the real models, the Dataverse emulator
receives the activities. Mid-run the transcribe worker and the API replica holding the discovery lease are
SIGKILLed; every call still lands once, on the right opportunity, in its own language. And ``dealtalk demo
--sandbox`` with the Kafka settings runs this topology, twice without a second activity."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from dealtalk.cli.commands.sandbox import forget_previous_tenant, topology_settings
from dealtalk.contracts.config import Settings
from dealtalk.emulators.launcher import Sandbox, start_sandbox
from dealtalk.pipeline.bus.kafka.admin import create_topics
from dealtalk.pipeline.outcomes import load_outcome
from dealtalk.pipeline.resources import Resources
from dealtalk.pipeline.store.coordination import GraphStateRow, LeaseRow
from dealtalk.pipeline.store.schema import PublicationRow, RecordingRow
from dealtalk.pipeline.topology import LocalTopology, settings_environment
from dealtalk.publisher.dataverse.factory import dataverse_client
from dealtalk.publisher.dataverse.provision import provision
from dealtalk.publisher.schema import ActivitySchema
from tests.support.kafka_broker import TestBroker

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.postgres,
    pytest.mark.models,
    pytest.mark.slow,
    pytest.mark.timeout(1500),
]

_CLI = "from dealtalk.cli.main import main; main()"
NL, EN, MIXED = "rec-2026-11-16-zuidhaven", "rec-2026-11-18-northwind", "rec-2026-11-20-brightlab"
# The opportunity each sample call belongs to (samples/crm.json): by its D365 appointment (Zuidhaven),
# else the attendees' account's open opportunities, the organizer's first (Northwind: Mark's), then the most
# recently modified (Brightlab: both are Sanne's, the renewal was modified last).
EXPECTED_OPPORTUNITY = {
    NL: "680f89c8-b972-592e-9050-7e61dacce2d0",
    EN: "927e481f-6952-58ca-a141-def117c3c896",
    MIXED: "d97696e7-48a7-53cd-95a7-8e15c348dbd2",
}


def _kafka_settings(base: Path, bootstrap: str, database_url: str) -> Settings:
    prefix = f"e2e{uuid.uuid4().hex[:8]}"
    return Settings.load(
        data_dir=base,
        bus={"kind": "kafka"},
        database={"url": database_url},
        kafka={
            "bootstrap_servers": bootstrap,
            "topic_prefix": prefix,
            "group_prefix": prefix,
            "partitions": 2,
            "session_timeout_ms": 6000,
            "heartbeat_interval_ms": 500,
            "poll_timeout_ms": 200,
            "topic_check_interval_s": 1.0,
            "shutdown_grace_s": 5.0,
        },
    )


def _wait(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout_s:.0f} s")
        time.sleep(0.5)


def _statuses(resources: Resources) -> dict[str, str]:
    with resources.database.session() as session:
        return dict(session.execute(select(RecordingRow.recording_id, RecordingRow.status)).all())


def _published(resources: Resources) -> set[str]:
    with resources.database.session() as session:
        return set(session.scalars(select(PublicationRow.recording_id)))


def _activities(box: Sandbox) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = box.dataverse_rows().get("dt_callinsights", [])
    return rows


def _check_results(resources: Resources, box: Sandbox) -> None:
    activities = _activities(box)
    recording_ids = sorted(row["dt_recordingid"] for row in activities)
    assert recording_ids == sorted([NL, EN, MIXED]), recording_ids  # each call once
    for recording in (NL, EN, MIXED):
        outcome = load_outcome(resources.database, resources.blobs, recording)
        assert outcome.published is not None and outcome.result is not None, (recording, outcome.status)
        assert outcome.published.opportunity_id == EXPECTED_OPPORTUNITY[recording], outcome.published
        segment_languages = {segment.language for segment in outcome.result.segments}
        evidence = outcome.result.language_evidence
        if recording == NL:
            assert outcome.result.language == "nl", evidence
        elif recording == EN:
            assert outcome.result.language == "en", evidence
        else:
            assert segment_languages == {"nl", "en"}, (segment_languages, evidence)


def test_killed_worker_and_api_replica_lose_no_call(
    tmp_path: Path, kafka_broker: TestBroker, own_postgres_url: str
) -> None:
    base = _kafka_settings(tmp_path / "data", kafka_broker.bootstrap, own_postgres_url)
    with start_sandbox(tmp_path / "emulators", withhold=True) as box:
        settings = box.settings(base)
        with dataverse_client(settings) as client:
            provision(client, ActivitySchema.from_settings(settings.publisher), poll_s=0.1)
        create_topics(settings.kafka)
        topology = LocalTopology(settings, tmp_path / "logs")
        settings = topology_settings(settings, topology.webhook_base_url, lease_s=4.0)
        topology.settings = settings
        resources = Resources.open(settings)
        try:
            forget_previous_tenant(resources)
            with topology:
                topology.start()
                _wait(lambda: _subscriptions(resources) == 3, 120, "three Graph subscriptions")
                sent = box.publish_recordings()
                # Graph notified the webhook of each call (the delta sync stays the safety net).
                assert sorted(sent) == sorted([NL, EN, MIXED]) and all(n >= 1 for n in sent.values()), sent
                # Mid-run: a call is being transcribed.
                _wait(
                    lambda: "audio_stored" in _statuses(resources).values(), 300, "a transcription to start"
                )
                leader = _lease_holder_pid(resources)
                topology.kill_worker("transcribe")
                killed_api = next(i for i, p in enumerate(topology.apis) if p is not None and p.pid == leader)
                topology.kill_api(killed_api)
                topology.start_worker("transcribe")  # as the orchestrator restarts a crashed pod
                _wait(lambda: _published(resources) >= {NL, EN, MIXED}, 1200, "every call published")
                # The surviving replica took the discovery lease over.
                _wait(lambda: _lease_holder_pid(resources) not in (None, leader), 30, "the lease to move")
            _check_results(resources, box)
        finally:
            resources.close()


def test_demo_sandbox_runs_the_deployed_topology_on_kafka_twice_without_a_second_activity(
    tmp_path: Path, kafka_broker: TestBroker, own_postgres_url: str
) -> None:
    settings = _kafka_settings(tmp_path / "data", kafka_broker.bootstrap, own_postgres_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEALTALK_")}
    env.update(settings_environment(settings))
    dumps = []
    for run in range(2):
        dump = tmp_path / f"rows-{run}.json"
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                "from dealtalk.cli.main import main; main()",
                "demo",
                "--sandbox",
                "--dump",
                str(dump),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert "topology: 2 API replicas" in done.stdout
        dumps.append(json.loads(dump.read_text(encoding="utf-8"))["dt_callinsights"])
    first, second = dumps
    assert sorted(r["dt_recordingid"] for r in first) == sorted([NL, EN, MIXED])
    # The second run discovered the same calls through new notifications and published nothing again.
    assert [r["activityid"] for r in second] == [r["activityid"] for r in first]
    assert [r.get("modifiedon") for r in second] == [r.get("modifiedon") for r in first]


def _subscriptions(resources: Resources) -> int:
    with resources.database.session() as session:
        return len(
            session.scalars(select(GraphStateRow.key).where(GraphStateRow.kind == "subscription")).all()
        )


def _lease_holder_pid(resources: Resources) -> int | None:
    with resources.database.session() as session:
        row = session.get(LeaseRow, "graph-discovery")
    if row is None:
        return None
    return int(row.holder.split(":")[1])
