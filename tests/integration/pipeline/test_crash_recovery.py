"""A real worker process is SIGKILLed in the middle of a transcription; after a restart every call is
processed exactly once in the store and published exactly once (one outbox request per call).

The workers are real ``dealtalk worker`` processes with the real stages and models; to keep the test short they
run the small English Whisper model on 25-second cuts of the sample calls, without diarization.
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

from dealtalk.contracts.documents import TranscriptDoc
from dealtalk.samples import CALLS_DIR

pytestmark = [pytest.mark.models, pytest.mark.slow]

CUT_S = 25.0


def make_inbox(folder: Path) -> list[str]:
    folder.mkdir(parents=True)
    recording_ids = []
    for audio in sorted(CALLS_DIR.glob("*.flac")):
        samples, rate = sf.read(audio, dtype="float32")
        sf.write(folder / audio.name, samples[: int(CUT_S * rate)], rate, subtype="PCM_16")
        sidecar = json.loads(audio.with_name(audio.stem + ".meeting.json").read_text())
        (folder / f"{audio.stem}.meeting.json").write_text(json.dumps(sidecar))
        recording_ids.append(sidecar["recording_id"])
    return recording_ids


def worker_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEALTALK_")}
    env.update(
        DEALTALK_DATA_DIR=str(data_dir),
        DEALTALK_BUS__LEASE_S="4",
        DEALTALK_BUS__HEARTBEAT_S="1",
        DEALTALK_BUS__POLL_INTERVAL_S="0.2",
        DEALTALK_SPEECH__ASR_MODEL="whisper-tiny.en",
        DEALTALK_SPEECH__LANGUAGE="en",
        DEALTALK_SPEECH__LANGUAGES='["en"]',
        DEALTALK_SPEECH__DIARIZATION="false",
        DEALTALK_SPEECH__VOICEPRINTS="false",
        HF_HUB_OFFLINE="1",
    )
    return env


def start_worker(data_dir: Path, inbox: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "dealtalk.cli", "worker", "--burst", "--watch", str(inbox)],
            env=worker_env(data_dir),
            stdout=handle,
            stderr=subprocess.STDOUT,
        )


def query(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db, timeout=30) as connection:
        return connection.execute(sql).fetchall()


def test_sigkill_mid_transcription_then_restart_processes_and_publishes_each_call_once(
    tmp_path: Path,
) -> None:
    data_dir, inbox, log = tmp_path / "data", tmp_path / "inbox", tmp_path / "worker.log"
    recording_ids = make_inbox(inbox)
    db = data_dir / "dealtalk.db"

    first = start_worker(data_dir, inbox, log)
    deadline = time.monotonic() + 300
    killed_message = None
    while time.monotonic() < deadline and first.poll() is None:
        try:
            leased = query(
                db,
                "SELECT id FROM bus_messages WHERE topic = 'audio.stored' AND status = 'pending' "
                "AND leased_by IS NOT NULL",
            )
        except sqlite3.OperationalError:  # the worker has not created the schema yet
            leased = []
        if leased:
            killed_message = leased[0][0]
            break
        time.sleep(0.05)
    assert killed_message is not None, f"no transcription started:\n{log.read_text()[-3000:]}"
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    assert query(db, f"SELECT status FROM bus_messages WHERE id = {killed_message}") == [("pending",)]

    second = start_worker(data_dir, inbox, log)
    assert second.wait(timeout=600) == 0, log.read_text()[-3000:]

    # The killed job ran again (its lease expired), and everything finished.
    assert query(db, f"SELECT attempt, status FROM bus_messages WHERE id = {killed_message}") == [(2, "done")]
    assert query(db, "SELECT count(*) FROM bus_messages WHERE status != 'done'") == [(0,)]
    assert query(db, "SELECT count(*) FROM dead_letters") == [(0,)]
    statuses = {str(r): str(s) for r, s in query(db, "SELECT recording_id, status FROM recordings")}
    assert statuses == dict.fromkeys(recording_ids, "published")

    # Processed exactly once in the store: one result per stage, one transcript's rows, no duplicate rows.
    per_stage = query(db, "SELECT stage, count(*) FROM stage_results GROUP BY stage ORDER BY stage")
    assert per_stage == [(stage, 3) for stage in ("analyze", "fetch", "publish", "transcribe")]
    for recording_id in recording_ids:
        (sha,) = query(db, f"SELECT transcript_sha256 FROM calls WHERE recording_id = '{recording_id}'")[0]
        blob = data_dir / "blobs" / str(sha)[:2] / str(sha)
        transcript = TranscriptDoc.model_validate_json(blob.read_bytes())
        rows = query(db, f"SELECT count(*) FROM segments WHERE recording_id = '{recording_id}'")
        assert rows == [(len(transcript.segments),)] and transcript.segments

    # Published exactly once: one publication per call, one request per call in the outbox.
    assert query(db, "SELECT count(*), sum(publish_count) FROM publications") == [(3, 3)]
    outbox = sorted(p.name for p in (data_dir / "outbox").glob("*.json"))
    assert outbox == sorted(f"{r}.json" for r in recording_ids)
    assert np.all([json.loads((data_dir / "outbox" / name).read_text()) for name in outbox])
