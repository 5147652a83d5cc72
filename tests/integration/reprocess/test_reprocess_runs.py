"""Reprocessing against the real databases (SQLite and PostgreSQL) with fake models at our own interfaces:
selection, a run interrupted and resumed without redoing finished calls, versioned results beside the old
ones, the diff, failed calls, publishing only what changed, and the hand-off to the workers' bus.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from dealtalk.contracts.config import Settings
from dealtalk.contracts.events import InsightsReady
from dealtalk.pipeline.blobs import LocalBlobStore
from dealtalk.pipeline.bus.embedded import EmbeddedBus
from dealtalk.pipeline.bus.outlet import EmbeddedOutlet
from dealtalk.pipeline.outcomes import load_outcome
from dealtalk.pipeline.reprocess import (
    CallObserver,
    CallSelection,
    ModelSet,
    RunDeps,
    run_locally,
    select_calls,
)
from dealtalk.pipeline.reprocess.compare import run_diffs
from dealtalk.pipeline.reprocess.queue import put_on_bus
from dealtalk.pipeline.reprocess.runs import create_run, load_run, results_of, stored_inputs
from dealtalk.pipeline.runtime.embedded import EmbeddedWorker
from dealtalk.pipeline.stages.transcribe import build_transcribe_stage
from dealtalk.pipeline.store import Database, open_database
from dealtalk.pipeline.store.schema import BusMessageRow, CallRow, LinkRow, RecordingRow, StageResultRow
from tests.integration.reprocess.fakes import KeywordEngine, ScriptTranscriber, seed_calls

# The "better model" hears one word differently in rec-a and a competitor in rec-b; rec-c comes out the same.
BETTER = {"rec-a": {"volume": "volumes"}, "rec-b": {"next step": "competitor offer"}}


@pytest.fixture
def store(
    database_url: str, make_settings: Callable[..., Settings], tmp_path: Path
) -> Iterator[tuple[Settings, Database]]:
    settings = make_settings(database={"url": database_url})
    database = open_database(settings.database_url)
    seed_calls(settings, database, tmp_path / "inbox", ScriptTranscriber("old-asr"))
    yield settings, database
    database.dispose()


def _deps(
    settings: Settings,
    transcriber: ScriptTranscriber,
    publish: Callable[[InsightsReady], str | None] | None = None,
) -> RunDeps:
    return RunDeps(
        transcriber=transcriber,
        engine=KeywordEngine(),
        blobs=LocalBlobStore(settings.blob_root),
        settings=settings,
        publish=publish,
    )


def _start(database: Database, ids: list[str]) -> str:
    return create_run(
        database, ids, selection=CallSelection(), model_set=ModelSet("better-asr"), mode="local"
    )


class _StopAfterFirst(CallObserver):
    def call_finished(self, recording_id: str, *, status: str, audio_s: float, elapsed_s: float) -> None:
        raise KeyboardInterrupt


def test_a_run_interrupted_after_one_call_resumes_with_the_two_left(store: tuple[Settings, Database]) -> None:
    settings, database = store
    run_id = _start(database, select_calls(database, CallSelection()))
    first = ScriptTranscriber("better-asr", BETTER)
    with pytest.raises(KeyboardInterrupt):
        run_locally(database, load_run(database, run_id), _deps(settings, first), observer=_StopAfterFirst())
    assert first.calls == ["rec-a"]
    assert load_run(database, run_id).done == {"rec-a"}
    assert load_run(database, run_id).status == "running"

    second = ScriptTranscriber("better-asr", BETTER)
    summary = run_locally(database, load_run(database, run_id), _deps(settings, second))
    assert second.calls == ["rec-b", "rec-c"]  # rec-a is not done again
    assert (summary.already_done, summary.done, summary.failed) == (1, 2, 0)
    assert load_run(database, run_id).status == "finished"


def test_new_versions_sit_beside_the_old_ones_and_the_diff_says_what_changed(
    store: tuple[Settings, Database],
) -> None:
    settings, database = store
    run_id = _start(database, select_calls(database, CallSelection()))
    run_locally(
        database, load_run(database, run_id), _deps(settings, ScriptTranscriber("better-asr", BETTER))
    )

    with database.session() as session:
        current = {row.recording_id: row.models["asr"]["name"] for row in session.scalars(select(CallRow))}
        versions = session.scalars(
            select(StageResultRow.version).where(StageResultRow.stage == "transcribe")
        ).all()
    assert current == {
        "rec-a": "old-asr",
        "rec-b": "old-asr",
        "rec-c": "old-asr",
    }  # the old results stay current
    assert set(versions) == {"script-asr=old-asr"}
    rows = {row.recording_id: row for row in results_of(database, run_id)}
    assert {row.models["asr"]["name"] for row in rows.values()} == {"better-asr"}
    # Every new transcript is a new blob (its provenance differs even where the words do not).
    assert all(row.blobs["transcript"] != row.blobs["baseline_transcript"] for row in rows.values())

    diffs = {d.recording_id: d for d in run_diffs(database, LocalBlobStore(settings.blob_root), run_id)}
    assert (diffs["rec-a"].word_errors, diffs["rec-a"].reference_words) == (1, 2 + 7 + 5)
    assert diffs["rec-a"].risks_added == diffs["rec-a"].risks_removed == ()
    assert diffs["rec-b"].risks_added == ("competitor_mention",)
    assert diffs["rec-b"].word_errors == 2
    assert not diffs["rec-c"].changed and diffs["rec-c"].wer == 0.0
    assert diffs["rec-a"].changed and diffs["rec-b"].changed


def test_a_failed_call_does_not_stop_the_run_and_is_tried_again_on_resume(
    store: tuple[Settings, Database],
) -> None:
    settings, database = store
    run_id = _start(database, select_calls(database, CallSelection()))
    oom = ScriptTranscriber("better-asr", BETTER, fail=frozenset({"rec-b"}))
    summary = run_locally(database, load_run(database, run_id), _deps(settings, oom))
    assert (summary.done, summary.failed) == (2, 1)
    assert "out of GPU memory" in summary.failures["rec-b"]
    assert load_run(database, run_id).status == "running"  # not finished: there is a call left to do

    retry = ScriptTranscriber("better-asr", BETTER)
    run_locally(database, load_run(database, run_id), _deps(settings, retry))
    assert retry.calls == ["rec-b"]
    rows = {row.recording_id: row for row in results_of(database, run_id)}
    assert (rows["rec-b"].status, rows["rec-b"].attempts, rows["rec-b"].error) == ("done", 2, None)


def test_publish_goes_only_to_calls_whose_result_changed(store: tuple[Settings, Database]) -> None:
    settings, database = store
    published: list[str] = []

    def publish(event: InsightsReady) -> str:
        published.append(event.recording_id)
        return f"activity-{event.recording_id}"

    run_id = _start(database, select_calls(database, CallSelection()))
    summary = run_locally(
        database,
        load_run(database, run_id),
        _deps(settings, ScriptTranscriber("better-asr", BETTER), publish),
    )
    assert published == ["rec-a", "rec-b"]
    assert summary.published == 2
    rows = {row.recording_id: row.published_activity_id for row in results_of(database, run_id)}
    assert rows == {"rec-a": "activity-rec-a", "rec-b": "activity-rec-b", "rec-c": None}
    # What was published is now the current result (the report link shows it); rec-c keeps its old version.
    with database.session() as session:
        current = {row.recording_id: row.models["asr"]["name"] for row in session.scalars(select(CallRow))}
    assert current == {"rec-a": "better-asr", "rec-b": "better-asr", "rec-c": "old-asr"}
    outcome = load_outcome(database, LocalBlobStore(settings.blob_root), "rec-b")
    assert outcome.result is not None
    assert [risk.type for risk in outcome.result.risks] == ["competitor_mention"]


def test_the_selection_filters(store: tuple[Settings, Database]) -> None:
    _settings, database = store
    from datetime import date

    assert select_calls(database, CallSelection()) == ["rec-a", "rec-b", "rec-c"]
    assert select_calls(database, CallSelection(language="nl")) == ["rec-c"]
    assert select_calls(database, CallSelection(since=date(2026, 11, 11), until=date(2026, 11, 11))) == [
        "rec-b"
    ]
    assert select_calls(database, CallSelection(model="old-asr")) == ["rec-a", "rec-b", "rec-c"]
    assert select_calls(database, CallSelection(model="large-v3")) == []
    assert select_calls(database, CallSelection(recording_ids=("rec-b", "rec-x"))) == ["rec-b"]
    assert select_calls(database, CallSelection(failed=True)) == []
    with database.session() as session:
        session.get_one(RecordingRow, "rec-c").status = "failed:transcribe"
    assert select_calls(database, CallSelection(failed=True)) == ["rec-c"]


def test_workers_mode_puts_the_stored_audio_back_on_the_bus(store: tuple[Settings, Database]) -> None:
    settings, database = store
    bus = EmbeddedBus(database, settings.bus)
    events = [e for rid in ("rec-a", "rec-b") if (e := stored_inputs(database, rid).audio) is not None]
    assert put_on_bus(EmbeddedOutlet(bus), database, events, run_id="rp-test") == 2
    with database.session() as session:
        queued = session.scalars(
            select(BusMessageRow).where(
                BusMessageRow.status == "pending", BusMessageRow.topic == "audio.stored"
            )
        ).all()
        assert [(m.topic, m.key, m.headers["reprocess_run"]) for m in queued] == [
            ("audio.stored", "rec-a", "rp-test"),
            ("audio.stored", "rec-b", "rp-test"),
        ]
    # A worker started with the new model picks them up and stores a new version beside the old one.
    better = ScriptTranscriber("better-asr", BETTER)
    blobs = LocalBlobStore(settings.blob_root)
    stage = build_transcribe_stage(
        transcriber=better, blobs=blobs, speech=settings.speech, tenant=settings.tenant
    )
    EmbeddedWorker(bus, [stage], settings.bus).run(burst=True)
    assert better.calls == ["rec-a", "rec-b"]
    with database.session() as session:
        versions = session.scalars(
            select(StageResultRow.version).where(
                StageResultRow.stage == "transcribe", StageResultRow.recording_id == "rec-a"
            )
        ).all()
    assert sorted(versions) == ["script-asr=better-asr", "script-asr=old-asr"]


def test_a_burst_worker_expects_one_job_per_waiting_message_and_stage_left(
    store: tuple[Settings, Database],
) -> None:
    from dealtalk.cli.commands.job_progress import expected_jobs

    settings, database = store
    bus = EmbeddedBus(database, settings.bus)
    # The seeded calls wait for publish (3 insights.ready messages); one more goes back to transcribe.
    audio = stored_inputs(database, "rec-a").audio
    assert audio is not None
    put_on_bus(EmbeddedOutlet(bus), database, [audio], run_id="rp-test")
    assert expected_jobs(bus, ("fetch", "transcribe", "analyze", "publish")) == 3 * 1 + 1 * 3
    assert expected_jobs(bus, ("transcribe",)) == 1


def test_a_linked_calls_own_competitors_are_asked_for_with_its_opportunity(
    store: tuple[Settings, Database],
) -> None:
    settings, database = store
    with database.session() as session:
        session.add(LinkRow(recording_id="rec-b", opportunity_id="opp-b", method="manual", detail="by hand"))
    asked: list[str | None] = []

    def competitors(opportunity_id: str | None) -> tuple[str, ...]:
        asked.append(opportunity_id)
        return ("Hago",)

    deps = replace(_deps(settings, ScriptTranscriber("better-asr")), competitors=competitors)
    run_locally(database, load_run(database, _start(database, ["rec-a", "rec-b"])), deps)
    assert asked == [None, "opp-b"]
