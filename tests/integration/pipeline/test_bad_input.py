"""Bad input through the real stages: each gets a clear reason in the dead-letter table naming the recording
and the cause, the good call beside them still gets published, and nothing half-written is left behind.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from sqlalchemy import select

from dealtalk.contracts.config import Settings
from dealtalk.contracts.errors import InvalidInput
from dealtalk.pipeline.bus.dead_letters import list_dead_letters
from dealtalk.pipeline.discovery import discover_local
from dealtalk.pipeline.manual_link import link_call
from dealtalk.pipeline.resources import Resources
from dealtalk.pipeline.runtime.embedded import EmbeddedWorker
from dealtalk.pipeline.store.schema import CallRow, RecordingRow
from dealtalk.samples import CALLS_DIR

pytestmark = [pytest.mark.models, pytest.mark.slow]

FAST_SPEECH = {
    "asr_model": "whisper-tiny.en",
    "language": "en",
    "languages": ("en",),
    "diarization": False,
    "voiceprints": False,
}
FAST_BUS = {"max_attempts": 2, "backoff_base_s": 0.05, "backoff_max_s": 0.1, "poll_interval_s": 0.05}
GOOD = CALLS_DIR / "call-en-northwind.flac"


def sidecar(folder: Path, name: str, recording_id: str, **extra: object) -> None:
    body = json.loads(GOOD.with_name("call-en-northwind.meeting.json").read_text())
    body.update(recording_id=recording_id, **extra)
    (folder / f"{name}.meeting.json").write_text(json.dumps(body))


def cut(source: Path, target: Path, seconds: float) -> None:
    samples, rate = sf.read(source, dtype="float32")
    sf.write(target, samples[: int(seconds * rate)], rate, subtype="PCM_16")


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    cut(GOOD, folder / "good.flac", 20)
    sidecar(folder, "good", "rec-good")
    shutil.copy(folder / "good.flac", folder / "z-copy.flac")  # the same audio under another recording id
    sidecar(folder, "z-copy", "rec-again")
    (folder / "empty.flac").write_bytes(b"")
    sidecar(folder, "empty", "rec-empty")
    (folder / "corrupt.flac").write_bytes(np.random.default_rng(7).bytes(50_000))
    sidecar(folder, "corrupt", "rec-corrupt")
    sf.write(folder / "silent.flac", np.zeros(16_000 * 20, dtype=np.float32), 16_000, subtype="PCM_16")
    sidecar(folder, "silent", "rec-silent")
    (folder / "nosidecar-fields.flac").write_bytes((folder / "good.flac").read_bytes()[:1000])
    (folder / "nosidecar-fields.meeting.json").write_text(json.dumps({"recording_id": "rec-broken-sidecar"}))
    return folder


def test_each_bad_input_is_dead_lettered_with_its_reason(inbox: Path, tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path / "data", speech=FAST_SPEECH, bus=FAST_BUS)
    resources = Resources.open(settings)
    try:
        found = discover_local(inbox, resources.outlet, resources.database, settings)
        assert found.rejected == ["nosidecar-fields.flac"]
        EmbeddedWorker(resources.bus, resources.stages(), settings.bus).run(burst=True)
        letters = {letter.recording_id: letter for letter in list_dead_letters(resources.bus)}
        with resources.database.session() as session:
            statuses = dict(session.execute(select(RecordingRow.recording_id, RecordingRow.status)).all())
            transcribed = set(session.scalars(select(CallRow.recording_id)))
    finally:
        resources.close()

    assert statuses["rec-good"] == "published"
    assert "empty (0 bytes)" in letters["rec-empty"].reason and letters["rec-empty"].stage == "fetch"
    assert letters["rec-corrupt"].stage == "transcribe" and not letters["rec-corrupt"].reason.startswith(
        "gave up"
    )
    assert "no speech" in letters["rec-silent"].reason
    assert "duplicate recording" in letters["rec-again"].reason and "rec-good" in letters["rec-again"].reason
    assert "organizer: Field required" in letters[None].reason  # the sidecar problem, found at discovery
    for recording_id in ("rec-empty", "rec-corrupt", "rec-silent", "rec-again"):
        assert statuses[recording_id].startswith("failed:"), recording_id
    assert transcribed == {"rec-good"}  # nothing half-written for the failed ones


def test_linking_to_an_unknown_opportunity_is_refused(tmp_path: Path) -> None:
    resources = Resources.open(Settings.load(data_dir=tmp_path / "data"))
    try:
        with pytest.raises(InvalidInput, match="00000000-0000-0000-0000-000000000000"):
            link_call(resources, "rec-x", "00000000-0000-0000-0000-000000000000", actor="test")
    finally:
        resources.close()


def _limit_file_size() -> None:
    # A file-size limit makes writes fail the way a full disk does (without needing a small filesystem).
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1_500_000, 1_500_000))


def test_full_disk_during_the_blob_write_retries_then_dead_letters(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(GOOD, inbox / "big.flac")  # about 2 MB: more than the worker may write
    sidecar(inbox, "big", "rec-big")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEALTALK_")}
    env.update(
        DEALTALK_DATA_DIR=str(tmp_path / "data"),
        DEALTALK_BUS__MAX_ATTEMPTS="2",
        DEALTALK_BUS__BACKOFF_BASE_S="0.05",
        DEALTALK_BUS__POLL_INTERVAL_S="0.05",
    )
    preexec: Callable[[], None] = _limit_file_size
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dealtalk.cli.main",
            "worker",
            "--stage",
            "fetch",
            "--burst",
            "--watch",
            str(inbox),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=preexec,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    resources = Resources.open(Settings.load(data_dir=tmp_path / "data"))
    try:
        (letter,) = list_dead_letters(resources.bus)
    finally:
        resources.close()
    assert letter.recording_id == "rec-big" and letter.stage == "fetch"
    assert "gave up after 2 attempts" in letter.reason and "disk is full" in letter.reason
    blobs = tmp_path / "data" / "blobs"
    assert [p for p in blobs.rglob("*") if p.is_file()] == []  # no half-written blob, no temp file
