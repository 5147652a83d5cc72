"""Erasure of one person (``dealtalk gdpr erase --email``; ``erase_person`` for an admin API route).

Per recording the person took part in, three resumable steps, each marked in ``gdpr_erasure_tasks``:

1. **store** (one transaction): with policy "segments", their speech is silenced in the audio, their segments,
   words, quotes, action items and name leave the transcript, the insights, the meeting and every stored
   event (stage results, bus messages, dead letters), and the summary is derived again from what is left;
   with policy "whole", the recording's rows and stored events are deleted. A recording with a message still
   waiting or being worked on is left untouched (never half-erased) and reported as busy.
2. **blobs**: the replaced or deleted blobs are removed from the blob store.
3. **crm**: the activity is published again from the redacted call (an upsert), or withdrawn; the dry-run
   outbox file likewise. A CRM outage is retried by the client, then reported; running the command again
   resumes at this step.

The person's voiceprint is deleted and their address and names enter the ledger as hashes, so later
reprocessing never brings them back. One audit row per run holds counts only.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from dealtalk.pipeline.documents import BlobRef, InsightsDoc, MeetingInfo, TranscriptDoc
from dealtalk.pipeline.errors import DealtalkError, InvalidInput
from dealtalk.pipeline.events import InsightsReady, TranscriptReady
from dealtalk.pipeline.gdpr.audio import silence_spans
from dealtalk.pipeline.gdpr.audit import record_audit
from dealtalk.pipeline.gdpr.identity import Person, name_pattern, scrub
from dealtalk.pipeline.gdpr.ledger import open_erasure
from dealtalk.pipeline.gdpr.records import (
    EventRewrite,
    blob_refs_of,
    busy_stage,
    recordings_of,
    rewrite_stored_events,
)
from dealtalk.pipeline.gdpr.redact import (
    Redaction,
    redact_insights,
    redact_meeting,
    redact_transcript,
    speakers_of,
)
from dealtalk.pipeline.gdpr.remote import published_item
from dealtalk.pipeline.store.projections import save_insights, save_transcript
from dealtalk.pipeline.store.schema import (
    ActionItemRow,
    BusMessageRow,
    CallRow,
    DeadLetterRow,
    DeliveryRow,
    ErasureRow,
    ErasureTaskRow,
    InsightRow,
    LinkRow,
    PublicationRow,
    RecordingRow,
    RiskRow,
    SegmentRow,
    SpeakerRow,
    StageResultRow,
    WordRow,
    utcnow,
)

if TYPE_CHECKING:
    from dealtalk.pipeline.resources import Resources

__all__ = ["ErasureReport", "erase_person", "valid_email"]

logger = logging.getLogger(__name__)

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def valid_email(email: str) -> str:
    """The address, stripped; raises ``InvalidInput`` when it is not one."""
    if not _EMAIL.fullmatch(email.strip()):
        raise InvalidInput("--email must be an e-mail address (name@domain.tld)")
    return email.strip()


@dataclass(slots=True)
class ErasureReport:
    """What one run did. ``status``: done, incomplete (busy or CRM failures: run again), unknown, dry_run."""

    subject_hash: str
    policy: str
    status: str = "done"
    recordings: list[str] = field(default_factory=list)
    busy: dict[str, str] = field(default_factory=dict)
    crm_failed: dict[str, str] = field(default_factory=dict)
    # Transcribed calls they attended where no speaker was theirs: their voice and words stay, unnamed.
    unlocated: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, counts: dict[str, int]) -> None:
        for key, value in counts.items():
            self.counts[key] = self.counts.get(key, 0) + value


def erase_person(resources: Resources, email: str, *, actor: str, dry_run: bool = False) -> ErasureReport:
    """Erase everything held about ``email`` (see the module docstring); safe to run again (idempotent).

    Args:
        resources: the process's store, blob store, publisher and settings.
        email: the person's address.
        actor: who asked (the audit log's ``actor``): ``cli:alice``, ``api:<user id>``.
        dry_run: count what would be erased, change nothing.

    Returns:
        The report; ``status == "unknown"`` when nothing about the address is held or was ever erased.

    Raises:
        InvalidInput: ``email`` is not an e-mail address.
    """
    from dealtalk.transcription.voiceprints import FileVoiceprintStore

    person = Person(valid_email(email))
    policy = resources.settings.gdpr.erase_whole_recordings
    report = ErasureReport(subject_hash=person.subject_hash, policy=policy)
    voiceprints = FileVoiceprintStore(resources.settings.data_dir / "voiceprints")
    database = resources.database
    with database.session() as session:
        found, person = recordings_of(session, person)
        known = session.get(ErasureRow, person.subject_hash) is not None
        open_tasks = list(
            session.scalars(
                select(ErasureTaskRow.recording_id).where(
                    ErasureTaskRow.subject_hash == person.subject_hash, ErasureTaskRow.state != "done"
                )
            )
        )
    has_print = (voiceprints.root / f"{voiceprints.key(person.email)}.json").is_file()
    report.recordings = list(dict.fromkeys([*found, *open_tasks]))
    if not report.recordings and not known and not has_print:
        report.status = "unknown"
        return report
    if dry_run:
        report.status = "dry_run"
        with database.session() as session:
            for recording_id in report.recordings:
                report.add(_would_erase(resources, session, person, recording_id))
        report.counts["voiceprints"] = int(has_print)
        with database.session() as session:
            record_audit(
                session, action="gdpr.erase", actor=actor, detail={**_audit_detail(report), "dry_run": True}
            )
        return report
    with database.session() as session:
        open_erasure(session, person, actor=actor)  # from here on, the stages' guard redacts them
    for recording_id in report.recordings:
        _erase_recording(resources, person, recording_id, report)
    report.counts["voiceprints"] = int(voiceprints.delete(person.email))
    report.status = "incomplete" if report.busy or report.crm_failed else "done"
    with database.session() as session:
        ledger = session.get(ErasureRow, person.subject_hash)
        assert ledger is not None
        ledger.status = report.status
        ledger.completed_at = utcnow() if report.status == "done" else None
        record_audit(session, action="gdpr.erase", actor=actor, detail=_audit_detail(report))
    logger.info(
        "gdpr erase subject=%s status=%s recordings=%d busy=%d crm_failed=%d",
        person.subject_hash[:12],
        report.status,
        len(report.recordings),
        len(report.busy),
        len(report.crm_failed),
    )
    return report


def _audit_detail(report: ErasureReport) -> dict[str, Any]:
    return {
        "subject_sha256": report.subject_hash,
        "policy": report.policy,
        "status": report.status,
        "recordings": len(report.recordings),
        "busy": len(report.busy),
        "crm_failed": len(report.crm_failed),
        "unlocated": len(report.unlocated),
        **report.counts,
    }


def _task(session: Session, person: Person, recording_id: str) -> ErasureTaskRow:
    task = session.get(ErasureTaskRow, (person.subject_hash, recording_id))
    if task is None:
        task = ErasureTaskRow(
            subject_hash=person.subject_hash,
            recording_id=recording_id,
            state="pending",
            remote_attempts=0,
            pending_blobs=[],
        )
        session.add(task)
    return task


def _erase_recording(resources: Resources, person: Person, recording_id: str, report: ErasureReport) -> None:
    database, blobs = resources.database, resources.blobs
    whole = report.policy == "whole"
    with database.session() as session:
        task = _task(session, person, recording_id)
        if task.state == "pending":
            topic = busy_stage(session, recording_id)
            if topic is not None:
                report.busy[recording_id] = topic
                return
            counts, pending = (
                _delete_recording(session, recording_id)
                if whole
                else _redact(resources, session, person, recording_id)
            )
            if counts.pop("unlocated", 0):
                report.unlocated.append(recording_id)
            report.add(counts)
            task.pending_blobs = sorted(pending)
            task.state = "stored"
    with database.session() as session:
        task = _task(session, person, recording_id)
        removed = sum(blobs.delete(sha) for sha in task.pending_blobs)
        report.add({"blobs_deleted": removed})
        task.pending_blobs = []
        if task.state == "done":
            return
    try:
        if whole:
            sent = resources.publisher().withdraw(recording_id=recording_id)
        else:
            with database.session() as session:
                item = published_item(session, blobs, recording_id)
            # The CRM is called outside any transaction: retries must not hold the store's write lock.
            sent = item is not None and bool(
                resources.publisher().publish(
                    item.result, recording_id=recording_id, meeting=item.meeting, link=item.link
                )
            )
    except DealtalkError as exc:
        report.crm_failed[recording_id] = exc.message
        with database.session() as session:
            task = _task(session, person, recording_id)
            task.remote_attempts += 1
            task.last_error = exc.message[:2000]
        logger.warning(
            "gdpr erase: CRM update failed recording=%s error=%s", recording_id, type(exc).__name__
        )
        return
    report.add({"crm_activities": int(sent)})
    with database.session() as session:
        task = _task(session, person, recording_id)
        task.state, task.last_error = "done", None


def _delete_recording(session: Session, recording_id: str) -> tuple[dict[str, int], set[str]]:
    """Policy "whole": every row and stored event of the recording; the blobs it used are returned."""
    shas = blob_refs_of(session, recording_id)
    recording = session.get(RecordingRow, recording_id)
    if recording is not None and recording.audio_sha256:
        shas.add(recording.audio_sha256)
    call, insight = session.get(CallRow, recording_id), session.get(InsightRow, recording_id)
    shas |= {call.transcript_sha256} if call else set()
    shas |= {insight.insights_sha256} if insight else set()
    counts = {
        "segments": _count(session, SegmentRow, recording_id),
        "recordings_deleted": int(recording is not None),
    }
    for table in (
        WordRow,
        SegmentRow,
        SpeakerRow,
        RiskRow,
        ActionItemRow,
        InsightRow,
        CallRow,
        LinkRow,
        PublicationRow,
    ):
        session.execute(delete(table).where(table.recording_id == recording_id))
    session.execute(delete(StageResultRow).where(StageResultRow.recording_id == recording_id))
    session.execute(delete(BusMessageRow).where(BusMessageRow.key == recording_id))
    session.execute(delete(DeadLetterRow).where(DeadLetterRow.recording_id == recording_id))
    session.execute(delete(DeliveryRow).where(DeliveryRow.recording_id == recording_id))
    session.execute(delete(RecordingRow).where(RecordingRow.recording_id == recording_id))
    return counts, shas


def _count(session: Session, table: Any, recording_id: str) -> int:
    return len(session.scalars(select(table.recording_id).where(table.recording_id == recording_id)).all())


def _doc(resources: Resources, sha256: str | None, model: Any) -> Any:
    if not sha256 or not resources.blobs.exists(BlobRef(sha256=sha256, size_bytes=0)):
        return None
    return model.model_validate_json(
        resources.blobs.local_path(BlobRef(sha256=sha256, size_bytes=0)).read_bytes()
    )


def _would_erase(resources: Resources, session: Session, person: Person, recording_id: str) -> dict[str, int]:
    call = session.get(CallRow, recording_id)
    doc: TranscriptDoc | None = _doc(resources, call.transcript_sha256 if call else None, TranscriptDoc)
    if doc is None:
        return {"recordings": 1, "segments": 0}
    speakers = speakers_of(
        doc, lambda email, name: person.matches(email=email, name=name if not email else None)
    )
    return {"recordings": 1, "segments": sum(s.speaker in speakers for s in doc.segments)}


def _redact(
    resources: Resources, session: Session, person: Person, recording_id: str
) -> tuple[dict[str, int], set[str]]:
    """Policy "segments": the person out of one recording, everyone else kept (see the module docstring)."""
    blobs = resources.blobs
    recording = session.get(RecordingRow, recording_id)
    if recording is None:
        return {}, set()
    meeting = MeetingInfo.model_validate(recording.meeting)
    call, insight = session.get(CallRow, recording_id), session.get(InsightRow, recording_id)
    doc: TranscriptDoc | None = _doc(resources, call.transcript_sha256 if call else None, TranscriptDoc)

    def is_subject(email: str | None, name: str) -> bool:
        return person.matches(email=email, name=name if not email else None)

    speakers = speakers_of(doc, is_subject) if doc else frozenset()
    names = [s.name for s in doc.speakers if s.id in speakers] if doc else []
    person = person.with_names([*names, *person.names_in(meeting)])
    pattern = name_pattern(person.names, [person.email])
    redaction = Redaction(speakers=speakers, pattern=pattern)
    new_meeting = redact_meeting(meeting, is_subject, pattern)
    mapping: dict[str, BlobRef | None] = dict.fromkeys(_teams_transcripts(session, recording_id))
    counts = {"recordings_redacted": 1, "speakers": len(speakers)}
    audio = BlobRef(sha256=recording.audio_sha256 or "0" * 64, size_bytes=recording.audio_size_bytes or 0)
    if doc is not None and speakers and blobs.exists(audio):
        spans = [(s.start, s.end) for s in doc.segments if s.speaker in speakers]
        spans += [(w.start, w.end) for s in doc.segments for w in s.words if w.speaker in speakers]
        data, seconds = silence_spans(
            blobs.local_path(audio), spans, max_duration_s=resources.settings.speech.max_duration_s
        )
        new_audio = blobs.put_bytes(data, content_type="audio/flac")
        mapping[audio.sha256] = new_audio
        recording.audio_sha256, recording.audio_size_bytes = new_audio.sha256, new_audio.size_bytes
        audio = new_audio
        counts["audio_seconds_silenced"] = round(seconds)
    elif doc is None and blobs.exists(audio):
        # Never transcribed (failed, refused for consent): their speech cannot be located, so the audio goes.
        mapping[audio.sha256] = None
        counts["audio_deleted_untranscribed"] = 1
    status = recording.status
    if doc is not None and not speakers:
        counts["unlocated"] = 1
    if doc is not None and call is not None:
        new_doc = redact_transcript(doc, redaction)
        transcript_ref = blobs.put_bytes(new_doc.model_dump_json().encode(), content_type="application/json")
        mapping[call.transcript_sha256] = transcript_ref
        counts["segments_erased"] = sum(s.speaker in speakers for s in doc.segments)
        ready = TranscriptReady(
            recording_id=recording_id,
            trace_id=recording.trace_id,
            transcript=transcript_ref,
            audio=audio,
            meeting=new_meeting,
            language=new_doc.language,
            duration_s=new_doc.duration_s,
            models=new_doc.models,
        )
        save_transcript(session, ready, new_doc, version=call.version)
        insights: InsightsDoc | None = _doc(
            resources, insight.insights_sha256 if insight else None, InsightsDoc
        )
        if insights is not None and insight is not None:
            new_insights = redact_insights(insights, new_doc, redaction)
            insights_ref = blobs.put_bytes(
                new_insights.model_dump_json().encode(), content_type="application/json"
            )
            mapping[insight.insights_sha256] = insights_ref
            counts["risk_quotes_erased"] = sum(
                r.quote != n.quote for r, n in zip(insights.risks, new_insights.risks, strict=True)
            )
            save_insights(
                session,
                InsightsReady(
                    **ready.follow(), transcript=transcript_ref, insights=insights_ref, meeting=new_meeting
                ),
                new_insights,
                version=insight.version,
            )
    session.execute(
        update(RecordingRow)
        .where(RecordingRow.recording_id == recording_id)
        .values(status=status, meeting=new_meeting.model_dump(mode="json"))
    )
    link = session.get(LinkRow, recording_id)
    if link is not None:
        link.detail = scrub(link.detail, pattern)
    counts["stored_events_rewritten"] = rewrite_stored_events(
        session, recording_id, EventRewrite(new_meeting, mapping, pattern)
    )
    return counts, {old for old, new in mapping.items() if new is None or new.sha256 != old}


def _teams_transcripts(session: Session, recording_id: str) -> set[str]:
    """Teams VTT transcripts of the recording (names and everyone's words: removed, never redacted)."""
    from dealtalk.pipeline.events import AudioStored, parse_event

    shas = set()
    for payload in session.scalars(
        select(StageResultRow.output_event).where(
            StageResultRow.recording_id == recording_id, StageResultRow.stage == "fetch"
        )
    ):
        event = parse_event(payload)
        if isinstance(event, AudioStored) and event.teams_transcript is not None:
            shas.add(event.teams_transcript.sha256)
    return shas
