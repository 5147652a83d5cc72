"""Read queries the stages and the CLI need (each opens its own short transaction)."""

from __future__ import annotations

from sqlalchemy import select

from dealtalk.contracts.documents import OpportunityLink
from dealtalk.pipeline.store.engine import Database
from dealtalk.pipeline.store.schema import LinkRow, RecordingRow

__all__ = ["linked_opportunity", "manual_link", "recording_with_audio"]


def recording_with_audio(database: Database, sha256: str) -> str | None:
    """The recording that already holds this audio, if any."""
    with database.session() as session:
        return session.scalar(select(RecordingRow.recording_id).where(RecordingRow.audio_sha256 == sha256))


def manual_link(database: Database, recording_id: str) -> OpportunityLink | None:
    """The link a person made with ``dealtalk link``, which wins over automatic resolution."""
    with database.session() as session:
        row = session.get(LinkRow, recording_id)
        if row is None or row.method != "manual":
            return None
        return OpportunityLink(
            opportunity_id=row.opportunity_id,
            method="manual",
            detail=row.detail,
            opportunity_name=row.opportunity_name,
            account_name=row.account_name,
        )


def linked_opportunity(database: Database, recording_id: str) -> str | None:
    """The opportunity a recording is linked to (by resolution or by hand); None when unlinked or unknown."""
    with database.session() as session:
        row = session.get(LinkRow, recording_id)
        return row.opportunity_id if row is not None else None
