"""Calls: the list, one call's full result, the report page, and the manual link to an opportunity."""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from dealtalk.api.auth.deps import AuthContext
from dealtalk.api.auth.principal import Principal
from dealtalk.api.deps import ResourcesDep
from dealtalk.api.filters import CallFilters, call_filters, decode_cursor, encode_cursor
from dealtalk.api.problems import PROBLEM_RESPONSES, Problem
from dealtalk.api.queries import call_page
from dealtalk.api.report_html import render_report
from dealtalk.api.routers.common import AnyRoleDep, ContextDep, ManagerDep, PageSize, audit, scope_of
from dealtalk.api.schemas import CallSummary, LinkRequest, Page
from dealtalk.contracts.documents import CallResult
from dealtalk.pipeline.manual_link import link_call
from dealtalk.pipeline.outcomes import CallOutcome, load_outcome
from dealtalk.pipeline.resources import Resources
from dealtalk.pipeline.store.schema import LinkRow

__all__ = ["router"]

router = APIRouter(tags=["calls"], responses=PROBLEM_RESPONSES)
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No analysed call with this id that you may see"}
}
CallId = Annotated[str, Field(min_length=1, max_length=512)]


class LinkResult(BaseModel):
    call_id: str
    opportunity_id: str | None
    method: str
    queued: bool


@router.get("/calls", response_model=Page[CallSummary], summary="List calls")
def list_calls(
    principal: AnyRoleDep,
    context: ContextDep,
    resources: ResourcesDep,
    filters: Annotated[CallFilters, Depends(call_filters)],
    cursor: str | None = None,
    page_size: PageSize = 50,
) -> Page[CallSummary]:
    """Calls, newest first, filtered by opportunity, account, owner, date range, language, linked or not.
    Managers see their team's calls only."""
    after = decode_cursor(cursor)
    with resources.database.session() as session:
        rows = call_page(
            session, filters, scope_of(principal, context), context.directory, after=after, size=page_size
        )
    items = [CallSummary(**row) for row in rows[:page_size]]
    last = items[-1] if len(rows) > page_size else None
    return Page(items=items, next_cursor=encode_cursor(last.discovered_at, last.call_id) if last else None)


def _visible_outcome(
    call_id: str, principal: Principal, context: AuthContext, resources: Resources
) -> tuple[CallOutcome, CallResult, bool]:
    """The call's outcome, if the caller may see it (a call outside a manager's team is "not found")."""
    if len(call_id) > 512:
        raise Problem(404, "no such call")
    scope = scope_of(principal, context)
    if scope.opportunity_ids is not None:
        with resources.database.session() as session:
            opportunity = session.scalar(
                select(LinkRow.opportunity_id).where(LinkRow.recording_id == call_id)
            )
        if not scope.allows(opportunity):
            raise Problem(404, f"no analysed call {call_id} that you may see")
    outcome = load_outcome(resources.database, resources.blobs, call_id)
    if outcome.result is None:
        raise Problem(404, f"no analysed call {call_id} that you may see")
    result = outcome.result
    if not scope.transcripts:
        # Analysts see the risk signals with their quotes, the KPIs and the summary, not the whole transcript.
        result = result.model_copy(update={"segments": ()})
    return outcome, result, scope.transcripts


@router.get("/calls/{call_id}", response_model=CallResult, responses=_NOT_FOUND, summary="One call's result")
def get_call(call_id: str, principal: AnyRoleDep, context: ContextDep, resources: ResourcesDep) -> CallResult:
    """The call result; the transcript (``segments``) only for managers of the team, admins, and analysts
    granted transcripts. Every read is in the audit log."""
    _, result, transcript = _visible_outcome(call_id, principal, context, resources)
    audit(resources.database, principal, "read_call", call_id, transcript=transcript)
    return result


@router.get(
    "/calls/{call_id}/report", response_class=HTMLResponse, responses=_NOT_FOUND, summary="Report page"
)
def get_report(
    call_id: str, principal: AnyRoleDep, context: ContextDep, resources: ResourcesDep
) -> HTMLResponse:
    """The call report page that the Dynamics 365 activity links to (a browser is sent to sign in first)."""
    outcome, result, transcript = _visible_outcome(call_id, principal, context, resources)
    audit(resources.database, principal, "read_report", call_id, transcript=transcript)
    return HTMLResponse(render_report(result, subject=outcome.subject))


@router.post("/calls/{call_id}/link", response_model=LinkResult, responses=_NOT_FOUND, summary="Link a call")
async def link_call_route(
    call_id: str, body: LinkRequest, principal: ManagerDep, context: ContextDep, resources: ResourcesDep
) -> dict[str, Any]:
    """Link a call to an opportunity by hand (managers: only calls and opportunities of their team)."""
    scope = scope_of(principal, context)
    if scope.opportunity_ids is not None:
        with resources.database.session() as session:
            current = session.scalar(select(LinkRow.opportunity_id).where(LinkRow.recording_id == call_id))
        if not scope.allows(current) or not scope.allows(body.opportunity_id):
            raise Problem(404, f"no call {call_id} or opportunity of your team to link")
    link = await anyio.to_thread.run_sync(
        lambda: link_call(resources, call_id, body.opportunity_id, actor=principal.id)
    )
    return {"call_id": call_id, "opportunity_id": link.opportunity_id, "method": link.method, "queued": True}
