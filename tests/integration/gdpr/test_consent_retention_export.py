"""Consent through the stages, retention with a moved clock, and the export of a person against the store."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dealtalk.contracts.documents import BlobRef
from dealtalk.pipeline.bus.dead_letters import list_dead_letters
from dealtalk.pipeline.gdpr import export_person, run_retention
from dealtalk.pipeline.gdpr.redact import RETIRED
from dealtalk.pipeline.gdpr.schedule import start_retention_schedule
from dealtalk.pipeline.outcomes import load_outcome
from dealtalk.pipeline.store.schema import (
    AuditRow,
    InsightRow,
    RecordingRow,
    RiskRow,
    SegmentRow,
    SpeakerRow,
    WordRow,
)
from dealtalk.transcription.voiceprints import FileVoiceprintStore

from .conftest import NORTHWIND, SARAH, Pipeline, fill_inbox, needles_found

pytestmark = pytest.mark.models

CALL_DAY = datetime(2026, 11, 18, 13, 30, tzinfo=UTC)


def _pairs(session: Session, key: Any, value: Any) -> dict[str, Any]:
    return {row[0]: row[1] for row in session.execute(select(key, value))}


def test_an_opted_out_attendee_stops_her_call_before_its_audio_is_fetched(
    pipeline: Callable[..., Pipeline],
) -> None:
    run = pipeline(gdpr={"opted_out_emails": [SARAH.upper()]})
    declined = {"rec-2026-11-20-brightlab": {"recording_declined": ["emma.clarke@brightlab.eu"]}}
    fill_inbox(run.inbox, with_corrupt=False, meetings=declined)
    stats = run.run()
    assert stats.dead_lettered == 2
    resources = run.resources
    with resources.database.session() as session:
        statuses = _pairs(session, RecordingRow.recording_id, RecordingRow.status)
        audio = _pairs(session, RecordingRow.recording_id, RecordingRow.audio_sha256)
        audits = session.scalars(select(AuditRow).where(AuditRow.action == "gdpr.consent_withheld")).all()
    assert statuses == {
        NORTHWIND: "consent_withheld",
        "rec-2026-11-20-brightlab": "consent_withheld",
        "rec-2026-11-16-zuidhaven": "published",
    }
    assert audio[NORTHWIND] is None  # never fetched
    assert sorted((a.recording_id, a.detail["reason"]) for a in audits) == [
        ("rec-2026-11-18-northwind", "opted_out_list"),
        ("rec-2026-11-20-brightlab", "recording_declined"),
    ]
    reasons = {d.recording_id: d.reason for d in list_dead_letters(resources.bus)}
    assert "opted out of call analysis" in reasons[NORTHWIND]
    assert "recording was disabled for a participant" in reasons["rec-2026-11-20-brightlab"]
    assert SARAH not in " ".join(reasons.values()) and "Sarah" not in " ".join(reasons.values())


def test_with_the_redact_policy_the_call_is_analysed_without_her(pipeline: Callable[..., Pipeline]) -> None:
    run = pipeline(gdpr={"opted_out_emails": [SARAH], "consent_policy": "redact"})
    fill_inbox(run.inbox, with_corrupt=False)
    assert run.run().dead_lettered == 0
    resources = run.resources
    with resources.database.session() as session:
        speakers = session.scalars(select(SpeakerRow.name).where(SpeakerRow.recording_id == NORTHWIND)).all()
        risks = session.scalar(
            select(func.count()).select_from(RiskRow).where(RiskRow.recording_id == NORTHWIND)
        )
    assert sorted(speakers) == ["Mark Jansen", "Tom Becker", "[erased person]"]
    assert risks
    assert needles_found(
        resources, [SARAH, "Sarah Miller", "fifteen percent discount"], (run.settings.outbox_dir,)
    ) == [
        # The meeting as discovered (before transcription) still names her in the bus's first message.
        f"table bus_messages: {SARAH!r}",
        "table bus_messages: 'sarah miller'",
        f"table bus_messages: {SARAH!r}",
        "table bus_messages: 'sarah miller'",
        f"table stage_results: {SARAH!r}",
        "table stage_results: 'sarah miller'",
    ]


def test_retention_follows_the_clock(pipeline: Callable[..., Pipeline]) -> None:
    run = pipeline(gdpr={"audio_retention_days": 30, "transcript_retention_days": 90})
    fill_inbox(run.inbox, with_corrupt=False)
    run.run()
    resources = run.resources
    with resources.database.session() as session:
        audio = _pairs(session, RecordingRow.recording_id, RecordingRow.audio_sha256)
        kpis: dict[str, Any] = _pairs(session, InsightRow.recording_id, InsightRow.kpis)
        risk_types = sorted(session.scalars(select(RiskRow.type)).all())

    def at(day: datetime) -> Callable[[], datetime]:
        return lambda: day

    early = run_retention(resources, actor="test", clock=at(CALL_DAY + timedelta(days=20)))
    assert (early.audio, early.transcripts) == ([], [])
    dry = run_retention(resources, actor="test", dry_run=True, clock=at(CALL_DAY + timedelta(days=31)))
    older = sorted([NORTHWIND, "rec-2026-11-16-zuidhaven"])  # brightlab was two days later
    assert sorted(dry.audio) == older and all(
        resources.blobs.exists(BlobRef(sha256=s, size_bytes=0)) for s in audio.values() if s
    )
    month = run_retention(resources, actor="test", clock=at(CALL_DAY + timedelta(days=31)))
    assert sorted(month.audio) == older and month.transcripts == []
    assert not resources.blobs.exists(BlobRef(sha256=audio[NORTHWIND] or "", size_bytes=0))
    assert resources.blobs.exists(BlobRef(sha256=audio["rec-2026-11-20-brightlab"] or "", size_bytes=0))

    year = run_retention(resources, actor="test", clock=at(CALL_DAY + timedelta(days=400)))
    assert sorted(year.transcripts) == sorted(audio) and year.audio == ["rec-2026-11-20-brightlab"]
    everyone = ["Sarah Miller", "Mark Jansen", "Eva de Vries", SARAH, "fifteen percent discount"]
    assert needles_found(resources, everyone, (run.settings.outbox_dir,)) == []
    with resources.database.session() as session:
        texts = set(session.scalars(select(SegmentRow.text)).all())
        assert texts == {RETIRED}
        assert session.scalar(select(func.count()).select_from(WordRow)) == 0
        assert _pairs(session, InsightRow.recording_id, InsightRow.kpis) == kpis
        assert sorted(session.scalars(select(RiskRow.type)).all()) == risk_types
        assert set(session.scalars(select(SpeakerRow.name)).all()) >= {"S1 (seller)", "S2 (customer)"}
        runs = session.scalars(select(AuditRow).where(AuditRow.action == "gdpr.retention")).all()
    assert [(r.detail["audio"], r.detail["transcripts"], r.detail["dry_run"]) for r in runs] == [
        (0, 0, False),
        (2, 0, True),
        (2, 0, False),
        (1, 3, False),
    ]
    assert run_retention(resources, actor="test", clock=at(CALL_DAY + timedelta(days=401))).transcripts == []


def test_export_holds_everything_stored_about_her(pipeline: Callable[..., Pipeline]) -> None:
    run = pipeline()
    fill_inbox(run.inbox, with_corrupt=False)
    run.run()
    resources = run.resources
    prints = FileVoiceprintStore(run.settings.data_dir / "voiceprints")
    prints.enrol(SARAH, "Sarah Miller", np.ones(192, dtype=np.float32), model_sha256="m" * 64)
    assert export_person(resources, "nobody@example.com", actor="test") is None
    export = export_person(resources, SARAH, actor="cli:dpo")
    assert export is not None
    with resources.database.session() as session:
        sarah = session.scalar(select(SpeakerRow.speaker_id).where(SpeakerRow.email == SARAH))
        segments = session.execute(
            select(SegmentRow.idx, SegmentRow.text, SegmentRow.sentiment_label)
            .where(SegmentRow.recording_id == NORTHWIND, SegmentRow.speaker_id == sarah)
            .order_by(SegmentRow.idx)
        ).all()
        quotes = session.scalars(
            select(RiskRow.quote).where(RiskRow.recording_id == NORTHWIND, RiskRow.speaker_id == sarah)
        ).all()
        audit = session.scalars(select(AuditRow).where(AuditRow.action == "gdpr.export")).one()
    assert [c["recording_id"] for c in export["calls"]] == [NORTHWIND]
    call = export["calls"][0]
    assert [(s["index"], s["text"], s["sentiment"]["label"]) for s in call["segments"]] == [
        tuple(s) for s in segments
    ]
    assert sorted(r["quote"] for r in call["risks"]) == sorted(quotes)
    assert call["as_participant"] == [
        {"name": "Sarah Miller", "email": SARAH, "role": "customer", "is_organizer": False}
    ]
    assert set(call["kpis"]) == {sarah} and call["opportunity"]["id"]
    assert export["voiceprint"] == {
        "name": "Sarah Miller",
        "calls_enrolled": 1,
        "embedding_model_sha256": "m" * 64,
        "dimensions": 192,
    }
    assert audit.detail == {
        "subject_sha256": audit.detail["subject_sha256"],
        "calls": 1,
        "segments": len(segments),
        "risks": len(quotes),
        "voiceprint": True,
    }
    assert SARAH not in str(audit.detail) and "Sarah" not in str(audit.detail)


def test_the_worker_schedule_runs_retention_until_stopped(pipeline: Callable[..., Pipeline]) -> None:
    run = pipeline(gdpr={"retention_interval_s": 0.05})
    stop = threading.Event()
    thread = start_retention_schedule(run.resources, stop)
    assert thread is not None
    deadline = time.monotonic() + 10
    runs = 0
    while runs < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
        with run.resources.database.session() as session:
            runs = len(session.scalars(select(AuditRow).where(AuditRow.action == "gdpr.retention")).all())
    stop.set()
    thread.join(timeout=5)
    assert runs >= 2 and not thread.is_alive()
    off = pipeline(gdpr={"retention_interval_s": 0})
    assert start_retention_schedule(off.resources, threading.Event()) is None


def test_without_pseudonymised_insights_retention_deletes_them(pipeline: Callable[..., Pipeline]) -> None:
    run = pipeline(gdpr={"transcript_retention_days": 90, "pseudonymise_insights": False})
    fill_inbox(run.inbox, with_corrupt=False)
    run.run()
    resources = run.resources
    report = run_retention(resources, actor="test", clock=lambda: CALL_DAY + timedelta(days=100))
    assert len(report.transcripts) == 3
    with resources.database.session() as session:
        assert session.scalar(select(func.count()).select_from(InsightRow)) == 0
        assert session.scalar(select(func.count()).select_from(RiskRow)) == 0
    outcome = load_outcome(resources.database, resources.blobs, NORTHWIND)  # what the report page reads
    assert outcome.result is None and outcome.status == "published"
    assert needles_found(resources, [SARAH, "Sarah Miller", "fifteen percent discount"]) == []
