"""Retention: audio after ``audio_retention_days``, transcripts after ``transcript_retention_days``.

Ages count from the meeting's start (else from discovery) to the injected clock. When a transcript expires,
every speaker's text, words, quotes, action-item texts, names and addresses are replaced (pseudonyms such as
``S2 (customer)``), in the rows, the blobs, the meeting and every stored event; with ``pseudonymise_insights``
the insights stay in that form (timings, sentiment labels, KPIs, risk types, health: trends still work),
otherwise they are deleted. The recording's dead letters and its dry-run outbox file are deleted with it.
Recordings with a message still in flight are skipped and picked up by the next run. Each run is audited.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from dealtalk.contracts.documents import BlobRef, InsightsDoc, MeetingInfo, Participant, TranscriptDoc
from dealtalk.contracts.events import InsightsReady
from dealtalk.pipeline.gdpr.audit import record_audit
from dealtalk.pipeline.gdpr.identity import name_pattern
from dealtalk.pipeline.gdpr.records import EventRewrite, busy_stage, rewrite_stored_events
from dealtalk.pipeline.gdpr.redact import (
    RETIRED,
    Redaction,
    pseudonym,
    redact_insights,
    redact_meeting,
    redact_transcript,
)
from dealtalk.pipeline.gdpr.rewrite import store_transcript
from dealtalk.pipeline.store.projections import save_insights
from dealtalk.pipeline.store.rollups import refresh_call
from dealtalk.pipeline.store.schema import (
    ActionItemRow,
    CallRow,
    DeadLetterRow,
    InsightRow,
    RecordingRow,
    RiskRow,
    StageResultRow,
)

if TYPE_CHECKING:
    from dealtalk.pipeline.parts import AppParts

__all__ = ["Clock", "RetentionReport", "run_retention"]

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
_DAY_MS = 86_400_000


@dataclass(slots=True)
class RetentionReport:
    """What a run removed (or, with ``dry_run``, would remove)."""

    dry_run: bool
    audio: list[str] = field(default_factory=list)
    transcripts: list[str] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def run_retention(
    parts: AppParts, *, actor: str, dry_run: bool = False, clock: Clock = _utcnow
) -> RetentionReport:
    """Apply the retention policy once (see the module docstring)."""
    gdpr = parts.settings.gdpr
    now = clock()
    report = RetentionReport(dry_run=dry_run, warnings=_kafka_warnings(parts))
    with parts.database.session() as session:
        rows = session.execute(
            select(
                RecordingRow.recording_id,
                RecordingRow.meeting,
                RecordingRow.discovered_at,
                RecordingRow.audio_expired_at,
                RecordingRow.transcript_expired_at,
            )
        ).all()
    for recording_id, meeting, discovered_at, audio_gone, transcript_gone in rows:
        start = MeetingInfo.model_validate(meeting).start_time or discovered_at
        age = now - start
        if (
            gdpr.audio_retention_days
            and audio_gone is None
            and age > timedelta(days=gdpr.audio_retention_days)
        ):
            report.audio.append(recording_id)
        days = gdpr.transcript_retention_days
        if days and transcript_gone is None and age > timedelta(days=days):
            report.transcripts.append(recording_id)
    if dry_run:
        report.counts = {"audio": len(report.audio), "transcripts": len(report.transcripts)}
        _audit(parts, report, actor)
        return report
    for recording_id in dict.fromkeys([*report.audio, *report.transcripts]):
        with parts.database.session() as session:
            if busy_stage(session, recording_id) is not None:
                report.busy.append(recording_id)
                continue
            gone: set[str] = set()
            if recording_id in report.audio:
                gone |= _expire_audio(session, recording_id, now)
            if recording_id in report.transcripts:
                gone |= _expire_transcript(parts, session, recording_id, now)
        removed = sum(parts.blobs.delete(sha) for sha in gone)
        report.counts["blobs_deleted"] = report.counts.get("blobs_deleted", 0) + removed
        if recording_id in report.transcripts and parts.settings.publisher.mode == "dry-run":
            parts.models.publisher().withdraw(recording_id=recording_id)
    report.audio = [r for r in report.audio if r not in report.busy]
    report.transcripts = [r for r in report.transcripts if r not in report.busy]
    report.counts.update(audio=len(report.audio), transcripts=len(report.transcripts), busy=len(report.busy))
    _audit(parts, report, actor)
    logger.info("gdpr retention %s", " ".join(f"{k}={v}" for k, v in sorted(report.counts.items())))
    return report


def _audit(parts: AppParts, report: RetentionReport, actor: str) -> None:
    gdpr = parts.settings.gdpr
    with parts.database.session() as session:
        record_audit(
            session,
            action="gdpr.retention",
            actor=actor,
            detail={
                **report.counts,
                "dry_run": report.dry_run,
                "audio_retention_days": gdpr.audio_retention_days,
                "transcript_retention_days": gdpr.transcript_retention_days,
                "pseudonymise_insights": gdpr.pseudonymise_insights,
            },
        )


def _kafka_warnings(parts: AppParts) -> list[str]:

    settings = parts.settings
    if not settings.runs_distributed or not settings.gdpr.transcript_retention_days:
        return []
    limit_ms = settings.gdpr.transcript_retention_days * _DAY_MS
    return [
        f"DEALTALK_KAFKA__{name} ({value // _DAY_MS} days) keeps events with meeting metadata longer than "
        f"the transcript retention; Kafka deletes them only at its own retention"
        for name, value in (
            ("RETENTION_MS", settings.kafka.retention_ms),
            ("DEAD_LETTER_RETENTION_MS", settings.kafka.dead_letter_retention_ms),
        )
        if value > limit_ms
    ]


def _expire_audio(session: Session, recording_id: str, now: datetime) -> set[str]:
    recording = session.get(RecordingRow, recording_id)
    assert recording is not None
    recording.audio_expired_at = now
    # The content address stays: the same audio ingested again is still recognised as a duplicate.
    return {recording.audio_sha256} if recording.audio_sha256 else set()


def _read(parts: AppParts, sha256: str) -> bytes | None:
    ref = BlobRef(sha256=sha256, size_bytes=0)
    return parts.blobs.local_path(ref).read_bytes() if parts.blobs.exists(ref) else None


def _expire_transcript(parts: AppParts, session: Session, recording_id: str, now: datetime) -> set[str]:
    recording = session.get(RecordingRow, recording_id)
    assert recording is not None
    meeting = MeetingInfo.model_validate(recording.meeting)
    call, insight = session.get(CallRow, recording_id), session.get(InsightRow, recording_id)
    raw = _read(parts, call.transcript_sha256) if call else None
    doc = TranscriptDoc.model_validate_json(raw) if raw else None
    names = [p.name for p in meeting.participants] + ([s.name for s in doc.speakers] if doc else [])
    pattern = name_pattern(names, [p.email for p in meeting.participants if p.email])

    def everyone(_email: str | None, _name: str) -> bool:
        return True

    def role_of(person: Participant) -> str:
        return f"{person.role} (pseudonymised)"

    new_meeting = redact_meeting(meeting, everyone, pattern, rename=role_of)
    mapping: dict[str, BlobRef | None] = {}
    status = recording.status
    if doc is not None and call is not None:
        redaction = Redaction(
            speakers=frozenset(s.id for s in doc.speakers), pattern=pattern, marker=RETIRED, rename=pseudonym
        )
        new_doc = redact_transcript(doc, redaction)
        audio = BlobRef(sha256=recording.audio_sha256 or "0" * 64, size_bytes=recording.audio_size_bytes or 0)
        ready = store_transcript(
            session, parts.blobs, recording, new_doc, audio, new_meeting, version=call.version
        )
        ref = ready.transcript
        mapping[call.transcript_sha256] = ref
        raw_insights = _read(parts, insight.insights_sha256) if insight else None
        if insight is not None and raw_insights is not None:
            if parts.settings.gdpr.pseudonymise_insights:
                kept = redact_insights(InsightsDoc.model_validate_json(raw_insights), new_doc, redaction)
                new_ref = parts.blobs.put_bytes(
                    kept.model_dump_json().encode(), content_type="application/json"
                )
                mapping[insight.insights_sha256] = new_ref
                save_insights(
                    session,
                    InsightsReady(**ready.follow(), transcript=ref, insights=new_ref, meeting=new_meeting),
                    kept,
                    version=insight.version,
                )
            else:
                mapping[insight.insights_sha256] = None
                with refresh_call(session, recording_id):  # the API's risk rollups follow
                    for table in (RiskRow, ActionItemRow, InsightRow):
                        session.execute(delete(table).where(table.recording_id == recording_id))
                # Their outputs point at the deleted insights: the call then reads as transcribed only.
                session.execute(
                    delete(StageResultRow).where(
                        StageResultRow.recording_id == recording_id,
                        StageResultRow.stage.in_(("analyze", "publish")),
                    )
                )
    session.execute(
        update(RecordingRow)
        .where(RecordingRow.recording_id == recording_id)
        .values(status=status, meeting=new_meeting.model_dump(mode="json"), transcript_expired_at=now)
    )
    rewrite_stored_events(session, recording_id, EventRewrite(new_meeting, mapping, pattern))
    session.execute(delete(DeadLetterRow).where(DeadLetterRow.recording_id == recording_id))
    return {old for old, new in mapping.items() if new is None or new.sha256 != old}
