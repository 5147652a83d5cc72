"""Where a recording stands: its status, call result, publication and (if any) why it failed."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from dealtalk.contracts.blobs import BlobStore
from dealtalk.contracts.documents import CallResult
from dealtalk.contracts.events import CallPublished, InsightsReady, parse_event
from dealtalk.pipeline.stages.publish import load_call_result
from dealtalk.pipeline.store import Database
from dealtalk.pipeline.store.schema import DeadLetterRow, RecordingRow, StageResultRow

__all__ = ["CallOutcome", "load_outcome"]


@dataclass(frozen=True, slots=True)
class CallOutcome:
    recording_id: str
    status: str
    subject: str | None
    result: CallResult | None
    published: CallPublished | None
    failure: str | None


def load_outcome(database: Database, blobs: BlobStore, recording_id: str) -> CallOutcome:
    """The newest results of each stage for one recording (None where a stage has not finished)."""
    with database.session() as session:
        recording = session.get(RecordingRow, recording_id)
        rows = session.scalars(
            select(StageResultRow)
            .where(StageResultRow.recording_id == recording_id)
            .order_by(StageResultRow.created_at)
        ).all()
        failure = session.scalar(
            select(DeadLetterRow.reason)
            .where(DeadLetterRow.recording_id == recording_id, DeadLetterRow.replayed.is_(False))
            .order_by(DeadLetterRow.id.desc())
            .limit(1)
        )
    newest = {row.stage: parse_event(row.output_event) for row in rows}
    insights = newest.get("analyze")
    published = newest.get("publish")
    result = load_call_result(blobs, insights) if isinstance(insights, InsightsReady) else None
    return CallOutcome(
        recording_id=recording_id,
        status=recording.status if recording else "unknown",
        subject=(recording.meeting or {}).get("subject") if recording else None,
        result=result,
        published=published if isinstance(published, CallPublished) else None,
        failure=failure,
    )
