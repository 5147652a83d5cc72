"""The sample calls end to end over the real broker, one ``dealtalk worker`` process per stage.

Real stages and models (the small English Whisper model on 25-second cuts of the sample calls, without
diarization, to keep it short), the Kafka bus between four worker processes, one SQLite store, the dry-run
publisher. Every call must be transcribed, analyzed and published exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from dealtalk.cli.main import app
from dealtalk.samples import CALLS_DIR
from tests.support.kafka_broker import TestBroker
from tests.support.kafka_stages import make_kafka_settings

pytestmark = [pytest.mark.kafka, pytest.mark.models, pytest.mark.slow, pytest.mark.timeout(900)]

SAMPLES = CALLS_DIR
CUT_S = 25.0
STAGES = ("fetch", "transcribe", "analyze", "publish")


def make_inbox(folder: Path) -> list[str]:
    folder.mkdir(parents=True)
    recording_ids = []
    for audio in sorted(SAMPLES.glob("*.flac")):
        samples, rate = sf.read(audio, dtype="float32")
        sf.write(folder / audio.name, samples[: int(CUT_S * rate)], rate, subtype="PCM_16")
        sidecar = json.loads(audio.with_name(audio.stem + ".meeting.json").read_text())
        (folder / f"{audio.stem}.meeting.json").write_text(json.dumps(sidecar))
        recording_ids.append(sidecar["recording_id"])
    return recording_ids


def query(db: Path, sql: str) -> list[tuple[object, ...]]:
    try:
        with sqlite3.connect(db, timeout=30) as connection:
            return connection.execute(sql).fetchall()
    except sqlite3.OperationalError:  # no schema yet
        return []


def test_sample_calls_run_end_to_end_through_one_worker_process_per_stage(
    kafka_broker: TestBroker, tmp_path: Path
) -> None:
    kafka = make_kafka_settings(kafka_broker.bootstrap)
    data_dir, inbox, logs = tmp_path / "data", tmp_path / "inbox", tmp_path / "logs"
    logs.mkdir()
    recording_ids = make_inbox(inbox)
    db = data_dir / "dealtalk.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEALTALK_")}
    env.update(
        DEALTALK_DATA_DIR=str(data_dir),
        DEALTALK_BUS__KIND="kafka",
        DEALTALK_KAFKA__BOOTSTRAP_SERVERS=kafka.bootstrap_servers,
        DEALTALK_KAFKA__TOPIC_PREFIX=kafka.topic_prefix,
        DEALTALK_KAFKA__GROUP_PREFIX=kafka.group_prefix,
        DEALTALK_KAFKA__PARTITIONS="2",
        DEALTALK_KAFKA__SESSION_TIMEOUT_MS="6000",
        DEALTALK_KAFKA__HEARTBEAT_INTERVAL_MS="500",
        DEALTALK_SPEECH__ASR_MODEL="whisper-tiny.en",
        DEALTALK_SPEECH__LANGUAGE="en",
        DEALTALK_SPEECH__LANGUAGES='["en"]',
        DEALTALK_SPEECH__DIARIZATION="false",
        DEALTALK_SPEECH__VOICEPRINTS="false",
        HF_HUB_OFFLINE="1",
    )
    created = CliRunner().invoke(app, ["topics", "create"], env=env)
    assert created.exit_code == 0, created.output
    workers = {}
    for stage in STAGES:
        extra = ["--watch", str(inbox)] if stage == "fetch" else []
        with (logs / f"{stage}.log").open("ab") as log:
            workers[stage] = subprocess.Popen(
                [sys.executable, "-m", "dealtalk.cli", "worker", "--stage", stage, *extra],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if query(db, "SELECT count(*) FROM publications") == [(3,)]:
                break
            dead = [stage for stage, process in workers.items() if process.poll() is not None]
            assert not dead, f"{dead} exited:\n" + "\n".join(
                (logs / f"{s}.log").read_text()[-2000:] for s in dead
            )
            time.sleep(1.0)
        else:
            pytest.fail(
                "not published in time:\n" + "\n".join(p.read_text()[-1500:] for p in logs.glob("*.log"))
            )
        time.sleep(2.0)  # a duplicate, if any, would land now
    finally:
        for process in workers.values():
            process.send_signal(signal.SIGTERM)
        codes = {stage: process.wait(timeout=120) for stage, process in workers.items()}
    assert codes == dict.fromkeys(STAGES, 0), codes  # graceful stop on SIGTERM

    statuses = {
        str(rid): str(status) for rid, status in query(db, "SELECT recording_id, status FROM recordings")
    }
    assert statuses == dict.fromkeys(recording_ids, "published")
    per_stage = query(db, "SELECT stage, count(*) FROM stage_results GROUP BY stage ORDER BY stage")
    assert per_stage == [(stage, 3) for stage in sorted(STAGES)]
    assert query(db, "SELECT count(*), sum(publish_count) FROM publications") == [(3, 3)]
    for recording_id in recording_ids:
        assert query(db, f"SELECT count(*) > 0 FROM segments WHERE recording_id = '{recording_id}'") == [(1,)]
    outbox = sorted(p.name for p in (data_dir / "outbox").glob("*.json"))
    assert outbox == sorted(f"{r}.json" for r in recording_ids)
    assert np.all([json.loads((data_dir / "outbox" / name).read_text()) for name in outbox])
    transcribe_log = (logs / "transcribe.log").read_text()
    assert transcribe_log.count("job done stage=transcribe") == 6  # handler + driver line, once per call each
