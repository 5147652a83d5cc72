"""Risk signals: the list, aggregates, an opportunity's trend, and streamed CSV / Parquet exports."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from dealtalk.api.aggregates import aggregate_risks
from dealtalk.api.deps import ResourcesDep
from dealtalk.api.export import csv_chunks, parquet_chunks
from dealtalk.api.filters import RiskFilters, decode_cursor, encode_cursor, risk_filters
from dealtalk.api.problems import PROBLEM_RESPONSES, Problem
from dealtalk.api.queries import iter_risks, opportunity_trend, risk_page
from dealtalk.api.routers.common import AnyRoleDep, ContextDep, PageSize, scope_of
from dealtalk.api.schemas import AggregateBucket, Page, RiskSignal, TrendPoint, TrendReport

__all__ = ["router"]

router = APIRouter(tags=["risks"], responses=PROBLEM_RESPONSES)
Filters = Annotated[RiskFilters, Depends(risk_filters)]


@router.get("/risks", response_model=Page[RiskSignal], summary="List risk signals")
def list_risks(
    principal: AnyRoleDep,
    context: ContextDep,
    resources: ResourcesDep,
    filters: Filters,
    cursor: str | None = None,
    page_size: PageSize = 50,
) -> Page[RiskSignal]:
    """Risk signals with the exact quote and time, newest call first; filter by type, severity, opportunity,
    account, owner, date range and minimum confidence."""
    after = decode_cursor(cursor)
    with resources.database.session() as session:
        rows = risk_page(
            session, filters, scope_of(principal, context), context.directory, after=after, size=page_size
        )
    items = [RiskSignal(**row) for row in rows[:page_size]]
    last = items[-1] if len(rows) > page_size else None
    return Page(items=items, next_cursor=encode_cursor(last.discovered_at, last.id) if last else None)


@router.get("/risks/aggregates", response_model=list[AggregateBucket], summary="Risk signal counts")
def risk_aggregates(
    principal: AnyRoleDep,
    context: ContextDep,
    resources: ResourcesDep,
    filters: Filters,
    group_by: Literal["type", "account", "owner", "week"] = "type",
) -> list[AggregateBucket]:
    """Counts of the matching signals grouped by type, account, owner (CRM user id) or ISO week."""
    with resources.database.session() as session:
        buckets = aggregate_risks(
            session, filters, scope_of(principal, context), context.directory, by=group_by
        )
    return [AggregateBucket(**b) for b in buckets]


@router.get(
    "/opportunities/{opportunity_id}/trend",
    response_model=TrendReport,
    responses={404: {"description": "No calls of this opportunity that you may see"}},
    summary="An opportunity's risk trend and health",
)
def trend(
    opportunity_id: str, principal: AnyRoleDep, context: ContextDep, resources: ResourcesDep
) -> TrendReport:
    """Per call of the opportunity (oldest first): health score, risk signals per type, high-severity count."""
    if len(opportunity_id) > 64 or not scope_of(principal, context).allows(opportunity_id):
        raise Problem(404, f"no calls of opportunity {opportunity_id[:64]} that you may see")
    with resources.database.session() as session:
        points = [TrendPoint(**p) for p in opportunity_trend(session, opportunity_id)]
    if not points:
        raise Problem(404, f"no calls of opportunity {opportunity_id} that you may see")
    scores = [p.health_score for p in points if p.health_score is not None]
    return TrendReport(
        opportunity_id=opportunity_id,
        calls=len(points),
        health_score=points[-1].health_score,
        mean_health_score=round(sum(scores) / len(scores), 1) if scores else None,
        points=points,
    )


@router.get(
    "/risks/export",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {}, "application/vnd.apache.parquet": {}}},
        413: {"description": "More rows match than an export may hold; narrow the filters"},
    },
    summary="Export risk signals",
)
def export_risks(
    principal: AnyRoleDep,
    context: ContextDep,
    resources: ResourcesDep,
    filters: Filters,
    format: Literal["csv", "parquet"] = "csv",
    limit: Annotated[int | None, Query(ge=1, description="at most this many rows")] = None,
) -> StreamingResponse:
    """The same query as ``/risks``, every matching row, streamed as CSV or Parquet (never built in memory)."""
    cap = context.settings.max_export_rows
    if limit is not None and limit > cap:
        raise Problem(413, f"an export holds at most {cap} rows; ask for fewer or narrow the filters")
    scope = scope_of(principal, context)

    def rows() -> Iterator[dict[str, Any]]:
        with resources.database.session() as session:
            yield from iter_risks(session, filters, scope, context.directory, limit=limit or cap)

    if format == "parquet":
        return StreamingResponse(
            parquet_chunks(rows()),
            media_type="application/vnd.apache.parquet",
            headers={"Content-Disposition": 'attachment; filename="risks.parquet"'},
        )
    return StreamingResponse(
        csv_chunks(rows()),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="risks.csv"'},
    )
