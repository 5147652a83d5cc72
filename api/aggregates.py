"""Risk-signal aggregates: from the daily rollups (``pipeline/store/rollups.py``) where they can answer, from the
raw risk rows where not, and both added together for the partial days at the edges of a date window.

The rollups answer every grouping (type, account, owner, week) without a minimum confidence. Grouping by
account or owner, and any scope or filter on opportunities (a manager's team, an account, an owner, an
opportunity), uses their per-opportunity level, which has no type or severity: a manager's aggregates by type, or
any account / owner aggregate filtered by type or severity, are read from the raw rows. A date window is split
at UTC midnights: whole days from the rollups, the hours before the first and after the last from the raw rows
(a call lies in one instant, so counts, distinct calls included, add up).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, DateTime, case, cast, func, select, text
from sqlalchemy.orm import Session

from dealtalk.api.directory import Directory
from dealtalk.api.filters import RiskFilters
from dealtalk.api.queries import opportunity_conditions, risk_query, serial
from dealtalk.api.scope import Scope
from dealtalk.pipeline.store.rollups import RiskRollupRow, confidence_micros, day_of
from dealtalk.pipeline.store.schema import RecordingRow

__all__ = ["aggregate_risks", "raw_totals", "rollup_level", "to_buckets"]

Totals = dict[Any, list[int]]  # key -> [signals, high, confidence sum in millionths, distinct calls]


def _week(dialect: str, day: Any) -> ColumnElement[Any]:
    """The week of a UTC day (a date), as the label the API returns."""
    if dialect == "postgresql":
        monday = func.date_trunc("week", cast(day, DateTime()))
        return func.to_char(monday, 'IYYY-"W"IW')
    return func.strftime("%Y-W%W", day)


def _opportunity_filtered(filters: RiskFilters, scope: Scope) -> bool:
    return scope.opportunity_ids is not None or any(
        (filters.opportunity_id, filters.account_id, filters.owner_id)
    )


def rollup_level(filters: RiskFilters, scope: Scope, by: str) -> str | None:
    """The rollup level that answers this aggregate exactly, or None when only the raw rows can."""
    if filters.min_confidence > 0:
        return None
    typed, severed = by == "type" or filters.type is not None, filters.severity is not None
    if by in ("account", "owner") or _opportunity_filtered(filters, scope):
        return None if typed or severed else "o"
    return ("t" if typed else "") + ("s" if severed else "") or "a"


def raw_totals(
    session: Session, filters: RiskFilters, scope: Scope, directory: Directory, *, by: str
) -> Totals:
    """Per group key (an opportunity id for ``owner``) from the risk rows themselves."""
    dialect = session.get_bind().dialect.name
    query = risk_query(filters, scope, directory, group_by=by)
    if by == "week":
        query = query.add_columns(_week(dialect, day_of(dialect, RecordingRow.discovered_at)).label("week"))
    base = query.subquery()
    columns = {"type": "type", "account": "account_name", "week": "week", "owner": "opportunity_id"}
    key = base.c[columns[by]]
    grouped = select(
        key,
        func.count(),
        func.sum(case((base.c.severity == "high", 1), else_=0)),
        func.sum(confidence_micros(base.c.confidence)),
        func.count(base.c.recording_id.distinct()),
    ).group_by(key)
    serial(session)
    if dialect == "postgresql":
        # Counting distinct calls sorts; PostgreSQL's default 4 MB of sort memory spills tens of thousands of
        # rows to disk. This transaction only.
        session.execute(text("SET LOCAL work_mem = '32MB'"))
    return {
        row[0]: [int(row[1]), int(row[2] or 0), int(row[3] or 0), int(row[4])]
        for row in session.execute(grouped)
    }


def _rollup_totals(
    session: Session,
    filters: RiskFilters,
    scope: Scope,
    directory: Directory,
    *,
    by: str,
    level: str,
    days: tuple[datetime | None, datetime | None],
) -> Totals:
    rollup = RiskRollupRow
    conditions: list[ColumnElement[bool]] = [rollup.level == level]
    first, end = days
    if first is not None:
        conditions.append(rollup.day >= first.date())
    if end is not None:
        conditions.append(rollup.day < end.date())
    if filters.type is not None:
        conditions.append(rollup.type == filters.type)
    if filters.severity is not None:
        conditions.append(rollup.severity == filters.severity)
    conditions += opportunity_conditions(
        scope,
        directory,
        opportunity_id=filters.opportunity_id,
        account_id=filters.account_id,
        owner_id=filters.owner_id,
        column=rollup.opportunity_id,
    )
    dialect = session.get_bind().dialect.name
    keys: dict[str, Any] = {
        "type": rollup.type,
        "account": rollup.account_name,
        "owner": rollup.opportunity_id,
        "week": _week(dialect, rollup.day),
    }
    key = keys[by]
    signals = func.sum(rollup.signals)
    grouped = (
        select(
            key, signals, func.sum(rollup.high), func.sum(rollup.confidence_micros), func.sum(rollup.calls)
        )
        .where(*conditions)
        .group_by(key)
        .having(signals > 0)
    )
    return {row[0]: [int(row[1]), int(row[2]), int(row[3]), int(row[4])] for row in session.execute(grouped)}


def _midnight(moment: datetime) -> datetime:
    return datetime.combine(moment.astimezone(UTC).date(), time(), tzinfo=UTC)


def aggregate_risks(
    session: Session, filters: RiskFilters, scope: Scope, directory: Directory, *, by: str
) -> list[dict[str, Any]]:
    """Counts per type, account, owner or ISO week: signals, high-severity signals, mean confidence, calls."""
    level = rollup_level(filters, scope, by)
    if level is None:
        return to_buckets(raw_totals(session, filters, scope, directory, by=by), directory, by=by)
    since, until = filters.since, filters.until
    first = None if since is None else _midnight(since)
    if since is not None and first is not None and first < since:
        first += timedelta(days=1)
    end = None if until is None else _midnight(until)
    if first is not None and end is not None and first >= end:  # within one day: the raw rows
        return to_buckets(raw_totals(session, filters, scope, directory, by=by), directory, by=by)
    totals = _rollup_totals(session, filters, scope, directory, by=by, level=level, days=(first, end))
    edges = []
    if since is not None and first is not None and since < first:
        edges.append(replace(filters, since=since, until=first))
    if until is not None and end is not None and end < until:
        edges.append(replace(filters, since=end, until=until))
    for edge in edges:
        for key, values in raw_totals(session, edge, scope, directory, by=by).items():
            row = totals.setdefault(key, [0, 0, 0, 0])
            for i, value in enumerate(values):
                row[i] += value
    return to_buckets(totals, directory, by=by)


def to_buckets(totals: Totals, directory: Directory, *, by: str) -> list[dict[str, Any]]:
    if by == "owner":  # per opportunity in SQL, folded into owners here
        folded: Totals = {}
        for opportunity, values in totals.items():
            row = folded.setdefault(directory.owner_of.get(opportunity or ""), [0, 0, 0, 0])
            for i, value in enumerate(values):
                row[i] += value  # a call has one opportunity, so per-opportunity call counts add up
        totals = folded
    buckets = [
        {
            "key": None if key is None else str(key),
            "count": int(n),
            "high": int(high),
            "mean_confidence": round(confidence / n / 1_000_000 if n else 0.0, 4),
            "calls": int(calls),
        }
        for key, (n, high, confidence, calls) in totals.items()
    ]
    return sorted(buckets, key=lambda b: (-b["count"], str(b["key"])))
