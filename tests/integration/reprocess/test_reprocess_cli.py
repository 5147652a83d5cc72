"""``dealtalk reprocess`` (dry run, runs, diff, resume of an unknown run) and ``dealtalk report`` as a user
types them, against a store seeded with the fake models (SQLite), in a subprocess like the contract tests.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from dealtalk.contracts.config import Settings
from dealtalk.pipeline.blobs import LocalBlobStore
from dealtalk.pipeline.reprocess import CallSelection, ModelSet, RunDeps, run_locally
from dealtalk.pipeline.reprocess.runs import create_run, load_run
from dealtalk.pipeline.store import open_database
from tests.integration.reprocess.fakes import KeywordEngine, ScriptTranscriber, seed_calls


def dealtalk(*args: str, data: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DEALTALK_")}
    environment.update(DEALTALK_DATA_DIR=str(data), HF_HUB_OFFLINE="1", COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "dealtalk.cli", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_reprocess_and_report_commands(tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = Settings.load(data_dir=data)
    database = open_database(settings.database_url)
    seed_calls(settings, database, tmp_path / "inbox", ScriptTranscriber("old-asr"))
    run_id = create_run(
        database,
        ["rec-a", "rec-b"],
        selection=CallSelection(),
        model_set=ModelSet("better-asr"),
        mode="local",
    )
    better = ScriptTranscriber("better-asr", {"rec-b": {"next step": "competitor offer"}})
    deps = RunDeps(
        transcriber=better,
        engine=KeywordEngine(),
        blobs=LocalBlobStore(settings.blob_root),
        settings=settings,
    )
    run_locally(database, load_run(database, run_id), deps)
    database.dispose()

    listed = dealtalk("reprocess", "--asr-model", "tiny.en", "--language", "nl", "--dry-run", data=data)
    assert listed.returncode == 0, listed.stderr
    assert "1 call(s) selected, ASR whisper-tiny.en" in listed.stdout and "rec-c" in listed.stdout

    runs = dealtalk("reprocess", "runs", data=data)
    assert runs.returncode == 0 and run_id in runs.stdout and "2/2" in runs.stdout

    diff = dealtalk("reprocess", "diff", run_id, "--json", data=data)
    assert diff.returncode == 0, diff.stderr
    shown = json.loads(diff.stdout.strip().splitlines()[-1])
    calls = {c["recording_id"]: c for c in shown["calls"]}
    assert calls["rec-a"]["changed"] is False and calls["rec-a"]["wer"] == 0.0
    assert calls["rec-b"]["risks_added"] == ["competitor_mention"] and calls["rec-b"]["changed"] is True
    assert shown["total"]["calls"] == 2 and shown["total"]["changed"] == 1

    table = dealtalk("reprocess", "diff", run_id, data=data)
    assert table.returncode == 0 and "total (2 calls)" in table.stdout

    unknown = dealtalk("reprocess", "resume", "rp-nope", data=data)
    assert unknown.returncode == 1 and "no reprocessing run 'rp-nope'" in unknown.stderr
    missing_model = dealtalk("reprocess", data=data)
    assert missing_model.returncode == 2 and "--asr-model is required" in missing_model.stderr

    page, png = tmp_path / "out" / "rec-a.html", tmp_path / "out" / "rec-a.png"
    report = dealtalk("report", "rec-a", "--html", str(page), "--png", str(png), data=data)
    assert report.returncode == 0, report.stderr
    html = page.read_text(encoding="utf-8")
    assert "<title>call rec-a</title>" in html and "Who spoke when" in html
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    nl = dealtalk("report", "rec-c", "--html", str(tmp_path / "c.html"), data=data)
    assert nl.returncode == 0 and "Wie sprak wanneer" in (tmp_path / "c.html").read_text(encoding="utf-8")
    absent = dealtalk("report", "rec-zzz", "--html", str(tmp_path / "z.html"), data=data)
    assert (
        absent.returncode == 1 and "has no result yet" in absent.stderr and not (tmp_path / "z.html").exists()
    )


def test_a_burst_worker_shows_a_line_per_finished_job_with_its_rate(tmp_path: Path) -> None:
    # The seeded calls wait for the publish stage (sample CRM + dry-run publisher: no models needed).
    data = tmp_path / "data"
    settings = Settings.load(data_dir=data)
    database = open_database(settings.database_url)
    seed_calls(settings, database, tmp_path / "inbox", ScriptTranscriber("old-asr"))
    database.dispose()

    burst = dealtalk("worker", "--stage", "publish", "--burst", data=data)
    assert burst.returncode == 0, burst.stderr
    lines = [line for line in burst.stdout.splitlines() if re.match(r"\d+/3 ", line)]
    assert [line.split()[:3] for line in lines] == [
        ["1/3", "rec-a", "publish"],
        ["2/3", "rec-b", "publish"],
        ["3/3", "rec-c", "publish"],
    ]
    assert all(" done " in line and "jobs/h" in line and "ETA" in line for line in lines)
    assert "processed=3" in burst.stdout
