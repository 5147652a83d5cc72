"""The risk rollups against the raw rows: every aggregate the API serves from the rollups (kept current by the
projections as insights are stored, replaced and calls re-linked, or rebuilt) equals the raw query, on SQLite
and PostgreSQL, for admins and a manager's team, with date windows that cut days in half."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import product
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select
from typer.testing import CliRunner

from dealtalk.api.aggregates import aggregate_risks, raw_totals, rollup_level, to_buckets
from dealtalk.api.directory import Directory
from dealtalk.api.filters import RiskFilters
from dealtalk.api.scope import Scope
from dealtalk.cli.main import app
from dealtalk.contracts.documents import (
    BlobRef,
    CallKpisDoc,
    HealthDoc,
    InsightsDoc,
    KpisDoc,
    MeetingInfo,
    RiskDoc,
)
from dealtalk.contracts.events import CallPublished, InsightsReady, RecordingDiscovered
from dealtalk.pipeline.store import Database, open_database
from dealtalk.pipeline.store.projections import save_discovered, save_insights, save_publication
from dealtalk.pipeline.store.rollups import RiskRollupRow, rebuild_rollups
from dealtalk.pipeline.store.schema import RecordingRow

TYPES = ("price_objection", "budget_constraint", "timeline_slip", "competitor_mention")
SEVERITIES = ("low", "medium", "high")
OPPORTUNITIES = [f"opp-{k}" for k in range(8)]
# user-0 manages user-1; opportunity k: owner user-(k % 3), account acc-(k % 4) named "Account k % 4".
DIRECTORY = Directory.from_rows(
    {
        "systemusers": [
            {"systemuserid": "user-0"},
            {"systemuserid": "user-1", "_parentsystemuserid_value": "user-0"},
            {"systemuserid": "user-2"},
        ],
        "opportunities": [
            {"opportunityid": o, "_ownerid_value": f"user-{k % 3}", "_parentaccountid_value": f"acc-{k % 4}"}
            for k, o in enumerate(OPPORTUNITIES)
        ],
    }
)
START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday, midnight UTC
REF = BlobRef(sha256="0" * 64, size_bytes=0)


def _insights(rng: random.Random, call_id: str) -> InsightsDoc:
    risks = tuple(
        RiskDoc(
            type=rng.choice(TYPES),
            severity=rng.choice(SEVERITIES),
            confidence=round(rng.random(), 3),
            speaker="S2",
            start=float(i),
            end=float(i + 1),
            quote="q",
            segment_index=i,
        )
        for i in range(rng.randrange(0, 7))
    )
    kpis = KpisDoc(
        call=CallKpisDoc(duration_s=60.0, switch_count=1, customer_longest_monologue_ms=0.0), per_speaker={}
    )
    return InsightsDoc(
        call_id=call_id,
        sentiments=(),
        kpis=kpis,
        risks=risks,
        action_items=(),
        summary="",
        health=HealthDoc(score=50),
    )


def _store(database: Database, rng: random.Random, call_id: str, *, when: datetime | None) -> None:
    follow = {"recording_id": call_id, "trace_id": f"trace-{call_id}"}
    meeting = MeetingInfo(subject="s")
    with database.session() as session:
        if when is not None:
            save_discovered(
                session, RecordingDiscovered(**follow, source="local", source_ref="x", meeting=meeting)
            )
            row = session.get(RecordingRow, call_id)
            assert row is not None
            row.discovered_at = when
        ready = InsightsReady(**follow, transcript=REF, insights=REF, meeting=meeting)
        save_insights(session, ready, _insights(rng, call_id), version="test")
        opportunity = rng.choice([*OPPORTUNITIES, None])
        account = None if opportunity is None else f"Account {int(opportunity[4:]) % 4}"
        save_publication(
            session,
            CallPublished(
                **follow,
                status="published" if opportunity else "unlinked",
                opportunity_id=opportunity,
                account_name=account,
            ),
        )


def _seed(database: Database) -> None:
    rng = random.Random(12)
    for i in range(70):
        _store(database, rng, f"call-{i:03d}", when=START + timedelta(minutes=rng.randrange(10 * 24 * 60)))
    for i in range(0, 70, 4):  # insights replaced and calls re-linked (or unlinked)
        _store(database, rng, f"call-{i:03d}", when=None)


def _cases() -> list[tuple[str, RiskFilters, Scope]]:
    filters: list[dict[str, Any]] = [
        {},
        {"type": "price_objection"},
        {"severity": "high"},
        {"type": "timeline_slip", "severity": "low"},
        {"min_confidence": 0.5},
        {"account_id": "acc-1"},
        {"owner_id": "user-2"},
        {"opportunity_id": "opp-3"},
    ]
    windows: list[dict[str, Any]] = [
        {},
        {"since": START + timedelta(days=2, hours=7, minutes=13)},
        {"until": START + timedelta(days=6, hours=20)},
        {"since": START + timedelta(days=1), "until": START + timedelta(days=8)},
        {
            "since": START + timedelta(days=3, hours=1),
            "until": START + timedelta(days=7, hours=23, minutes=5),
        },
        {"since": START + timedelta(days=4, hours=2), "until": START + timedelta(days=4, hours=22)},
    ]
    team = Scope(frozenset(DIRECTORY.opportunities_owned_by(DIRECTORY.team("user-0"))), transcripts=True)
    everyone = Scope(None, transcripts=True)
    return [
        (by, RiskFilters(**f, **w), scope)
        for by, f, w, scope in product(
            ("type", "account", "owner", "week"), filters, windows, (everyone, team)
        )
    ]


def _compare(database: Database) -> int:
    served = 0
    with database.session() as session:
        for by, filters, scope in _cases():
            expected = to_buckets(raw_totals(session, filters, scope, DIRECTORY, by=by), DIRECTORY, by=by)
            assert aggregate_risks(session, filters, scope, DIRECTORY, by=by) == expected, (
                by,
                filters,
                scope,
            )
            served += rollup_level(filters, scope, by) is not None
    return served


def test_rollup_aggregates_equal_the_raw_query(database_url: str) -> None:
    database = open_database(database_url)
    try:
        _seed(database)
        with database.session() as session:
            assert (session.scalar(select(func.count()).select_from(RiskRollupRow)) or 0) > 0
            total = session.scalar(select(func.sum(RiskRollupRow.signals)).where(RiskRollupRow.level == "a"))
            everything = aggregate_risks(
                session, RiskFilters(), Scope(None, transcripts=True), DIRECTORY, by="week"
            )
            assert total == sum(b["count"] for b in everything) > 0
        served = _compare(database)
        assert served >= 150  # most cases are read from the rollups, not the raw fallback
        with database.engine.begin() as connection:
            rebuild_rollups(connection)
        assert _compare(database) == served
    finally:
        database.dispose()


def test_a_managers_aggregates_by_owner_and_week_come_from_the_rollups() -> None:
    team = Scope(frozenset({"opp-1"}), transcripts=True)
    assert rollup_level(RiskFilters(), team, "owner") == "o"
    assert rollup_level(RiskFilters(), team, "week") == "o"
    assert rollup_level(RiskFilters(), team, "type") is None  # per-type counts per opportunity: raw rows
    assert rollup_level(RiskFilters(type="price_objection"), Scope(None, transcripts=True), "week") == "t"
    assert (
        rollup_level(replace(RiskFilters(), min_confidence=0.5), Scope(None, transcripts=True), "type")
        is None
    )


def test_the_rebuild_command_restores_rollups_lost_to_a_bulk_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEALTALK_DATA_DIR", str(tmp_path / "data"))
    database = open_database(f"sqlite:///{tmp_path / 'data' / 'dealtalk.db'}")
    try:
        _seed(database)
        with database.session() as session:  # what a bulk load past the projections leaves behind
            session.execute(delete(RiskRollupRow))
        everyone = Scope(None, transcripts=True)
        with database.session() as session:
            assert aggregate_risks(session, RiskFilters(), everyone, DIRECTORY, by="type") == []
        rebuilt = CliRunner().invoke(app, ["rollups", "rebuild"])
        assert rebuilt.exit_code == 0, rebuilt.output
        assert "level o:" in rebuilt.stdout and "level ts:" in rebuilt.stdout
        with database.session() as session:
            expected = to_buckets(
                raw_totals(session, RiskFilters(), everyone, DIRECTORY, by="type"), DIRECTORY, by="type"
            )
            assert (
                expected
                and aggregate_risks(session, RiskFilters(), everyone, DIRECTORY, by="type") == expected
            )
    finally:
        database.dispose()
