"""The command line on Kafka against the real broker: ``topics create|list`` and ``worker`` processes.

The worker runs as its own process (``dealtalk worker --stage fetch``) with the real fetch stage on the bundled
sample calls: discovery from a folder, fetch into the blob store, hand-over on ``audio.stored``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from dealtalk.cli.main import app
from dealtalk.contracts.config import KafkaSettings
from dealtalk.contracts.events import AudioStored, parse_event
from dealtalk.pipeline.bus.kafka.topics import TopicNames, topic_plan
from dealtalk.pipeline.store import open_database
from dealtalk.pipeline.store.schema import RecordingRow
from dealtalk.samples import CALLS_DIR
from tests.support.kafka_broker import TestBroker
from tests.support.kafka_stages import make_kafka_settings, read_topic

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(180)]


def _env(kafka: KafkaSettings, data_dir: Path) -> dict[str, str]:
    return {
        "DEALTALK_BUS__KIND": "kafka",
        "DEALTALK_DATA_DIR": str(data_dir),
        "DEALTALK_KAFKA__BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "DEALTALK_KAFKA__TOPIC_PREFIX": kafka.topic_prefix,
        "DEALTALK_KAFKA__GROUP_PREFIX": kafka.group_prefix,
        "DEALTALK_KAFKA__PARTITIONS": str(kafka.partitions),
        "DEALTALK_KAFKA__SESSION_TIMEOUT_MS": "6000",
        "DEALTALK_KAFKA__HEARTBEAT_INTERVAL_MS": "500",
        "DEALTALK_KAFKA__POLL_TIMEOUT_MS": "100",
    }


def test_topics_create_is_idempotent_and_list_shows_them(kafka_broker: TestBroker, tmp_path: Path) -> None:
    kafka = make_kafka_settings(kafka_broker.bootstrap)
    env = _env(kafka, tmp_path)
    runner = CliRunner()
    first = runner.invoke(app, ["topics", "create"], env=env)
    assert first.exit_code == 0, first.output
    assert first.output.count("│ created │") == len(topic_plan(kafka))
    again = runner.invoke(app, ["topics", "create"], env=env)
    assert again.exit_code == 0 and "created" not in again.output
    assert again.output.count("│ exists │") == len(topic_plan(kafka))
    listed = runner.invoke(app, ["topics", "list"], env=env)
    assert listed.exit_code == 0 and " no " not in listed.output
    embedded = runner.invoke(app, ["topics", "list"], env={**env, "DEALTALK_BUS__KIND": "embedded"})
    assert embedded.exit_code == 1 and "DEALTALK_BUS__KIND=kafka" in embedded.output


def _worker(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", "from dealtalk.cli.main import main; main()", "worker", *args],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_worker_processes_fetch_the_sample_calls_over_kafka_and_stop_gracefully_on_sigterm(
    kafka_broker: TestBroker, tmp_path: Path
) -> None:
    kafka = make_kafka_settings(kafka_broker.bootstrap)
    data_dir = tmp_path / "data"
    env = _env(kafka, data_dir)
    assert CliRunner().invoke(app, ["topics", "create"], env=env).exit_code == 0
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    # The repository's copy: the editable install's link tree does not carry the sample audio.
    calls = sorted(CALLS_DIR.glob("*.flac"))
    assert len(calls) == 3
    for audio in calls:
        shutil.copy(audio, inbox / audio.name)
        shutil.copy(audio.with_name(audio.stem + ".meeting.json"), inbox / (audio.stem + ".meeting.json"))

    # 1. A burst worker in its own process: scans the folder, fetches every call, stops when done.
    burst = _worker(env, "--stage", "fetch", "--burst", "--watch", str(inbox))
    output, _ = burst.communicate(timeout=120)
    assert burst.returncode == 0, output
    assert "worker done: processed=3" in output, output
    names = TopicNames.from_settings(kafka)
    records = asyncio.run(read_topic(kafka, names.of_event(AudioStored)))
    assert len(records) == 3
    recordings = {parse_event(r.value).recording_id for r in records}
    database = open_database(f"sqlite:///{(data_dir / 'dealtalk.db').resolve()}")
    try:
        with database.session() as session:
            rows = session.scalars(select(RecordingRow)).all()
            assert {row.recording_id for row in rows} == recordings
            assert {row.status for row in rows} == {"audio_stored"}
    finally:
        database.dispose()

    # 2. A long-running worker: nothing new to do (the folder is known); SIGTERM stops it cleanly.
    serving = _worker(env, "--stage", "fetch", "--watch", str(inbox))
    time.sleep(6)  # joined its group and scanned the folder
    serving.send_signal(signal.SIGTERM)
    output, _ = serving.communicate(timeout=60)
    assert serving.returncode == 0, output
    assert "signal SIGTERM: finishing running jobs, then stopping" in output
    assert "worker done: processed=0" in output
    assert len(asyncio.run(read_topic(kafka, names.of_event(AudioStored)))) == 3  # nothing fetched twice
