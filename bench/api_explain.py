"""Database time of the API's main queries for ``bench/api.py``: the query functions the routes call, run in
process against the seeded database, every SQL statement they send re-run under ``EXPLAIN (ANALYZE)``, and the
execution times added up (what the database spends, without HTTP, Python or the other clients)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from dealtalk.api.aggregates import aggregate_risks
from dealtalk.api.directory import Directory
from dealtalk.api.filters import CallFilters, RiskFilters
from dealtalk.api.queries import call_page, iter_risks, risk_page
from dealtalk.api.scope import Scope
from dealtalk.pipeline.store import Database

__all__ = ["database_times"]


def _cases(directory: Directory, manager: str) -> dict[str, Callable[[Session], object]]:
    everyone = Scope(None, transcripts=True)
    team = Scope(frozenset(directory.opportunities_owned_by(directory.team(manager))), transcripts=True)
    now = datetime.now(UTC)
    since30, since90 = (
        RiskFilters(since=now - timedelta(days=30)),
        RiskFilters(since=now - timedelta(days=90)),
    )

    def agg(filters: RiskFilters, by: str, scope: Scope = everyone) -> Callable[[Session], object]:
        return lambda s: aggregate_risks(s, filters, scope, directory, by=by)

    return {
        "calls: newest page": lambda s: call_page(s, CallFilters(), everyone, directory, after=None, size=50),
        "calls: by owner": lambda s: call_page(
            s, CallFilters(owner_id="user-042"), everyone, directory, after=None, size=50
        ),
        "calls: manager's team": lambda s: call_page(s, CallFilters(), team, directory, after=None, size=50),
        "risks: newest page": lambda s: risk_page(s, RiskFilters(), everyone, directory, after=None, size=50),
        "aggregates: by type, 30 days": agg(since30, "type"),
        "aggregates: by owner, 30 days": agg(since30, "owner"),
        "aggregates: by week, 90 days": agg(since90, "week"),
        "aggregates: by type, all time": agg(RiskFilters(), "type"),
        "aggregates: manager's team by type, 30 days (raw rows)": agg(since30, "type", team),
        "export: 2,000 rows CSV": lambda s: list(
            iter_risks(s, RiskFilters(), everyone, directory, limit=2000)
        ),
    }


def database_times(database: Database, crm: Path, *, manager: str) -> list[tuple[str, int, float]]:
    """(query, statements, execution ms summed over its statements) per query."""
    directory = Directory.from_rows(json.loads(crm.read_text()))
    sent: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        sent.append((statement, parameters))

    event.listen(database.engine, "before_cursor_execute", capture)
    rows = []
    try:
        for name, run in _cases(directory, manager).items():
            sent.clear()
            with database.session() as session:
                run(session)
            selects = [(s, p) for s, p in sent if s.lstrip().upper().startswith(("SELECT", "WITH"))]
            event.remove(database.engine, "before_cursor_execute", capture)
            total = 0.0
            with database.engine.connect() as connection:
                for statement, parameters in sent:
                    if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                        connection.exec_driver_sql(statement, parameters)  # SET LOCAL work_mem, as sent
                        continue
                    plan = connection.exec_driver_sql(
                        f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters
                    )
                    total += float(plan.scalar_one()[0]["Execution Time"])
            event.listen(database.engine, "before_cursor_execute", capture)
            rows.append((name, len(selects), total))
    finally:
        event.remove(database.engine, "before_cursor_execute", capture)
    return rows
