"""Erasure proof: the sample calls through the real stages, one attendee erased, then every table and column,
every blob, the dead letters and the dry-run outbox searched for her address, name and quotes; everyone
else's insights intact; a reprocessing does not bring her back; a busy call is never half-erased."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import pytest
from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from dealtalk.cli.main import app
from dealtalk.contracts.documents import InsightsDoc, TranscriptDoc
from dealtalk.contracts.events import AudioStored, dump_event, parse_event
from dealtalk.pipeline.gdpr import erase_person
from dealtalk.pipeline.resources import Resources
from dealtalk.pipeline.store.schema import (
    AuditRow,
    BusMessageRow,
    CallRow,
    DeliveryRow,
    ErasureTaskRow,
    InsightRow,
    SegmentRow,
    SpeakerRow,
    StageResultRow,
)

from .conftest import NORTHWIND, SARAH, Pipeline, fill_inbox, needles_found

pytestmark = pytest.mark.models  # the real insight models run in the analyze stage


def _doc(resources: Resources, recording_id: str) -> tuple[TranscriptDoc, InsightsDoc]:
    with resources.database.session() as session:
        call, insight = session.get(CallRow, recording_id), session.get(InsightRow, recording_id)
        assert call is not None and insight is not None
        paths = [
            resources.blobs.root / sha[:2] / sha for sha in (call.transcript_sha256, insight.insights_sha256)
        ]
    return (
        TranscriptDoc.model_validate_json(paths[0].read_bytes()),
        InsightsDoc.model_validate_json(paths[1].read_bytes()),
    )


def _sarah_needles(resources: Resources) -> list[str]:
    transcript, insights = _doc(resources, NORTHWIND)
    sarah = next(s.id for s in transcript.speakers if s.email == SARAH)
    quotes = [s.text for s in transcript.segments if s.speaker == sarah]
    quotes += [r.quote for r in insights.risks if r.speaker == sarah]
    assert len(quotes) >= 5
    return [SARAH, "Sarah Miller", "Sarah", "Miller", *quotes]


def _insights_by_recording(resources: Resources) -> dict[str, str]:
    with resources.database.session() as session:
        return {row.recording_id: row.insights_sha256 for row in session.scalars(select(InsightRow))}


def test_erasure_removes_her_everywhere_and_keeps_everyone_else(
    pipeline: Callable[..., Pipeline], database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    run = pipeline(database={"url": database_url})
    fill_inbox(run.inbox)
    stats = run.run()
    assert stats.dead_lettered == 1  # the corrupt recording she attended
    resources = run.resources
    needles = _sarah_needles(resources)
    outbox = (run.settings.outbox_dir,)
    assert needles_found(resources, needles, outbox)  # the search finds her before the erasure
    before = {rid: _doc(resources, rid) for rid in _insights_by_recording(resources)}

    report = erase_person(resources, SARAH, actor="cli:dpo")

    assert report.status == "done" and report.crm_failed == {} and report.busy == {}
    assert sorted(report.recordings) == sorted([NORTHWIND, "rec-2026-11-19-northwind-broken"])
    assert report.counts["segments_erased"] == 5 and report.counts["audio_seconds_silenced"] > 20
    assert report.counts["audio_deleted_untranscribed"] == 1 and report.unlocated == []
    assert needles_found(resources, needles, outbox) == []
    # Everyone else: the other calls untouched, and in hers the others' figures, labels and quotes kept.
    for recording_id, (transcript, insights) in before.items():
        after_transcript, after_insights = _doc(resources, recording_id)
        if recording_id != NORTHWIND:
            assert (after_transcript, after_insights) == (transcript, insights)
            continue
        assert after_insights.kpis == insights.kpis and after_insights.sentiments == insights.sentiments
        assert after_insights.health == insights.health
        assert [r.type for r in after_insights.risks] == [r.type for r in insights.risks]
        sarah = next(s.id for s in transcript.speakers if s.email == SARAH)
        theirs = [
            (old.quote, new.quote)
            for old, new in zip(insights.risks, after_insights.risks, strict=True)
            if old.speaker != sarah and "Sarah" not in old.quote
        ]
        assert theirs and all(old == new for old, new in theirs)
        others = [s for s in transcript.segments if s.speaker != sarah and "Sarah" not in s.text]
        assert others and all(s in after_transcript.segments for s in others)
        assert "Mark Jansen" in {s.name for s in after_transcript.speakers}
    with resources.database.session() as session:
        audits = session.scalars(select(AuditRow).where(AuditRow.action == "gdpr.erase")).all()
        assert [(a.actor, a.detail["status"], a.detail["recordings"]) for a in audits] == [
            ("cli:dpo", "done", 2)
        ]
    # Logs of the whole run: no transcript text, no names, no addresses (of anyone in the calls).
    logged = "\n".join(r.getMessage() for r in caplog.records).lower()
    people = [p for t, _i in before.values() for s in t.speakers for p in (s.name, s.email or "")]
    texts = [s.text for t, _i in before.values() for s in t.segments if len(s.text) > 12]
    assert [n for n in {*people, *texts} if n and n.lower() in logged] == []


def test_reprocessing_and_a_second_erase_do_not_bring_her_back(pipeline: Callable[..., Pipeline]) -> None:
    run = pipeline()
    fill_inbox(run.inbox, with_corrupt=False)
    run.run()
    resources = run.resources
    needles = _sarah_needles(resources)
    assert erase_person(resources, SARAH, actor="cli:dpo").status == "done"
    # Reprocess her call from its stored audio event: the reference transcriber still names her (as a
    # voiceprint or a Teams transcript could); the erasure ledger's guard takes her out again.
    with resources.database.session() as session:
        stored = session.scalar(
            select(StageResultRow.output_event).where(
                StageResultRow.recording_id == NORTHWIND, StageResultRow.stage == "fetch"
            )
        )
        assert stored is not None
        event = parse_event(stored)
        assert isinstance(event, AudioStored)
        session.execute(
            delete(StageResultRow).where(
                StageResultRow.recording_id == NORTHWIND, StageResultRow.stage != "fetch"
            )
        )
        resources.bus.publish(
            session, "audio.stored", NORTHWIND, dump_event(event), {"trace_id": event.trace_id}
        )
    assert run.run().processed == 3
    assert needles_found(resources, needles, (run.settings.outbox_dir,)) == []
    with resources.database.session() as session:
        guarded = session.scalars(select(AuditRow).where(AuditRow.action == "gdpr.transcript_redacted")).all()
        assert [a.detail["reason"] for a in guarded] == ["erasure_ledger"]
        assert (
            session.scalar(
                select(SpeakerRow.name).where(
                    SpeakerRow.speaker_id == "S1", SpeakerRow.recording_id == NORTHWIND
                )
            )
            == "Mark Jansen"
        )
    second = erase_person(resources, SARAH, actor="cli:dpo")
    assert second.status == "done"
    assert needles_found(resources, needles, (run.settings.outbox_dir,)) == []


def test_a_call_in_progress_is_left_whole_and_erased_once_it_is_done(
    pipeline: Callable[..., Pipeline],
) -> None:
    run = pipeline()
    fill_inbox(run.inbox, with_corrupt=False)
    run.run()
    resources = run.resources
    needles = _sarah_needles(resources)
    segments_before = _segments(resources)
    # A message of her call is waiting (a reprocessing was just queued).
    resources.bus.publish_now("audio.stored", NORTHWIND, json.dumps({"waiting": True}), {})
    busy = erase_person(resources, SARAH, actor="cli:dpo")
    assert busy.status == "incomplete" and busy.busy == {NORTHWIND: "audio.stored"}
    assert _segments(resources) == segments_before  # untouched, not half-erased
    with resources.database.session() as session:
        task = session.get(ErasureTaskRow, (busy.subject_hash, NORTHWIND))
        assert task is not None and task.state == "pending"
        session.execute(update(BusMessageRow).where(BusMessageRow.key == NORTHWIND).values(status="done"))
        # On Kafka: a worker has started a record of her call (its delivery row says so).
        session.add(
            DeliveryRow(
                topic="dealtalk.transcripts.ready",
                partition=0,
                offset=7,
                recording_id=NORTHWIND,
                stage="analyze",
                started=1,
            )
        )
    kafka_busy = erase_person(resources, SARAH, actor="cli:dpo")
    assert kafka_busy.busy == {NORTHWIND: "dealtalk.transcripts.ready"}
    assert _segments(resources) == segments_before
    with resources.database.session() as session:
        session.execute(delete(DeliveryRow))
    done = erase_person(resources, SARAH, actor="cli:dpo")
    assert done.status == "done" and done.recordings == [NORTHWIND]
    assert needles_found(resources, needles, (run.settings.outbox_dir,)) == []


def _segments(resources: Resources) -> list[tuple[int, str]]:
    with resources.database.session() as session:
        rows = session.execute(
            select(SegmentRow.idx, SegmentRow.text).where(SegmentRow.recording_id == NORTHWIND)
        ).all()
    return [(row.idx, row.text) for row in rows]


def test_the_command_line(pipeline: Callable[..., Pipeline], monkeypatch: pytest.MonkeyPatch) -> None:
    run = pipeline()
    fill_inbox(run.inbox, with_corrupt=False)
    run.run()
    monkeypatch.setenv("DEALTALK_DATA_DIR", str(run.settings.data_dir))
    runner = CliRunner()
    unknown = runner.invoke(app, ["gdpr", "erase", "--email", "nobody@example.com"])
    assert unknown.exit_code == 1 and "nothing erased" in unknown.stderr
    assert runner.invoke(app, ["gdpr", "erase", "--email", "not-an-address"]).exit_code == 2
    dry = runner.invoke(app, ["gdpr", "erase", "--email", SARAH, "--dry-run"])
    assert dry.exit_code == 0 and "would erase from 1 recording(s)" in dry.stdout
    assert "segments=5" in dry.stdout
    first = runner.invoke(app, ["gdpr", "erase", "--email", SARAH])
    assert first.exit_code == 0 and "erasure done: 1 recording(s)" in first.stdout
    again = runner.invoke(app, ["gdpr", "erase", "--email", SARAH])
    assert again.exit_code == 0 and "erasure done: 0 recording(s)" in again.stdout
