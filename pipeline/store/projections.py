"""Projections: each stage's output written into queryable rows (idempotent: replace by recording id).

These run inside the runtime's transaction together with the stage-result record and the bus hand-over, so the
rows, the result and the next event are stored together or not at all.
"""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from dealtalk.contracts.documents import InsightsDoc, MeetingInfo, TranscriptDoc
from dealtalk.contracts.events import (
    AudioStored,
    CallPublished,
    InsightsReady,
    RecordingDiscovered,
    TranscriptReady,
)
from dealtalk.pipeline.store.rollups import refresh_call
from dealtalk.pipeline.store.schema import (
    ActionItemRow,
    CallRow,
    InsightRow,
    LinkRow,
    PublicationRow,
    RecordingRow,
    RiskRow,
    SegmentRow,
    SpeakerRow,
    WordRow,
    utcnow,
)

__all__ = [
    "mark_failed",
    "save_audio",
    "save_discovered",
    "save_insights",
    "save_publication",
    "save_transcript",
]


def save_discovered(session: Session, event: RecordingDiscovered) -> bool:
    """Register a discovered recording; False when it was already known (nothing changes then)."""
    if session.get(RecordingRow, event.recording_id) is not None:
        return False
    session.add(
        _recording_row(event.recording_id, event.trace_id, event.source, event.source_ref, event.meeting)
    )
    return True


def save_audio(session: Session, discovered: RecordingDiscovered, stored: AudioStored) -> None:
    row = session.get(RecordingRow, discovered.recording_id)
    if row is None:  # discovered on another host (Kafka): the fetch stage is the first to see it here
        row = _recording_row(
            discovered.recording_id,
            discovered.trace_id,
            discovered.source,
            discovered.source_ref,
            discovered.meeting,
        )
        session.add(row)
    row.audio_sha256 = stored.audio.sha256
    row.audio_size_bytes = stored.audio.size_bytes
    row.status = "audio_stored"
    row.meeting = stored.meeting.model_dump(mode="json")


def save_transcript(session: Session, ready: TranscriptReady, doc: TranscriptDoc, *, version: str) -> None:
    recording_id = ready.recording_id
    for table in (WordRow, SegmentRow, SpeakerRow):
        session.execute(delete(table).where(table.recording_id == recording_id))
    session.execute(delete(CallRow).where(CallRow.recording_id == recording_id))
    session.add(
        CallRow(
            recording_id=recording_id,
            language=doc.language,
            duration_s=doc.duration_s,
            transcript_sha256=ready.transcript.sha256,
            version=version,
            models={key: ref.model_dump() for key, ref in doc.models.items()},
            warnings=list(doc.warnings),
        )
    )
    session.add_all(
        SpeakerRow(recording_id=recording_id, speaker_id=s.id, name=s.name, email=s.email, role=s.role)
        for s in doc.speakers
    )
    for index, segment in enumerate(doc.segments):
        session.add(
            SegmentRow(
                recording_id=recording_id,
                idx=index,
                start_s=segment.start,
                end_s=segment.end,
                speaker_id=segment.speaker,
                role=segment.role,
                language=segment.language,
                text=segment.text,
            )
        )
        session.add_all(
            WordRow(
                recording_id=recording_id,
                segment_idx=index,
                idx=word_index,
                start_s=word.start,
                end_s=word.end,
                word=word.word[:200],
                speaker_id=word.speaker,
                probability=word.probability,
            )
            for word_index, word in enumerate(segment.words)
        )
    # The meeting as the transcribe stage passed it on (without erased or non-consenting people).
    session.execute(
        update(RecordingRow)
        .where(RecordingRow.recording_id == recording_id)
        .values(meeting=ready.meeting.model_dump(mode="json"))
    )
    _set_status(session, recording_id, "transcribed")


def save_insights(session: Session, ready: InsightsReady, doc: InsightsDoc, *, version: str) -> None:
    with refresh_call(session, ready.recording_id):  # the risk rollups follow the call's risk signals
        _save_insights(session, ready, doc, version=version)


def _save_insights(session: Session, ready: InsightsReady, doc: InsightsDoc, *, version: str) -> None:
    recording_id = ready.recording_id
    for table in (RiskRow, ActionItemRow):
        session.execute(delete(table).where(table.recording_id == recording_id))
    session.execute(delete(InsightRow).where(InsightRow.recording_id == recording_id))
    session.add(
        InsightRow(
            recording_id=recording_id,
            insights_sha256=ready.insights.sha256,
            version=version,
            kpis=doc.kpis.model_dump(mode="json"),
            summary=doc.summary,
            health_score=doc.health.score,
            health=doc.health.model_dump(mode="json"),
            entities=[e.model_dump(mode="json") for e in doc.entities],
            models={key: ref.model_dump() for key, ref in doc.models.items()},
        )
    )
    session.add_all(
        RiskRow(
            recording_id=recording_id,
            type=r.type,
            severity=r.severity,
            confidence=r.confidence,
            speaker_id=r.speaker,
            start_s=r.start,
            end_s=r.end,
            quote=r.quote,
            segment_index=r.segment_index,
            source=r.source,
            explanation=r.explanation,
            evidence_quality=r.evidence_quality,
        )
        for r in doc.risks
    )
    session.add_all(
        ActionItemRow(
            recording_id=recording_id,
            text=a.text,
            owner=a.owner,
            due=a.due,
            start_s=a.start,
            segment_index=a.segment_index,
        )
        for a in doc.action_items
    )
    for index, sentiment in enumerate(doc.sentiments):
        session.execute(
            update(SegmentRow)
            .where(SegmentRow.recording_id == recording_id, SegmentRow.idx == index)
            .values(sentiment_label=sentiment.label, sentiment_score=sentiment.score)
        )
    _set_status(session, recording_id, "analyzed")


def save_publication(session: Session, published: CallPublished) -> None:
    recording_id = published.recording_id
    with refresh_call(session, recording_id):  # the risk rollups count per opportunity and account
        link = session.get(LinkRow, recording_id)
        if link is None:
            link = LinkRow(recording_id=recording_id)
            session.add(link)
        link.opportunity_id = published.opportunity_id
        link.method = published.link_method
        link.detail = published.link_detail
        link.opportunity_name = published.opportunity_name
        link.account_name = published.account_name
        link.linked_at = utcnow()
    publication = session.get(PublicationRow, recording_id)
    if publication is None:
        publication = PublicationRow(recording_id=recording_id, publish_count=0)
        session.add(publication)
    publication.status = published.status
    publication.activity_id = published.activity_id
    publication.opportunity_id = published.opportunity_id
    publication.target = published.target
    publication.publish_count = (publication.publish_count or 0) + int(published.status == "published")
    publication.published_at = utcnow()
    _set_status(session, recording_id, published.status)


def mark_failed(session: Session, recording_id: str, stage: str) -> None:
    status = session.scalar(select(RecordingRow.status).where(RecordingRow.recording_id == recording_id))
    # A call refused for consent keeps that status: it did not fail, it may not be processed.
    if status is not None and status != "consent_withheld":
        _set_status(session, recording_id, f"failed:{stage}")


def _recording_row(
    recording_id: str, trace_id: str, source: str, source_ref: str, meeting: MeetingInfo
) -> RecordingRow:
    return RecordingRow(
        recording_id=recording_id,
        source=source,
        source_ref=source_ref,
        trace_id=trace_id,
        meeting=meeting.model_dump(mode="json"),
        status="discovered",
    )


def _set_status(session: Session, recording_id: str, status: str) -> None:
    session.execute(
        update(RecordingRow)
        .where(RecordingRow.recording_id == recording_id)
        .values(status=status, updated_at=utcnow())
    )
