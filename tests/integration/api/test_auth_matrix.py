"""Every route × (no token, expired, wrong audience, wrong role, right role, other team), with Entra-shaped
RS256 tokens signed by keys the test made and served as the tenant's JWKS by the identity emulator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select

from dealtalk.api.wiring import PUBLIC_PATHS
from dealtalk.pipeline.resources import Resources
from dealtalk.pipeline.store.schema import RiskRow
from tests.integration.api.conftest import ADMIN_OID, ANALYST_OID, MANAGER_OID, Api
from tests.integration.api.seed import BRIGHTLAB_OPP, SECRET_TEXT, ZUIDHAVEN_OPP

ANY = ("analyst", "manager", "admin")


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # a resource of the manager's team ({risk_team} etc. filled in below)
    roles: tuple[str, ...]
    ok: int = 200
    other_path: str | None = None  # the same resource of another team (manager: 404)
    body: dict[str, Any] | None = None
    # For list routes: the team-scoped answer must not contain another team's call.
    lists_calls: bool = False
    template: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


ROUTES = [
    Route("GET", "/calls", ANY, lists_calls=True),
    Route("GET", "/calls/call-team", ANY, other_path="/calls/call-other", template="/calls/{call_id}"),
    Route(
        "GET",
        "/calls/call-team/report",
        ANY,
        other_path="/calls/call-other/report",
        template="/calls/{call_id}/report",
    ),
    Route(
        "POST",
        "/calls/call-team/link",
        ("manager", "admin"),
        other_path="/calls/call-other/link",
        body={"opportunity_id": ZUIDHAVEN_OPP},
        template="/calls/{call_id}/link",
    ),
    Route("GET", "/risks", ANY, lists_calls=True),
    Route("GET", "/risks/aggregates?group_by=account", ANY, lists_calls=True, template="/risks/aggregates"),
    Route("GET", "/risks/export", ANY, lists_calls=True),
    Route(
        "GET",
        f"/opportunities/{ZUIDHAVEN_OPP}/trend",
        ANY,
        other_path=f"/opportunities/{BRIGHTLAB_OPP}/trend",
        template="/opportunities/{opportunity_id}/trend",
    ),
    Route(
        "POST",
        "/risks/{risk_team}/feedback",
        ANY,
        ok=201,
        other_path="/risks/{risk_other}/feedback",
        body={"verdict": "confirmed"},
        template="/risks/{risk_id}/feedback",
    ),
    Route("GET", "/feedback", ("admin",)),
    Route("GET", "/feedback/labelled.jsonl", ("admin",)),
    Route("GET", "/audit", ("admin",)),
    Route("GET", "/auth/me", ANY),
    Route("GET", "/openapi.json", ANY),
    Route("GET", "/docs", ANY),
]
CASES = ["no token", "expired", "wrong audience", "wrong role", "right role", "other team"]
_OIDS = {"analyst": ANALYST_OID, "manager": MANAGER_OID, "admin": ADMIN_OID}


def _risk_ids(api: Api) -> dict[str, str]:
    resources = Resources.open(api.settings)
    try:
        with resources.database.session() as session:
            team = session.scalar(select(RiskRow.id).where(RiskRow.recording_id == "call-team").limit(1))
            other = session.scalar(select(RiskRow.id).where(RiskRow.recording_id == "call-other").limit(1))
    finally:
        resources.close()
    return {"risk_team": str(team), "risk_other": str(other)}


def _call(api: Api, route: Route, path: str, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return api.client.request(route.method, path.format(**_risk_ids(api)), json=route.body, headers=headers)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.template or r.path}")
def test_route_matrix(api: Api, route: Route, case: str) -> None:
    token: Callable[..., str] = api.identity.token
    role = "manager" if "manager" in route.roles else route.roles[0]
    if case == "no token":
        response = _call(api, route, route.path, None)
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "WWW-Authenticate" in response.headers
    elif case == "expired":
        response = _call(api, route, route.path, token(roles=[role], exp=1_700_000_000, iat=1_699_990_000))
        assert response.status_code == 401
        assert response.json()["detail"] == "the token has expired"
    elif case == "wrong audience":
        response = _call(
            api, route, route.path, token(roles=[role], aud="00000003-0000-0000-c000-000000000000")
        )
        assert response.status_code == 401
        assert "audience" in response.json()["detail"]
    elif case == "wrong role":
        wrong = [r for r in ANY if r not in route.roles] or ["Reader"]
        response = _call(api, route, route.path, token(roles=wrong[:1], oid=_OIDS.get(wrong[0], ANALYST_OID)))
        assert response.status_code == 403, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    elif case == "right role":
        response = _call(api, route, route.path, token(roles=[role], oid=_OIDS[role]))
        assert response.status_code == route.ok, response.text
    else:  # other team: a manager never reaches another team's call
        if "manager" not in route.roles:
            pytest.skip("managers may not use this route at all (the wrong-role case covers it)")
        if route.other_path is not None:
            response = _call(api, route, route.other_path, token(roles=["manager"], oid=MANAGER_OID))
            assert response.status_code == 404, response.text
        elif route.lists_calls:
            response = _call(api, route, route.path, token(roles=["manager"], oid=MANAGER_OID))
            assert response.status_code == 200
            assert "call-team" in response.text or "Zuidhaven" in response.text
            assert "call-other" not in response.text and "Brightlab" not in response.text
            assert "call-unlinked" not in response.text
        else:
            pytest.skip("the route names no call")


def test_every_route_is_in_the_matrix_and_declares_roles(api: Api) -> None:
    sign_in = {"/auth/login", "/auth/callback", "/auth/logout"}
    covered = {(r.method, (r.template or r.path).split("?")[0]) for r in ROUTES}
    for route in api.client.app.routes:  # type: ignore[attr-defined]
        if not isinstance(route, APIRoute) or route.path in PUBLIC_PATHS | sign_in:
            continue
        declared = [d.call for d in route.dependant.dependencies if hasattr(d.call, "roles")]
        assert declared, f"{route.path} declares no roles (use require(...))"
        for method in (route.methods or set()) - {"HEAD"}:
            assert (method, route.path) in covered, f"{method} {route.path} is not in the auth matrix"


def test_analysts_see_quotes_but_not_transcripts_unless_granted(api: Api) -> None:
    analyst = {"Authorization": f"Bearer {api.identity.token(roles=['analyst'])}"}
    body = api.client.get("/calls/call-team", headers=analyst).json()
    assert body["segments"] == [] and body["risks"][0]["quote"] == "begroting is bevroren"
    assert SECRET_TEXT not in api.client.get("/calls/call-team", headers=analyst).text
    manager = {"Authorization": f"Bearer {api.identity.token(roles=['manager'], oid=MANAGER_OID)}"}
    assert SECRET_TEXT in api.client.get("/calls/call-team", headers=manager).text


def test_reads_of_calls_are_in_the_admin_audit_log(api: Api) -> None:
    reader = "a0000000-0000-4000-8000-0000000000ee"
    api.client.get("/calls/call-team", headers={"Authorization": f"Bearer {api.identity.token(oid=reader)}"})
    admin = {"Authorization": f"Bearer {api.identity.token(roles=['admin'], oid=ADMIN_OID)}"}
    entries = api.client.get("/audit", params={"actor": reader}, headers=admin).json()["items"]
    assert [(e["call_id"], e["action"]) for e in entries] == [("call-team", "read_call")]
