"""The analyst queries on SQLite and PostgreSQL: keyset pages, filters, aggregates, trend, exports, feedback,
and problem-details answers to bad input (never a 500)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from dealtalk.api.app import create_app
from dealtalk.contracts.config import Settings
from dealtalk.pipeline.resources import Resources
from tests.integration.api.seed import BRIGHTLAB_OPP, EVA, SANNE, ZUIDHAVEN_OPP, seed_call

ZUIDHAVEN_ACCOUNT = "b6a1a65a-d60e-58a6-8a4f-128ebef73cfd"


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings.load(
        data_dir=tmp_path / "data",
        database={"url": database_url},
        api={"auth": "off", "max_export_rows": 1000},
    )
    resources = Resources.open(settings)
    try:
        for i in range(4):
            seed_call(resources, f"z{i}", opportunity_id=ZUIDHAVEN_OPP, account_name="Gemeente Zuidhaven")
        for i in range(2):
            seed_call(resources, f"b{i}", opportunity_id=BRIGHTLAB_OPP, account_name="Brightlab Pharma B.V.")
        seed_call(resources, "u0", opportunity_id=None, language="en")
    finally:
        resources.close()
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as test_client:
        yield test_client


def _all_pages(client: TestClient, path: str, **params: str | int | float) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        body = client.get(path, params={**params, **({"cursor": cursor} if cursor else {})}).json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


def test_pages_cover_every_call_and_risk_once(client: TestClient) -> None:
    calls = _all_pages(client, "/calls", page_size=3)
    assert [c["call_id"] for c in calls] == ["u0", "b1", "b0", "z3", "z2", "z1", "z0"]
    risks = _all_pages(client, "/risks", page_size=4)
    assert len(risks) == 14 and len({r["id"] for r in risks}) == 14
    # How well each quote was heard travels with it: an analyst can leave out the badly heard ones.
    assert {(r["type"], r["evidence_quality"]) for r in risks} == {
        ("budget_constraint", 1.0),
        ("timeline_slip", 0.42),
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"language": "en"}, {"u0"}),
        ({"linked": "false"}, {"u0"}),
        ({"linked": "true", "opportunity_id": BRIGHTLAB_OPP}, {"b0", "b1"}),
        ({"owner_id": EVA}, {"z0", "z1", "z2", "z3"}),
        ({"owner_id": SANNE, "account_id": ZUIDHAVEN_ACCOUNT}, set()),
        ({"account_id": ZUIDHAVEN_ACCOUNT}, {"z0", "z1", "z2", "z3"}),
        ({"until": "2000-01-01T00:00:00Z"}, set()),
    ],
)
def test_call_filters(client: TestClient, params: dict[str, str], expected: set[str]) -> None:
    assert {c["call_id"] for c in _all_pages(client, "/calls", **params)} == expected


def test_risk_filters_and_aggregates(client: TestClient) -> None:
    assert {r["type"] for r in _all_pages(client, "/risks", min_confidence=0.6)} == {"budget_constraint"}
    assert len(_all_pages(client, "/risks", type="timeline_slip", severity="medium")) == 7
    assert _all_pages(client, "/risks", severity="low") == []
    by_type = client.get("/risks/aggregates", params={"group_by": "type"}).json()
    assert {b["key"]: (b["count"], b["high"], b["calls"]) for b in by_type} == {
        "budget_constraint": (7, 7, 7),
        "timeline_slip": (7, 0, 7),
    }
    by_owner = client.get("/risks/aggregates", params={"group_by": "owner"}).json()
    assert {b["key"]: b["count"] for b in by_owner} == {EVA: 8, SANNE: 4, None: 2}
    by_week = client.get("/risks/aggregates", params={"group_by": "week"}).json()
    assert sum(b["count"] for b in by_week) == 14 and all(b["key"] and "W" in b["key"] for b in by_week)


def test_opportunity_trend(client: TestClient) -> None:
    trend = client.get(f"/opportunities/{ZUIDHAVEN_OPP}/trend").json()
    assert trend["calls"] == 4 and trend["health_score"] == 55 and trend["mean_health_score"] == 55
    assert trend["points"][0]["risks"] == {"budget_constraint": 1, "timeline_slip": 1}


def test_exports_stream_every_matching_row(client: TestClient) -> None:
    response = client.get("/risks/export", params={"format": "csv", "owner_id": EVA})
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 8 and {r["owner_id"] for r in rows} == {EVA}
    assert {r["evidence_quality"] for r in rows} == {"1.0", "0.42"}
    parquet = client.get("/risks/export", params={"format": "parquet", "type": "budget_constraint"})
    table = pq.read_table(io.BytesIO(parquet.content))
    assert table.num_rows == 7 and set(table.column("type").to_pylist()) == {"budget_constraint"}


def test_feedback_becomes_labelled_utterances(client: TestClient) -> None:
    risks = _all_pages(client, "/risks", opportunity_id=BRIGHTLAB_OPP)
    budget = next(r for r in risks if r["type"] == "budget_constraint")
    slip = next(r for r in risks if r["type"] == "timeline_slip" and r["call_id"] == budget["call_id"])
    assert client.post(f"/risks/{budget['id']}/feedback", json={"verdict": "confirmed"}).status_code == 201
    assert client.post(f"/risks/{slip['id']}/feedback", json={"verdict": "rejected"}).status_code == 201
    given = client.get("/feedback").json()["items"]
    assert {(f["type"], f["verdict"], f["actor"]) for f in given} == {
        ("budget_constraint", "confirmed", "anonymous"),
        ("timeline_slip", "rejected", "anonymous"),
    }
    lines = [json.loads(line) for line in client.get("/feedback/labelled.jsonl").text.splitlines()]
    assert len(lines) == 1
    assert set(lines[0]) == {"id", "lang", "role", "text", "sentiment", "risks", "action_item"}
    assert lines[0]["risks"] == ["budget_constraint"] and lines[0]["role"] == "customer"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/risks?page_size=100000", 422),
        ("/calls?since=yesterday", 422),
        ("/calls?since=2026-01-01T00:00:00", 422),  # no zone
        ("/calls?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z", 400),
        ("/calls?opportunity_id=1'%20OR%20'1'='1", 422),
        ("/risks?type=ransom_demand", 422),
        ("/risks?min_confidence=2", 422),
        ("/calls?cursor=Zm9v", 400),
        ("/risks?cursor=" + "A" * 50, 400),
        ("/calls/does-not-exist", 404),
        ("/calls/" + "x" * 600, 404),
        ("/opportunities/nope/trend", 404),
        ("/risks/99999999/feedback", 405),
        ("/risks/export?limit=5000", 413),
        ("/risks/aggregates?group_by=color", 422),
    ],
)
def test_bad_input_gets_a_problem_document(client: TestClient, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status, response.text
    body = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert body["status"] == status and body["title"] and body["detail"]


def test_feedback_on_an_unknown_risk_is_404(client: TestClient) -> None:
    response = client.post("/risks/99999999/feedback", json={"verdict": "confirmed"})
    assert response.status_code == 404
    assert client.post("/risks/1/feedback", json={"verdict": "maybe"}).status_code == 422
