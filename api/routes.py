"""Analysts' queries: calls, one call's result, and risk signals across calls with their evidence."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import HTMLResponse
from pydantic import AwareDatetime, BaseModel
from sqlalchemy import select

from dealtalk.api.deps import ResourcesDep
from dealtalk.api.report_html import render_report
from dealtalk.pipeline.documents import CallResult, RiskLabel
from dealtalk.pipeline.manual_link import link_call
from dealtalk.pipeline.outcomes import load_outcome
from dealtalk.pipeline.store.schema import LinkRow, RecordingRow, RiskRow

__all__ = ["router"]

router = APIRouter()


class CallSummary(BaseModel):
    call_id: str
    status: str
    subject: str | None
    discovered_at: datetime
    opportunity_id: str | None
    link_method: str | None


class RiskSignal(BaseModel):
    call_id: str
    type: str
    severity: str
    confidence: float
    speaker: str
    start: float
    end: float
    quote: str
    segment_index: int
    source: str
    explanation: str
    opportunity_id: str | None
    call_started_at: str | None


class LinkRequest(BaseModel):
    opportunity_id: str


@router.get("/calls", response_model=list[CallSummary])
def list_calls(
    resources: ResourcesDep,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[CallSummary]:
    query = (
        select(RecordingRow, LinkRow)
        .outerjoin(LinkRow, LinkRow.recording_id == RecordingRow.recording_id)
        .order_by(RecordingRow.discovered_at.desc())
        .limit(limit)
    )
    if status:
        query = query.where(RecordingRow.status == status)
    with resources.database.session() as session:
        rows = session.execute(query).all()
    return [
        CallSummary(
            call_id=r.recording_id,
            status=r.status,
            subject=(r.meeting or {}).get("subject"),
            discovered_at=r.discovered_at,
            opportunity_id=link.opportunity_id if link else None,
            link_method=link.method if link else None,
        )
        for r, link in rows
    ]


@router.get("/calls/{call_id}", response_model=CallResult)
def get_call(call_id: str, resources: ResourcesDep) -> CallResult:
    outcome = load_outcome(resources.database, resources.blobs, call_id)
    if outcome.result is None:
        raise HTTPException(status_code=404, detail=f"no analysed call {call_id} (status: {outcome.status})")
    return outcome.result


@router.get("/calls/{call_id}/report", response_class=HTMLResponse)
def get_report(call_id: str, resources: ResourcesDep) -> HTMLResponse:
    """The call report page that the Dynamics 365 activity links to."""
    outcome = load_outcome(resources.database, resources.blobs, call_id)
    if outcome.result is None:
        raise HTTPException(status_code=404, detail=f"no analysed call {call_id} (status: {outcome.status})")
    return HTMLResponse(render_report(outcome.result, subject=outcome.subject))


@router.post("/calls/{call_id}/link")
def link_call_route(call_id: str, body: LinkRequest, resources: ResourcesDep) -> dict[str, Any]:
    link = link_call(resources, call_id, body.opportunity_id, actor="api")
    return {"call_id": call_id, "opportunity_id": link.opportunity_id, "method": link.method, "queued": True}


@router.get("/risks", response_model=list[RiskSignal])
def query_risks(
    resources: ResourcesDep,
    type: RiskLabel | None = None,
    severity: Literal["low", "medium", "high"] | None = None,
    opportunity_id: str | None = None,
    min_confidence: Annotated[float, Query(ge=0.0, le=1.0)] = 0.0,
    since: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[RiskSignal]:
    """Risk signals with the exact quote and time, filterable by type, severity, opportunity and date."""
    query = (
        select(RiskRow, LinkRow.opportunity_id, RecordingRow.meeting)
        .join(RecordingRow, RecordingRow.recording_id == RiskRow.recording_id)
        .outerjoin(LinkRow, LinkRow.recording_id == RiskRow.recording_id)
        .where(RiskRow.confidence >= min_confidence)
        .order_by(RecordingRow.discovered_at.desc(), RiskRow.start_s)
        .limit(limit)
    )
    if type:
        query = query.where(RiskRow.type == type)
    if severity:
        query = query.where(RiskRow.severity == severity)
    if opportunity_id:
        query = query.where(LinkRow.opportunity_id == opportunity_id)
    if since:
        query = query.where(RecordingRow.discovered_at >= since)
    with resources.database.session() as session:
        rows = session.execute(query).all()
    return [
        RiskSignal(
            call_id=risk.recording_id,
            type=risk.type,
            severity=risk.severity,
            confidence=risk.confidence,
            speaker=risk.speaker_id,
            start=risk.start_s,
            end=risk.end_s,
            quote=risk.quote,
            segment_index=risk.segment_index,
            source=risk.source,
            explanation=risk.explanation,
            opportunity_id=opportunity,
            call_started_at=(meeting or {}).get("start_time"),
        )
        for risk, opportunity, meeting in rows
    ]
