"""The store side of erasing one person from one recording (one transaction, the caller's): policy "segments"
rewrites the recording without them, policy "whole" deletes it. Both return counts and the blobs to delete
once the transaction has committed (see ``erasure``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from dealtalk.contracts.blobs import BlobStore
from dealtalk.contracts.documents import BlobRef, InsightsDoc, MeetingInfo, TranscriptDoc
from dealtalk.contracts.events import AudioStored, InsightsReady, TranscriptReady, parse_event
from dealtalk.pipeline.gdpr.audio import silence_spans
from dealtalk.pipeline.gdpr.identity import Person, name_pattern, scrub
from dealtalk.pipeline.gdpr.records import EventRewrite, blob_refs_of, rewrite_stored_events
from dealtalk.pipeline.gdpr.redact import (
    Redaction,
    redact_insights,
    redact_meeting,
    redact_transcript,
    speakers_of,
)
from dealtalk.pipeline.store.projections import save_insights, save_transcript
from dealtalk.pipeline.store.rollups import refresh_call
from dealtalk.pipeline.store.schema import (
    ActionItemRow,
    BusMessageRow,
    CallRow,
    DeadLetterRow,
    DeliveryRow,
    InsightRow,
    LinkRow,
    PublicationRow,
    RecordingRow,
    RiskRow,
    SegmentRow,
    SpeakerRow,
    StageResultRow,
    WordRow,
)

if TYPE_CHECKING:
    from dealtalk.pipeline.parts import AppParts

__all__ = ["delete_recording", "redact_recording", "store_transcript", "stored_doc"]


def delete_recording(session: Session, recording_id: str) -> tuple[dict[str, int], set[str]]:
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
    with refresh_call(session, recording_id):  # the API's risk rollups lose this call's signals too
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


def stored_doc(parts: AppParts, sha256: str | None, model: Any) -> Any:
    if not sha256 or not parts.blobs.exists(BlobRef(sha256=sha256, size_bytes=0)):
        return None
    return model.model_validate_json(
        parts.blobs.local_path(BlobRef(sha256=sha256, size_bytes=0)).read_bytes()
    )


def redact_recording(
    parts: AppParts, session: Session, person: Person, recording_id: str
) -> tuple[dict[str, int], set[str]]:
    """Policy "segments": the person out of one recording, everyone else kept (see the module docstring)."""
    blobs = parts.blobs
    recording = session.get(RecordingRow, recording_id)
    if recording is None:
        return {}, set()
    meeting = MeetingInfo.model_validate(recording.meeting)
    call, insight = session.get(CallRow, recording_id), session.get(InsightRow, recording_id)
    doc: TranscriptDoc | None = stored_doc(parts, call.transcript_sha256 if call else None, TranscriptDoc)

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
            blobs.local_path(audio), spans, max_duration_s=parts.settings.speech.max_duration_s
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
        counts["segments_erased"] = sum(s.speaker in speakers for s in doc.segments)
        ready = store_transcript(session, blobs, recording, new_doc, audio, new_meeting, version=call.version)
        mapping[call.transcript_sha256] = ready.transcript
        insights: InsightsDoc | None = stored_doc(
            parts, insight.insights_sha256 if insight else None, InsightsDoc
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
                    **ready.follow(), transcript=ready.transcript, insights=insights_ref, meeting=new_meeting
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


def store_transcript(
    session: Session,
    blobs: BlobStore,
    recording: RecordingRow,
    doc: TranscriptDoc,
    audio: BlobRef,
    meeting: MeetingInfo,
    *,
    version: str,
) -> TranscriptReady:
    """Put a rewritten transcript in the blob store and the store's rows (as the transcribe stage would)."""
    ref = blobs.put_bytes(doc.model_dump_json().encode(), content_type="application/json")
    ready = TranscriptReady(
        recording_id=recording.recording_id,
        trace_id=recording.trace_id,
        transcript=ref,
        audio=audio,
        meeting=meeting,
        language=doc.language,
        duration_s=doc.duration_s,
        models=doc.models,
    )
    save_transcript(session, ready, doc, version=version)
    return ready


def _teams_transcripts(session: Session, recording_id: str) -> set[str]:
    """Teams VTT transcripts of the recording (names and everyone's words: removed, never redacted)."""
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
