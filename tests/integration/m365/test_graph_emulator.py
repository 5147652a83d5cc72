"""The Graph emulator rejects what Graph rejects (raw HTTP, no product code)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from dealtalk.emulators.graph import GraphEmulator, Tenant
from dealtalk.emulators.identity import AppRegistration, TokenIssuer

from .conftest import APP_ID, GRAPH, Webhook

EVA = "eva.devries@schoonenberg.nl"


def _token(issuer: TokenIssuer, roles: set[str] | None = None) -> str:
    if roles is not None:
        issuer.register_app(AppRegistration("limited-app", "x", {GRAPH: roles}))
        return issuer.issue("limited-app", GRAPH)
    return issuer.issue(APP_ID, GRAPH)


@pytest.fixture
def http(issuer: TokenIssuer, graph: GraphEmulator, trust: ssl.SSLContext) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=graph.base_url, headers={"Authorization": f"Bearer {_token(issuer)}"}, verify=trust
    ) as client:
        yield client


def _code(response: httpx.Response) -> tuple[int, str]:
    body = response.json()["error"]
    assert {"code", "message", "innerError"} <= set(body)
    return response.status_code, body["code"]


def _eva(tenant: Tenant) -> str:
    user = tenant.user(EVA)
    assert user is not None
    return user.id


def test_tokens_roles_and_access_policy(
    http: httpx.Client, graph: GraphEmulator, issuer: TokenIssuer, tenant: Tenant, trust: ssl.SSLContext
) -> None:
    eva = _eva(tenant)
    path = f"/users/{eva}/onlineMeetings/{next(iter(tenant.meetings))}"
    assert _code(httpx.get(f"{graph.base_url}{path}", verify=trust)) == (401, "InvalidAuthenticationToken")
    wrong_audience = issuer.issue(APP_ID, "https://example.org")
    issuer.resources.add("https://example.org")
    assert (
        httpx.get(
            f"{graph.base_url}{path}", headers={"Authorization": f"Bearer {wrong_audience}"}, verify=trust
        ).status_code
        == 401
    )
    no_roles = _token(issuer, {"User.Read.All"})
    assert _code(
        httpx.get(f"{graph.base_url}{path}", headers={"Authorization": f"Bearer {no_roles}"}, verify=trust)
    ) == (
        403,
        "Forbidden",
    )
    tenant.policy_users.discard(eva)
    denied = http.get(path)
    assert denied.status_code == 403 and "No application access policy" in denied.json()["error"]["message"]


def test_get_all_recordings_needs_a_quoted_organizer(http: httpx.Client, tenant: Tenant) -> None:
    eva = _eva(tenant)
    base = f"/users/{eva}/onlineMeetings"
    assert http.get(f"{base}/getAllRecordings(meetingOrganizerUserId='{eva}')").status_code == 200
    # The SDK's alias form, reported to fail against Graph with a syntax error.
    alias = http.get(
        f"{base}/getAllRecordings(meetingOrganizerUserId=@meetingOrganizerUserId)?@meetingOrganizerUserId='{eva}'"
    )
    assert _code(alias) == (400, "BadRequest")
    assert http.get(f"{base}/getAllRecordings()").status_code == 400
    via_filter = http.get(
        f"{base}/getAllRecordings", params={"$filter": f"MeetingOrganizer/User/Id eq '{eva}'"}
    )
    assert via_filter.status_code == 200  # the documented $filter form
    assert http.get(f"{base}/getAllRecordings").status_code == 400  # neither form
    assert http.post(f"{base}/getAllRecordings(meetingOrganizerUserId='{eva}')").status_code == 405


def test_delta_links_are_absolute_and_tokens_tamper_proof(
    http: httpx.Client, graph: GraphEmulator, tenant: Tenant
) -> None:
    eva = _eva(tenant)
    first = http.get(
        f"/users/{eva}/onlineMeetings/getAllRecordings(meetingOrganizerUserId='{eva}')/delta"
    ).json()
    link = first["@odata.deltaLink"]
    assert link.startswith(graph.base_url) and "skipToken=" in link
    assert http.get(link).json()["value"] == []  # nothing new since
    assert _code(http.get(link[:-3] + "abc")) == (400, "BadRequest")
    graph.expire_delta_tokens()
    assert _code(http.get(link)) == (410, "resyncRequired")


def test_content_ranges_and_metering(http: httpx.Client, graph: GraphEmulator, tenant: Tenant) -> None:
    recording = tenant.recordings[0]
    url = f"/users/{recording.organizer_id}/onlineMeetings/{recording.meeting_id}/recordings/{recording.id}/content"
    partial = http.get(url, headers={"Range": "bytes=10-", "If-Range": recording.etag})
    assert partial.status_code == 206 and partial.content == recording.content[10:]
    stale = http.get(url, headers={"Range": "bytes=10-", "If-Range": '"other"'})
    assert stale.status_code == 200 and stale.content == recording.content
    assert http.get(url, headers={"Range": f"bytes={len(recording.content)}-"}).status_code == 416
    graph.evaluation_minutes = 0
    assert _code(http.get(url)) == (402, "PaymentRequired")
    graph.billing_configured = True
    assert http.get(url).status_code == 200
    graph.inject(429, retry_after_s=7)
    throttled = http.get(url)
    assert _code(throttled) == (429, "TooManyRequests") and throttled.headers["retry-after"] == "7"


def _subscription(webhook: Webhook, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "changeType": "created",
        "notificationUrl": f"{webhook.url}/notifications",
        "lifecycleNotificationUrl": f"{webhook.url}/lifecycle",
        "resource": "communications/onlineMeetings/getAllRecordings",
        "expirationDateTime": (datetime.now(UTC) + timedelta(days=2)).isoformat(),
        "clientState": "c",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def test_subscription_rules(http: httpx.Client, graph: GraphEmulator, webhook: Webhook) -> None:
    too_long = (datetime.now(UTC) + timedelta(minutes=4400)).isoformat()
    assert (
        http.post("/subscriptions", json=_subscription(webhook, expirationDateTime=too_long)).status_code
        == 400
    )
    refused = http.post("/subscriptions", json=_subscription(webhook, lifecycleNotificationUrl=None))
    assert (
        refused.status_code == 400
        and "lifecycleNotificationUrl is required" in refused.json()["error"]["message"]
    )
    assert http.post("/subscriptions", json=_subscription(webhook, changeType="updated")).status_code == 400
    assert http.post("/subscriptions", json=_subscription(webhook, resource="me/messages")).status_code == 400
    assert http.post("/subscriptions", json=_subscription(webhook, clientState="x" * 129)).status_code == 400
    graph.subscriptions.allow_http_loopback = False
    assert http.post("/subscriptions", json=_subscription(webhook)).status_code == 400  # HTTPS only
    graph.subscriptions.allow_http_loopback = True
    broken = _subscription(webhook, notificationUrl=f"{webhook.url}/nowhere")
    failed = http.post("/subscriptions", json=broken)
    assert _code(failed) == (400, "ValidationError") and not graph.subscriptions.items
    created = http.post("/subscriptions", json=_subscription(webhook))
    assert created.status_code == 201
    subscription = created.json()
    renewed = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert (
        http.patch(f"/subscriptions/{subscription['id']}", json={"expirationDateTime": renewed}).status_code
        == 200
    )
    add_lifecycle = {"lifecycleNotificationUrl": f"{webhook.url}/lifecycle"}
    assert http.patch(f"/subscriptions/{subscription['id']}", json=add_lifecycle).status_code == 400
    assert http.post(f"/subscriptions/{subscription['id']}/reauthorize").status_code == 204
    assert http.delete(f"/subscriptions/{subscription['id']}").status_code == 204
    assert http.get(f"/subscriptions/{subscription['id']}").status_code == 404
