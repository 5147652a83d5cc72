"""Feedback on risk signals (confirmed / rejected, by whom, when), the audit log, and the labelled-data export.

The export writes format 3 of the contracts (labelled utterances, JSON Lines) from the segments that carry
feedback, so ``dealtalk eval-nlp feedback.jsonl`` scores the models on what people confirmed or rejected.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from dealtalk.api.deps import ResourcesDep
from dealtalk.api.feedback_data import labelled_utterances
from dealtalk.api.filters import decode_cursor, encode_cursor
from dealtalk.api.problems import PROBLEM_RESPONSES, Problem
from dealtalk.api.routers.common import AdminDep, AnyRoleDep, ContextDep, PageSize, scope_of
from dealtalk.api.schemas import AuditEntry, FeedbackIn, FeedbackOut, Page
from dealtalk.pipeline.store.access import RiskFeedbackRow
from dealtalk.pipeline.store.schema import AuditRow, LinkRow, RiskRow

__all__ = ["router"]

router = APIRouter(responses=PROBLEM_RESPONSES)


@router.post(
    "/risks/{risk_id}/feedback",
    response_model=FeedbackOut,
    status_code=201,
    tags=["feedback"],
    responses={404: {"description": "No risk signal with this id that you may see"}},
    summary="Confirm or reject a risk signal",
)
def give_feedback(
    risk_id: Annotated[int, Path(ge=1, le=2**62)],
    body: FeedbackIn,
    principal: AnyRoleDep,
    context: ContextDep,
    resources: ResourcesDep,
) -> FeedbackOut:
    """Record a verdict on one risk signal; kept with who gave it and when (the newest verdict counts)."""
    with resources.database.session() as session:
        found = session.execute(
            select(RiskRow, LinkRow.opportunity_id)
            .outerjoin(LinkRow, LinkRow.recording_id == RiskRow.recording_id)
            .where(RiskRow.id == risk_id)
        ).first()
        if found is None or not scope_of(principal, context).allows(found[1]):
            raise Problem(404, f"no risk signal {risk_id} that you may see")
        risk = found[0]
        row = RiskFeedbackRow(
            recording_id=risk.recording_id,
            type=risk.type,
            segment_index=risk.segment_index,
            start_s=risk.start_s,
            verdict=body.verdict,
            comment=body.comment,
            actor=principal.id[:200],
        )
        session.add(row)
        session.flush()
        return _feedback(row)


@router.get("/feedback", response_model=Page[FeedbackOut], tags=["feedback"], summary="List feedback")
def list_feedback(
    principal: AdminDep, resources: ResourcesDep, cursor: str | None = None, page_size: PageSize = 50
) -> Page[FeedbackOut]:
    """All verdicts, newest first (admins)."""
    after = decode_cursor(cursor)
    query = select(RiskFeedbackRow).order_by(RiskFeedbackRow.at.desc(), RiskFeedbackRow.id.desc())
    if after is not None:
        if not after[1].isdigit():
            raise Problem(400, "the cursor is malformed; pass back `next_cursor` unchanged")
        query = query.where(
            (RiskFeedbackRow.at < after[0])
            | ((RiskFeedbackRow.at == after[0]) & (RiskFeedbackRow.id < int(after[1])))
        )
    with resources.database.session() as session:
        rows = [_feedback(r) for r in session.scalars(query.limit(page_size + 1))]
    last = rows[page_size - 1] if len(rows) > page_size else None
    return Page(items=rows[:page_size], next_cursor=encode_cursor(last.at, last.id) if last else None)


@router.get(
    "/feedback/labelled.jsonl",
    response_class=StreamingResponse,
    tags=["feedback"],
    responses={200: {"content": {"application/jsonl": {}}}},
    summary="Feedback as labelled utterances",
)
def export_labelled(principal: AdminDep, resources: ResourcesDep) -> StreamingResponse:
    """Segments with feedback as labelled utterances (contracts format 3) for ``dealtalk eval-nlp``."""

    def lines() -> Iterator[bytes]:
        for utterance in labelled_utterances(resources.database):
            yield (json.dumps(utterance, ensure_ascii=False) + "\n").encode()

    return StreamingResponse(lines(), media_type="application/jsonl")


@router.get("/audit", response_model=Page[AuditEntry], tags=["audit"], summary="Who read which call")
def audit_log(
    principal: AdminDep,
    resources: ResourcesDep,
    call_id: Annotated[str | None, Query(max_length=512)] = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    cursor: str | None = None,
    page_size: PageSize = 50,
) -> Page[AuditEntry]:
    """The audit log, newest first (admins): reads of calls and reports, links, with the actor's id."""
    after = decode_cursor(cursor)
    query = select(AuditRow).order_by(AuditRow.id.desc())
    if call_id is not None:
        query = query.where(AuditRow.recording_id == call_id)
    if actor is not None:
        query = query.where(AuditRow.actor == actor)
    if after is not None:
        if not after[1].isdigit():
            raise Problem(400, "the cursor is malformed; pass back `next_cursor` unchanged")
        query = query.where(AuditRow.id < int(after[1]))
    with resources.database.session() as session:
        rows = [
            AuditEntry(id=r.id, at=r.at, call_id=r.recording_id, actor=r.actor, action=r.action)
            for r in session.scalars(query.limit(page_size + 1))
        ]
    last = rows[page_size - 1] if len(rows) > page_size else None
    return Page(items=rows[:page_size], next_cursor=encode_cursor(last.at, last.id) if last else None)


def _feedback(row: RiskFeedbackRow) -> FeedbackOut:
    return FeedbackOut(
        id=row.id,
        call_id=row.recording_id,
        type=row.type,
        segment_index=row.segment_index,
        verdict=row.verdict,
        comment=row.comment,
        actor=row.actor,
        at=row.at,
    )
