"""Each divergence of the Graph emulator found in issue 14, pinned by the behaviour Microsoft documents.

Raw Graph requests over HTTPS (httpx with the test CA); each test names the page it checks against.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from dealtalk.emulators.graph import GraphEmulator, Tenant
from dealtalk.emulators.identity import AppRegistration, TokenIssuer

from ..conftest import APP_ID, CLIENT_STATE, GRAPH, GRAPH_ROLES, Webhook

EVA, MARK = "eva.devries@schoonenberg.nl", "mark.jansen@schoonenberg.nl"
OTHER_APP = "7d1c0b9a-0000-4000-8000-0000000000aa"


def _client(graph: GraphEmulator, token: str, trust: ssl.SSLContext) -> httpx.Client:
    return httpx.Client(base_url=graph.base_url, headers={"Authorization": f"Bearer {token}"}, verify=trust)


@pytest.fixture
def http(graph: GraphEmulator, issuer: TokenIssuer, trust: ssl.SSLContext) -> Iterator[httpx.Client]:
    with _client(graph, issuer.issue(APP_ID, GRAPH), trust) as client:
        yield client


def _error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def _user_id(tenant: Tenant, upn: str) -> str:
    user = tenant.user(upn)
    assert user is not None
    return user.id


def _subscription(webhook: Webhook, resource: str) -> dict[str, Any]:
    return {
        "changeType": "created",
        "notificationUrl": f"{webhook.url}/notifications",
        "lifecycleNotificationUrl": f"{webhook.url}/lifecycle",
        "resource": resource,
        "expirationDateTime": (datetime.now(UTC) + timedelta(hours=2)).isoformat(),
        "clientState": CLIENT_STATE,
    }


def test_subscriptions_belong_to_their_app(
    http: httpx.Client,
    graph: GraphEmulator,
    issuer: TokenIssuer,
    tenant: Tenant,
    webhook: Webhook,
    trust: ssl.SSLContext,
) -> None:
    """https://learn.microsoft.com/graph/api/subscription-get and subscription-delete: an app sees, renews and
    deletes the subscriptions it created; another app's id is not found."""
    created = http.post(
        "/subscriptions",
        json=_subscription(webhook, f"users/{_user_id(tenant, EVA)}/onlineMeetings/getAllRecordings"),
    )
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    issuer.register_app(AppRegistration(OTHER_APP, "x", {GRAPH: set(GRAPH_ROLES)}))
    with _client(graph, issuer.issue(OTHER_APP, GRAPH), trust) as other:
        assert _error(other.get(f"/subscriptions/{sid}")) == (404, "ResourceNotFound")
        later = (datetime.now(UTC) + timedelta(hours=3)).isoformat()
        assert other.patch(f"/subscriptions/{sid}", json={"expirationDateTime": later}).status_code == 404
        assert other.delete(f"/subscriptions/{sid}").status_code == 404
        assert other.get("/subscriptions").json()["value"] == []
    assert http.get(f"/subscriptions/{sid}").status_code == 200


def test_subscription_operations_need_the_resource_permission(
    http: httpx.Client,
    graph: GraphEmulator,
    issuer: TokenIssuer,
    tenant: Tenant,
    webhook: Webhook,
    trust: ssl.SSLContext,
) -> None:
    """subscription-post-subscriptions / subscription-get (Permissions): the permission the resource needs
    (OnlineMeetingRecording.Read.All) is needed to read, renew or delete the subscription too."""
    resource = f"users/{_user_id(tenant, EVA)}/onlineMeetings/getAllRecordings"
    sid = http.post("/subscriptions", json=_subscription(webhook, resource)).json()["id"]
    issuer.register_app(AppRegistration(APP_ID, "s", {GRAPH: {"User.Read.All"}}))  # the role was removed
    with _client(graph, issuer.issue(APP_ID, GRAPH), trust) as reduced:
        assert _error(reduced.get(f"/subscriptions/{sid}")) == (403, "Forbidden")
        assert _error(reduced.delete(f"/subscriptions/{sid}")) == (403, "Forbidden")
        assert _error(reduced.post("/subscriptions", json=_subscription(webhook, resource))) == (
            403,
            "Forbidden",
        )


def test_user_scoped_subscriptions_honour_the_access_policy(
    http: httpx.Client, tenant: Tenant, webhook: Webhook
) -> None:
    """https://learn.microsoft.com/graph/cloud-communication-online-meeting-application-access-policy: an app
    reads a user's meeting artefacts only under a policy that covers the user; the subscription too."""
    eva = _user_id(tenant, EVA)
    tenant.policy_users.discard(eva)
    refused = http.post(
        "/subscriptions", json=_subscription(webhook, f"users/{eva}/onlineMeetings/getAllRecordings")
    )
    assert _error(refused) == (403, "Forbidden")
    assert "application access policy" in refused.json()["error"]["message"]


def _delta_url(tenant: Tenant, organizer: str, start: str | None = None) -> str:
    start = start or (min(r.created for r in tenant.recordings) - timedelta(days=1)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    return (
        f"/users/{organizer}/onlineMeetings/getAllRecordings(meetingOrganizerUserId='{organizer}',"
        f"startDateTime={start})/delta"
    )


def test_paging_tokens_are_bound_to_their_organizer(http: httpx.Client, tenant: Tenant) -> None:
    """callrecording-delta: the delta and skip tokens are opaque state of one query; replaying Eva's token
    in Mark's query is refused."""
    eva, mark = _user_id(tenant, EVA), _user_id(tenant, MARK)
    link = http.get(_delta_url(tenant, eva)).json()
    while "@odata.nextLink" in link:
        link = http.get(link["@odata.nextLink"]).json()
    token = link["@odata.deltaLink"].split("skipToken=", 1)[1]
    replayed = http.get(f"{_delta_url(tenant, mark)}?skipToken={token}")
    assert _error(replayed) == (400, "BadRequest")
    assert http.get(f"{_delta_url(tenant, eva)}?skipToken={token}").status_code == 200


@pytest.mark.parametrize("top", ["ten", "0", "-1"])
def test_top_must_be_a_positive_number(http: httpx.Client, tenant: Tenant, top: str) -> None:
    """https://learn.microsoft.com/graph/query-parameters: $top is a number of items; anything else is a 400."""
    assert _error(http.get(_delta_url(tenant, _user_id(tenant, EVA)), params={"$top": top})) == (
        400,
        "BadRequest",
    )


def test_unknown_query_options_are_refused(http: httpx.Client, tenant: Tenant) -> None:
    """https://learn.microsoft.com/graph/query-parameters: options an endpoint does not support answer 400."""
    eva = _user_id(tenant, EVA)
    assert _error(http.get(_delta_url(tenant, eva), params={"$orderby": "createdDateTime"})) == (
        400,
        "BadRequest",
    )
    assert _error(http.get(f"/users/{EVA}", params={"$expand": "manager"})) == (400, "BadRequest")
    assert _error(http.get("/subscriptions", params={"$top": "1"})) == (400, "BadRequest")


def test_malformed_start_date_time_is_a_400(http: httpx.Client, tenant: Tenant) -> None:
    """onlinemeeting-getallrecordings: startDateTime is an Edm.DateTimeOffset; a malformed one is a 400."""
    answer = http.get(_delta_url(tenant, _user_id(tenant, EVA), start="yesterday"))
    assert _error(answer) == (400, "BadRequest") and "startDateTime" in answer.json()["error"]["message"]
