"""The SQL behind the list, aggregate, trend and export routes: filters, the caller's scope, keyset pages.

Every query starts from what the caller may see (``Scope``): a manager's is an ``IN`` over their team's
opportunities. Pages are keyset pages over (discovered_at, id) descending, which the indexes of migration 0005
serve without an offset scan however deep the page.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, any_, false, func, select, text, tuple_
from sqlalchemy.orm import Session

from dealtalk.api.directory import Directory
from dealtalk.api.filters import CallFilters, Cursor, RiskFilters
from dealtalk.api.scope import Scope
from dealtalk.pipeline.store.schema import CallRow, InsightRow, LinkRow, RecordingRow, RiskRow

__all__ = [
    "allowed_opportunities",
    "call_page",
    "iter_risks",
    "opportunity_conditions",
    "opportunity_trend",
    "risk_page",
    "risk_query",
    "serial",
]


def opportunity_conditions(
    scope: Scope,
    directory: Directory,
    *,
    opportunity_id: str | None,
    account_id: str | None,
    owner_id: str | None,
    column: Any = LinkRow.opportunity_id,
) -> list[ColumnElement[bool]]:
    """The scope's and the filters' opportunities as one ``IN`` over ``column`` (a link's by default)."""
    ids = allowed_opportunities(
        scope, directory, opportunity_id=opportunity_id, account_id=account_id, owner_id=owner_id
    )
    if ids is None:
        return []
    return [column.in_(sorted(ids)) if ids else false()]


def allowed_opportunities(
    scope: Scope,
    directory: Directory,
    *,
    opportunity_id: str | None,
    account_id: str | None,
    owner_id: str | None,
) -> frozenset[str] | None:
    """The opportunities both the scope and the filters allow; None when neither restricts them."""
    allowed: list[frozenset[str]] = []
    if scope.opportunity_ids is not None:
        allowed.append(scope.opportunity_ids)
    if account_id is not None:
        allowed.append(frozenset(directory.opportunities_of_account(account_id)))
    if owner_id is not None:
        allowed.append(frozenset(directory.opportunities_owned_by(frozenset({owner_id}))))
    if opportunity_id is not None:
        allowed.append(frozenset({opportunity_id}))
    return frozenset.intersection(*allowed) if allowed else None


def serial(session: Session) -> None:
    """No parallel workers for this transaction (PostgreSQL). The API's queries walk indexes for a page or a
    partial day; PostgreSQL's cost model still prefers a parallel sequential scan for some (a day's recordings
    by time: 50 ms in parallel against 10 ms on the index, measured on the seeded volume), and starting workers
    for every request competes with the other requests for the cores."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))


# Up to this many opportunities, a call page starts from their links (see ``call_page``).
_FEW_OPPORTUNITIES = 200


def _call_query(filters: CallFilters, scope: Scope, directory: Directory) -> Select[*tuple[Any, ...]]:
    query = (
        select(RecordingRow, LinkRow, CallRow.language)
        .outerjoin(LinkRow, LinkRow.recording_id == RecordingRow.recording_id)
        .outerjoin(CallRow, CallRow.recording_id == RecordingRow.recording_id)
    )
    conditions = opportunity_conditions(
        scope,
        directory,
        opportunity_id=filters.opportunity_id,
        account_id=filters.account_id,
        owner_id=filters.owner_id,
    )
    if filters.since is not None:
        conditions.append(RecordingRow.discovered_at >= filters.since)
    if filters.until is not None:
        conditions.append(RecordingRow.discovered_at < filters.until)
    if filters.language is not None:
        conditions.append(CallRow.language == filters.language)
    if filters.linked is True:
        conditions.append(LinkRow.opportunity_id.is_not(None))
    elif filters.linked is False:
        conditions.append(LinkRow.opportunity_id.is_(None))
    return query.where(*conditions)


def call_page(
    session: Session,
    filters: CallFilters,
    scope: Scope,
    directory: Directory,
    *,
    after: Cursor | None,
    size: int,
) -> list[dict[str, Any]]:
    """Up to ``size + 1`` calls after ``after`` (the extra one tells the caller that a next page exists)."""
    serial(session)
    query = _call_query(filters, scope, directory)
    ids = allowed_opportunities(
        scope,
        directory,
        opportunity_id=filters.opportunity_id,
        account_id=filters.account_id,
        owner_id=filters.owner_id,
    )
    if ids and len(ids) <= _FEW_OPPORTUNITIES and session.get_bind().dialect.name == "postgresql":
        # Few opportunities (an owner's, an account's) have few calls: start from their links and sort those,
        # rather than walk every recording newest first probing each one's link, which PostgreSQL picks when it
        # expects the matches spread evenly in time. ANY(ARRAY(subquery)) is evaluated once, before the
        # join, and the condition adds nothing to what the join on the link already requires.
        links = select(LinkRow.recording_id).where(LinkRow.opportunity_id.in_(sorted(ids)))
        query = query.where(RecordingRow.recording_id == any_(func.array(links.scalar_subquery())))
    if after is not None:
        query = query.where(tuple_(RecordingRow.discovered_at, RecordingRow.recording_id) < tuple_(*after))
    query = query.order_by(RecordingRow.discovered_at.desc(), RecordingRow.recording_id.desc()).limit(
        size + 1
    )
    return [
        {
            "call_id": recording.recording_id,
            "status": recording.status,
            "subject": (recording.meeting or {}).get("subject"),
            "discovered_at": recording.discovered_at,
            "language": language,
            "opportunity_id": link.opportunity_id if link else None,
            "account_name": link.account_name if link else None,
            "owner_id": directory.owner_of.get(link.opportunity_id or "") if link else None,
            "link_method": link.method if link else None,
        }
        for recording, link, language in session.execute(query)
    ]


def risk_query(
    filters: RiskFilters, scope: Scope, directory: Directory, *, group_by: str | None = None
) -> Select[*tuple[Any, ...]]:
    """The matching risk signals; with ``group_by`` only the narrow columns the aggregates read, joining the
    links and recordings only where a filter or the grouping needs them (an aggregate over a million rows
    should not carry quotes and explanations along, nor join what it does not use)."""
    conditions = opportunity_conditions(
        scope,
        directory,
        opportunity_id=filters.opportunity_id,
        account_id=filters.account_id,
        owner_id=filters.owner_id,
    )
    needs_links = group_by is None or bool(conditions) or group_by in ("account", "owner")
    needs_recordings = group_by in (None, "week") or filters.since is not None or filters.until is not None
    if filters.type is not None:
        conditions.append(RiskRow.type == filters.type)
    if filters.severity is not None:
        conditions.append(RiskRow.severity == filters.severity)
    if filters.min_confidence > 0:
        conditions.append(RiskRow.confidence >= filters.min_confidence)
    if filters.since is not None:
        conditions.append(RecordingRow.discovered_at >= filters.since)
    if filters.until is not None:
        conditions.append(RecordingRow.discovered_at < filters.until)
    columns: list[Any]
    if group_by is None:
        # Plain columns, not ORM entities: building an entity per row costs more than the query on long pages
        # and exports.
        columns = [*_RISK_COLUMNS, LinkRow.opportunity_id, LinkRow.account_name, RecordingRow.discovered_at]
    else:
        columns = [RiskRow.recording_id, RiskRow.type, RiskRow.severity, RiskRow.confidence]
        columns += [LinkRow.opportunity_id, LinkRow.account_name] if needs_links else []
    query = select(*columns)
    if needs_recordings:
        query = query.join(RecordingRow, RecordingRow.recording_id == RiskRow.recording_id)
    if needs_links:
        query = query.outerjoin(LinkRow, LinkRow.recording_id == RiskRow.recording_id)
    return query.where(*conditions)


_RISK_COLUMNS = (
    RiskRow.id,
    RiskRow.recording_id.label("call_id"),
    RiskRow.type,
    RiskRow.severity,
    RiskRow.confidence,
    RiskRow.speaker_id.label("speaker"),
    RiskRow.start_s.label("start"),
    RiskRow.end_s.label("end"),
    RiskRow.quote,
    RiskRow.segment_index,
    RiskRow.source,
    RiskRow.explanation,
    RiskRow.evidence_quality,
)


def _risk_dict(row: Any, directory: Directory) -> dict[str, Any]:
    values: dict[str, Any] = dict(row._mapping)
    values["owner_id"] = directory.owner_of.get(values["opportunity_id"] or "")
    return values


def _ordered(query: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
    return query.order_by(RecordingRow.discovered_at.desc(), RiskRow.id.desc())


def risk_page(
    session: Session,
    filters: RiskFilters,
    scope: Scope,
    directory: Directory,
    *,
    after: Cursor | None,
    size: int,
) -> list[dict[str, Any]]:
    """Up to ``size + 1`` risk signals after ``after``, newest call first."""
    serial(session)
    query = risk_query(filters, scope, directory)
    if after is not None:
        when, key = after
        if not key.isdigit():
            return []
        query = query.where(tuple_(RecordingRow.discovered_at, RiskRow.id) < tuple_(when, int(key)))
    return [_risk_dict(row, directory) for row in session.execute(_ordered(query).limit(size + 1))]


def iter_risks(
    session: Session, filters: RiskFilters, scope: Scope, directory: Directory, *, limit: int
) -> Iterator[dict[str, Any]]:
    """Every matching risk signal (up to ``limit``), streamed from a server-side cursor."""
    serial(session)
    query = _ordered(risk_query(filters, scope, directory)).limit(limit)
    for row in session.execute(query.execution_options(yield_per=2000)):
        yield _risk_dict(row, directory)


def opportunity_trend(session: Session, opportunity_id: str) -> list[dict[str, Any]]:
    """Per call of the opportunity, oldest first: health score, risk counts per type, high-severity count."""
    calls: Sequence[Any] = session.execute(
        select(RecordingRow.recording_id, RecordingRow.discovered_at, InsightRow.health_score)
        .join(LinkRow, LinkRow.recording_id == RecordingRow.recording_id)
        .outerjoin(InsightRow, InsightRow.recording_id == RecordingRow.recording_id)
        .where(LinkRow.opportunity_id == opportunity_id)
        .order_by(RecordingRow.discovered_at, RecordingRow.recording_id)
        .limit(1000)
    ).all()
    ids = [c.recording_id for c in calls]
    counts: dict[str, dict[str, int]] = {i: {} for i in ids}
    high: dict[str, int] = dict.fromkeys(ids, 0)
    if ids:
        for recording_id, risk_type, severity, n in session.execute(
            select(RiskRow.recording_id, RiskRow.type, RiskRow.severity, func.count())
            .where(RiskRow.recording_id.in_(ids))
            .group_by(RiskRow.recording_id, RiskRow.type, RiskRow.severity)
        ):
            counts[recording_id][risk_type] = counts[recording_id].get(risk_type, 0) + n
            high[recording_id] += n if severity == "high" else 0
    return [
        {
            "call_id": c.recording_id,
            "discovered_at": c.discovered_at,
            "health_score": c.health_score,
            "risks": counts[c.recording_id],
            "high": high[c.recording_id],
        }
        for c in calls
    ]
