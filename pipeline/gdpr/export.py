"""Export for an access request (``dealtalk gdpr export --email``): everything held about one person.

Per call they took part in: the meeting as it names them, their speaker ids, every segment they spoke (time,
language, text, sentiment), the risks raised on their words (with quotes), their action items, their KPIs,
the opportunity link and the CRM activity; plus their voiceprint's metadata (not the embedding itself, which
is a biometric vector without meaning to a reader) and whether an erasure of them is on record.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from dealtalk.contracts.documents import BlobRef, InsightsDoc, MeetingInfo, TranscriptDoc
from dealtalk.pipeline.gdpr.audit import record_audit
from dealtalk.pipeline.gdpr.erasure import valid_email
from dealtalk.pipeline.gdpr.identity import Person
from dealtalk.pipeline.gdpr.records import recordings_of
from dealtalk.pipeline.gdpr.redact import speakers_of
from dealtalk.pipeline.store.schema import (
    CallRow,
    ErasureRow,
    InsightRow,
    LinkRow,
    PublicationRow,
    RecordingRow,
)

if TYPE_CHECKING:
    from dealtalk.pipeline.parts import AppParts

__all__ = ["EXPORT_FORMAT", "export_person"]

EXPORT_FORMAT = "dealtalk.gdpr-export/1"


def export_person(parts: AppParts, email: str, *, actor: str) -> dict[str, Any] | None:
    """Everything held about ``email`` as one JSON-ready object; None when nothing is held.

    Raises:
        InvalidInput: ``email`` is not an e-mail address.
    """
    from dealtalk.transcription.voiceprints import FileVoiceprintStore

    person = Person(valid_email(email))
    store = FileVoiceprintStore(parts.settings.data_dir / "voiceprints")
    path = store.root / f"{store.key(person.email)}.json"
    voiceprint = None
    if path.is_file():
        data = json.loads(path.read_text(encoding="utf-8"))
        voiceprint = {
            "name": data.get("name"),
            "calls_enrolled": data.get("calls"),
            "embedding_model_sha256": data.get("model_sha256"),
            "dimensions": len(data.get("embedding") or []),
        }
    with parts.database.session() as session:
        found, person = recordings_of(session, person)
        calls = [_call(parts, session, person, recording_id) for recording_id in found]
        erasure = session.get(ErasureRow, person.subject_hash)
        if not calls and voiceprint is None and erasure is None:
            return None
        export = {
            "format": EXPORT_FORMAT,
            "subject": {"email": person.email, "names": list(person.names)},
            "generated_at": datetime.now(UTC).isoformat(),
            "calls": calls,
            "voiceprint": voiceprint,
            "erasure": None
            if erasure is None
            else {"status": erasure.status, "requested_at": erasure.requested_at.isoformat()},
        }
        record_audit(
            session,
            action="gdpr.export",
            actor=actor,
            detail={
                "subject_sha256": person.subject_hash,
                "calls": len(calls),
                "segments": sum(len(c["segments"]) for c in calls),
                "risks": sum(len(c["risks"]) for c in calls),
                "voiceprint": voiceprint is not None,
            },
        )
    return export


def _doc(parts: AppParts, sha256: str, model: Any) -> Any:
    ref = BlobRef(sha256=sha256, size_bytes=0)
    if not parts.blobs.exists(ref):
        return None
    return model.model_validate_json(parts.blobs.local_path(ref).read_bytes())


def _call(parts: AppParts, session: Session, person: Person, recording_id: str) -> dict[str, Any]:
    recording = session.get(RecordingRow, recording_id)
    assert recording is not None
    meeting = MeetingInfo.model_validate(recording.meeting)
    call, insight = session.get(CallRow, recording_id), session.get(InsightRow, recording_id)
    doc: TranscriptDoc | None = _doc(parts, call.transcript_sha256, TranscriptDoc) if call else None
    insights: InsightsDoc | None = _doc(parts, insight.insights_sha256, InsightsDoc) if insight else None

    def is_subject(email: str | None, name: str) -> bool:
        return person.matches(email=email, name=name if not email else None)

    speakers = speakers_of(doc, is_subject) if doc else frozenset()
    sentiments = insights.sentiments if insights else ()
    segments = [
        {
            "index": index,
            "start": s.start,
            "end": s.end,
            "speaker": s.speaker,
            "language": s.language,
            "text": s.text,
            "sentiment": sentiments[index].model_dump() if index < len(sentiments) else None,
        }
        for index, s in enumerate(doc.segments if doc else ())
        if s.speaker in speakers
    ]
    link, publication = session.get(LinkRow, recording_id), session.get(PublicationRow, recording_id)
    return {
        "recording_id": recording_id,
        "subject": meeting.subject,
        "start_time": meeting.start_time.isoformat() if meeting.start_time else None,
        "status": recording.status,
        "as_participant": [
            p.model_dump(mode="json") for p in meeting.participants if is_subject(p.email, p.name)
        ],
        "speakers": [s.model_dump(mode="json") for s in (doc.speakers if doc else ()) if s.id in speakers],
        "segments": segments,
        "risks": [
            r.model_dump(mode="json") for r in (insights.risks if insights else ()) if r.speaker in speakers
        ],
        "action_items": [
            a.model_dump(mode="json")
            for a in (insights.action_items if insights else ())
            if a.owner in speakers
        ],
        "kpis": {
            s: k.model_dump(mode="json")
            for s, k in (insights.kpis.per_speaker.items() if insights else ())
            if s in speakers
        },
        "opportunity": None if link is None else {"id": link.opportunity_id, "name": link.opportunity_name},
        "crm_activity": None
        if publication is None
        else {"id": publication.activity_id, "status": publication.status},
        "audio_retained": recording.audio_expired_at is None,
        "transcript_retained": recording.transcript_expired_at is None,
    }
