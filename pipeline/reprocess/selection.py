"""Which stored calls a run takes: by date range, opportunity, language, producing model, or failed ones."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from dealtalk.pipeline.store import Database
from dealtalk.pipeline.store.schema import CallRow, LinkRow, RecordingRow

__all__ = ["CallSelection", "select_calls"]


@dataclass(frozen=True, slots=True)
class CallSelection:
    """Filters that all must hold (None: no filter on that field).

    Attributes:
        since, until: the call's date (meeting start, else discovery), both inclusive.
        opportunity: the linked opportunity id.
        language: the stored transcript's language ("nl", "en").
        model: a part of the ASR model name or of the transcript version that produced the stored result.
        failed: only recordings whose last run failed (``failed:<stage>``).
        recording_ids: only these recordings.
    """

    since: date | None = None
    until: date | None = None
    opportunity: str | None = None
    language: str | None = None
    model: str | None = None
    failed: bool = False
    recording_ids: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["since"] = self.since.isoformat() if self.since else None
        data["until"] = self.until.isoformat() if self.until else None
        data["recording_ids"] = list(self.recording_ids)
        return data


def select_calls(database: Database, selection: CallSelection) -> list[str]:
    """The recording ids that match, oldest call first."""
    query = (
        select(RecordingRow, CallRow, LinkRow)
        .outerjoin(CallRow, CallRow.recording_id == RecordingRow.recording_id)
        .outerjoin(LinkRow, LinkRow.recording_id == RecordingRow.recording_id)
    )
    if selection.failed:
        query = query.where(RecordingRow.status.like("failed%"))
    if selection.opportunity:
        query = query.where(LinkRow.opportunity_id == selection.opportunity)
    if selection.language:
        query = query.where(CallRow.language == selection.language)
    if selection.recording_ids:
        query = query.where(RecordingRow.recording_id.in_(selection.recording_ids))
    with database.session() as session:
        rows = session.execute(query).all()
    chosen: list[tuple[date, str]] = []
    for recording, call, _link in rows:
        when = _call_date(recording)
        if selection.since and when < selection.since:
            continue
        if selection.until and when > selection.until:
            continue
        if selection.model and not _made_by(call, selection.model):
            continue
        chosen.append((when, recording.recording_id))
    return [recording_id for _when, recording_id in sorted(chosen)]


def _call_date(recording: RecordingRow) -> date:
    start = (recording.meeting or {}).get("start_time")
    if isinstance(start, str):
        try:
            return datetime.fromisoformat(start).date()
        except ValueError:
            pass
    return recording.discovered_at.date()


def _made_by(call: CallRow | None, model: str) -> bool:
    if call is None:
        return False
    asr = (call.models or {}).get("asr") or {}
    needle = model.lower()
    return needle in str(asr.get("name", "")).lower() or needle in call.version.lower()
