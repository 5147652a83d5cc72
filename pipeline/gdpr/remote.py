"""The CRM side of an erasure: the activity of a redacted call is published again (an upsert by recording id,
so it is updated in place), the activity of a deleted recording is withdrawn; the dry-run outbox likewise."""

from __future__ import annotations

from sqlalchemy.orm import Session

from dealtalk.pipeline.blobs import BlobStore
from dealtalk.pipeline.documents import BlobRef, CallResult, InsightsDoc, MeetingInfo, TranscriptDoc
from dealtalk.pipeline.store.schema import CallRow, InsightRow, LinkRow, PublicationRow, RecordingRow
from dealtalk.publisher.protocols import ActivityPublisher, OpportunityLink

__all__ = ["update_activity"]


def _read(blobs: BlobStore, sha256: str) -> bytes:
    # The store's rows hold the content address only; the size check of read_bytes needs the claim check.
    return blobs.local_path(BlobRef(sha256=sha256, size_bytes=0)).read_bytes()


def update_activity(
    session: Session, blobs: BlobStore, publisher: ActivityPublisher, recording_id: str
) -> bool:
    """Publish the recording's (redacted) insights again where they were published; True when sent.

    Raises:
        TransientError / RetryLater / InvalidInput: as ``ActivityPublisher.publish``.
    """
    publication = session.get(PublicationRow, recording_id)
    recording = session.get(RecordingRow, recording_id)
    call = session.get(CallRow, recording_id)
    insight = session.get(InsightRow, recording_id)
    link_row = session.get(LinkRow, recording_id)
    if (
        publication is None
        or publication.status != "published"
        or None in (recording, call, insight, link_row)
    ):
        return False
    assert recording is not None and call is not None and insight is not None and link_row is not None
    transcript = TranscriptDoc.model_validate_json(_read(blobs, call.transcript_sha256))
    insights = InsightsDoc.model_validate_json(_read(blobs, insight.insights_sha256))
    link = OpportunityLink(
        opportunity_id=link_row.opportunity_id,
        method=link_row.method,  # type: ignore[arg-type]
        detail=link_row.detail,
        opportunity_name=link_row.opportunity_name,
        account_name=link_row.account_name,
    )
    publisher.publish(
        CallResult.join(transcript, insights),
        recording_id=recording_id,
        meeting=MeetingInfo.model_validate(recording.meeting),
        link=link,
    )
    return True
