"""The Graph emulator's group member listing rejects what Graph rejects (raw HTTP, no product code).

Contract: "List group transitive members" (permissions, 404, OData cast) and "Advanced query capabilities on
Microsoft Entra ID objects" (a cast on a transitive members list needs ``ConsistencyLevel: eventual`` and
``$count=true``).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest

from dealtalk.emulators.graph import GraphEmulator, Tenant
from dealtalk.emulators.graph.state import Group
from dealtalk.emulators.identity import AppRegistration, TokenIssuer

from .conftest import APP_ID, GRAPH

ADVANCED = {"ConsistencyLevel": "eventual"}


@pytest.fixture
def sellers(tenant: Tenant) -> Group:
    """Eva and Mark directly, Sanne through a nested team, and a cycle back to the top group."""
    ids = {user.upn: user.id for user in tenant.users.values()}
    nested = tenant.add_group("Team Noord", [ids["sanne.bakker@schoonenberg.nl"]])
    top = tenant.add_group(
        "Sellers",
        [ids["eva.devries@schoonenberg.nl"], nested.id, ids["mark.jansen@schoonenberg.nl"]],
    )
    nested.member_ids.append(top.id)  # nesting cycles exist in real directories; listed once, no loop
    return top


@pytest.fixture
def http(issuer: TokenIssuer, graph: GraphEmulator, trust: ssl.SSLContext) -> Iterator[httpx.Client]:
    roles = {"GroupMember.Read.All"}
    issuer.register_app(AppRegistration("directory-app", "x", {GRAPH: roles}))
    token = issuer.issue("directory-app", GRAPH)
    with httpx.Client(
        base_url=graph.base_url, headers={"Authorization": f"Bearer {token}"}, verify=trust
    ) as client:
        yield client


def _error(response: httpx.Response) -> tuple[int, str]:
    body = response.json()["error"]
    assert {"code", "message", "innerError"} <= set(body)
    assert {"request-id", "date"} <= set(body["innerError"])
    return response.status_code, body["code"]


def _all_pages(http: httpx.Client, url: str) -> tuple[list[dict[str, object]], list[str]]:
    items: list[dict[str, object]] = []
    links: list[str] = []
    response = http.get(url, headers=ADVANCED)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["value"]
        link = body.get("@odata.nextLink")
        if not link:
            return items, links
        links.append(link)
        response = http.get(link, headers=ADVANCED)


def test_user_cast_is_transitive_paged_and_users_only(
    http: httpx.Client, graph: GraphEmulator, tenant: Tenant, sellers: Group
) -> None:
    users, links = _all_pages(
        http, f"/groups/{sellers.id}/transitiveMembers/microsoft.graph.user?$count=true"
    )
    expected = {u.id for u in tenant.users.values()}  # the three sellers, Sanne through the nested team
    assert {u["id"] for u in users} == expected and len(users) == 3
    assert all(u["@odata.type"] == "#microsoft.graph.user" for u in users)
    assert len(links) == 1  # page size 2
    assert links[0].startswith(
        f"{graph.base_url}/groups/{sellers.id}/transitiveMembers/microsoft.graph.user?"
    )
    assert "$count=true" in links[0] and "$skiptoken=" in links[0]
    aliased, _ = _all_pages(http, f"/groups/{sellers.id}/transitiveMembers/graph.user?$count=true")
    assert aliased == users  # the namespace alias msgraph-sdk uses
    everything, _ = _all_pages(http, f"/groups/{sellers.id}/transitiveMembers")
    assert {m["@odata.type"] for m in everything} == {"#microsoft.graph.user", "#microsoft.graph.group"}
    assert len(everything) == 4  # three users and the nested team; the cycle adds nothing


def test_cast_needs_both_advanced_query_parameters(http: httpx.Client, sellers: Group) -> None:
    cast = f"/groups/{sellers.id}/transitiveMembers/microsoft.graph.user"
    assert _error(http.get(cast)) == (400, "Request_UnsupportedQuery")
    assert _error(http.get(f"{cast}?$count=true")) == (400, "Request_UnsupportedQuery")
    assert _error(http.get(cast, headers=ADVANCED)) == (400, "Request_UnsupportedQuery")
    counted = http.get(f"{cast}?$count=true", headers=ADVANCED).json()
    assert counted["@odata.count"] == 3 and len(counted["value"]) == 2
    plain = http.get(f"/groups/{sellers.id}/transitiveMembers?$count=true")  # no header: $count is ignored
    assert plain.status_code == 200 and "@odata.count" not in plain.json()
    # The next page needs them too: a link replayed without the header is refused like the first request.
    link = counted["@odata.nextLink"]
    assert _error(http.get(link)) == (400, "Request_UnsupportedQuery")


def test_auth_permission_and_unknown_group(
    http: httpx.Client, graph: GraphEmulator, issuer: TokenIssuer, sellers: Group, trust: ssl.SSLContext
) -> None:
    path = f"/groups/{sellers.id}/transitiveMembers/microsoft.graph.user?$count=true"
    assert _error(httpx.get(f"{graph.base_url}{path}", headers=ADVANCED, verify=trust)) == (
        401,
        "InvalidAuthenticationToken",
    )
    meetings_only = issuer.issue(APP_ID, GRAPH)  # the sample app: recordings, meetings, users; no group role
    refused = httpx.get(
        f"{graph.base_url}{path}",
        headers={**ADVANCED, "Authorization": f"Bearer {meetings_only}"},
        verify=trust,
    )
    assert _error(refused) == (403, "Authorization_RequestDenied")
    for role in ("Group.Read.All", "Directory.Read.All"):  # higher-privileged roles from the same table
        issuer.register_app(AppRegistration(f"app-{role}", "x", {GRAPH: {role}}))
        token = issuer.issue(f"app-{role}", GRAPH)
        allowed = httpx.get(
            f"{graph.base_url}{path}", headers={**ADVANCED, "Authorization": f"Bearer {token}"}, verify=trust
        )
        assert allowed.status_code == 200
    missing = http.get("/groups/00000000-0000-0000-0000-00000000dead/transitiveMembers", headers=ADVANCED)
    assert _error(missing) == (404, "Request_ResourceNotFound")
    assert "00000000-0000-0000-0000-00000000dead" in missing.json()["error"]["message"]


def test_malformed_requests_are_refused(http: httpx.Client, sellers: Group) -> None:
    base = f"/groups/{sellers.id}/transitiveMembers"
    first = http.get(f"{base}/microsoft.graph.user?$count=true", headers=ADVANCED).json()
    tampered = first["@odata.nextLink"][:-4] + "AAAA"
    assert _error(http.get(tampered, headers=ADVANCED)) == (400, "Request_BadRequest")
    # A page token is bound to its listing: it does not page another one.
    token = first["@odata.nextLink"].split("$skiptoken=")[1]
    assert _error(http.get(f"{base}?$skiptoken={token}")) == (400, "Request_BadRequest")
    assert _error(http.get(f"{base}?$top=1000")) == (400, "Request_UnsupportedQuery")
    assert _error(http.get(f"{base}?$select=id,jobTitle")) == (400, "Request_BadRequest")
    selected = http.get(f"{base}/microsoft.graph.user?$count=true&$select=id", headers=ADVANCED).json()
    assert all(set(u) == {"@odata.type", "id"} for u in selected["value"])
    assert _error(http.get(f"{base}?$filter=startswith(displayName,'E')")) == (501, "NotImplemented")
    assert _error(http.get(f"/groups/{sellers.id}/owners")) == (400, "BadRequest")
    assert _error(http.get(f"{base}/microsoft.graph.device?$count=true", headers=ADVANCED)) == (
        501,
        "NotImplemented",
    )
    assert _error(http.post(base)) == (405, "Request_BadRequest")
