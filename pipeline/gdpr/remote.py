"""The CRM side of an erasure: the activity of a redacted call is published again (an upsert by recording id,
so it is updated in place); ``ActivityPublisher.withdraw`` deletes the activity of a deleted recording."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from dealtalk.contracts.blobs import BlobStore
from dealtalk.contracts.documents import (
    BlobRef,
    CallResult,
    InsightsDoc,
    MeetingInfo,
    OpportunityLink,
    TranscriptDoc,
)
from dealtalk.pipeline.store.schema import CallRow, InsightRow, LinkRow, PublicationRow, RecordingRow

__all__ = ["PublishItem", "published_item"]


@dataclass(frozen=True, slots=True)
class PublishItem:
    """A call to publish again: its (redacted) result, its meeting and the link it was published with."""

    result: CallResult
    recording_id: str
    meeting: MeetingInfo
    link: OpportunityLink


def _read(blobs: BlobStore, sha256: str) -> bytes:
    # The store's rows hold the content address only; the size check of read_bytes needs the claim check.
    return blobs.local_path(BlobRef(sha256=sha256, size_bytes=0)).read_bytes()


def published_item(session: Session, blobs: BlobStore, recording_id: str) -> PublishItem | None:
    """What to publish again for a recording whose activity was published; None when it never was."""
    publication = session.get(PublicationRow, recording_id)
    recording = session.get(RecordingRow, recording_id)
    call = session.get(CallRow, recording_id)
    insight = session.get(InsightRow, recording_id)
    link_row = session.get(LinkRow, recording_id)
    if publication is None or publication.status != "published":
        return None
    if recording is None or call is None or insight is None or link_row is None:
        return None
    transcript = TranscriptDoc.model_validate_json(_read(blobs, call.transcript_sha256))
    insights = InsightsDoc.model_validate_json(_read(blobs, insight.insights_sha256))
    link = OpportunityLink(
        opportunity_id=link_row.opportunity_id,
        method=link_row.method,  # type: ignore[arg-type]
        detail=link_row.detail,
        opportunity_name=link_row.opportunity_name,
        account_name=link_row.account_name,
    )
    return PublishItem(
        result=CallResult.join(transcript, insights),
        recording_id=recording_id,
        meeting=MeetingInfo.model_validate(recording.meeting),
        link=link,
    )
