"""msgraph-sdk + azure-identity (unpatched) against the Graph emulator over HTTPS: the calls ingest/graph makes.

The client is built the documented way (``GraphClientFactory`` middleware on our httpx client with the test
CA as ``verify``, ``AzureIdentityAuthenticationProvider`` with ``ClientSecretCredential``); each test names the
Graph page whose behaviour it checks.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest
from azure.identity import ClientSecretCredential
from kiota_abstractions.api_error import APIError
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from msgraph.generated.groups.item.transitive_members.graph_user.graph_user_request_builder import (
    GraphUserRequestBuilder,
)
from msgraph.generated.models.subscription import Subscription
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph.graph_service_client import GraphServiceClient
from msgraph_core import GraphClientFactory

from dealtalk.emulators.graph import GraphEmulator, Tenant
from dealtalk.emulators.identity import AppRegistration, TokenIssuer

from ..conftest import APP_ID, APP_SECRET, CLIENT_STATE, GRAPH, GRAPH_ROLES, Webhook

T = TypeVar("T")
EVA = "eva.devries@schoonenberg.nl"
GRAPH_DOCS = "https://learn.microsoft.com/graph/api/"


def _run(
    graph: GraphEmulator,
    credential: ClientSecretCredential,
    trust: ssl.SSLContext,
    work: Callable[[GraphServiceClient], Awaitable[T]],
) -> T:
    async def main() -> T:
        # Our own transport, closed by us: msgraph-core's wrapping transport does not close the one it wraps.
        transport = httpx.AsyncHTTPTransport(verify=trust)
        try:
            async with httpx.AsyncClient(base_url=graph.base_url, transport=transport, timeout=20) as raw:
                http = GraphClientFactory.create_with_default_middleware(client=raw)
                auth = AzureIdentityAuthenticationProvider(credential, scopes=[f"{GRAPH}/.default"])
                adapter = GraphRequestAdapter(auth, client=http)
                adapter.base_url = graph.base_url
                return await work(GraphServiceClient(request_adapter=adapter))
        finally:
            await transport.aclose()

    return asyncio.run(main())


@pytest.fixture
def call(
    graph: GraphEmulator, credential: ClientSecretCredential, trust: ssl.SSLContext
) -> Callable[[Callable[[GraphServiceClient], Awaitable[Any]]], Any]:
    return lambda work: _run(graph, credential, trust, work)


def test_users_get(call: Any, tenant: Tenant) -> None:
    """user-get: GET /users/{upn}."""
    user = call(lambda c: c.users.by_user_id(EVA).get())
    assert user.user_principal_name == EVA and user.id == tenant.user(EVA).id  # type: ignore[union-attr]


def test_get_all_recordings_delta_pages_to_a_delta_link(
    call: Any, graph: GraphEmulator, tenant: Tenant
) -> None:
    """onlinemeeting-getallrecordings and callrecording-delta: nextLinks page, a deltaLink ends the round and
    replays only what was added since."""
    eva = tenant.user(EVA)
    assert eva is not None
    start = (min(r.created for r in tenant.recordings) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    url = (
        f"{graph.base_url}/users/{eva.id}/onlineMeetings/getAllRecordings("
        f"meetingOrganizerUserId='{eva.id}',startDateTime={start})/delta"
    )

    def page(link: str) -> Callable[[GraphServiceClient], Awaitable[Any]]:
        return lambda c: (
            c.users.by_user_id(eva.id)
            .online_meetings.by_online_meeting_id("-")
            .recordings.delta.with_url(link)
            .get()
        )

    seen: list[str] = []
    link: str | None = url
    delta_link = None
    while link:
        result = call(page(link))
        seen += [r.id for r in result.value]
        link, delta_link = result.odata_next_link, result.odata_delta_link
    assert sorted(seen) == sorted(r.id for r in tenant.recordings if r.organizer_id == eva.id)
    assert delta_link is not None
    assert call(page(delta_link)).value == []  # nothing new since the deltaLink


def test_recordings_transcripts_and_content(call: Any, tenant: Tenant) -> None:
    """https://learn.microsoft.com/graph/api/onlinemeeting-list-recordings, .../onlinemeeting-list-transcripts,
    .../calltranscript-get and .../callrecording-get (content: text/vtt and the video bytes)."""
    eva = tenant.user(EVA)
    assert eva is not None
    meeting = next(r.meeting_id for r in tenant.recordings if r.organizer_id == eva.id)
    meetings = call(lambda c: c.users.by_user_id(eva.id).online_meetings.by_online_meeting_id(meeting).get())
    assert meetings.id == meeting
    recordings = call(
        lambda c: c.users.by_user_id(eva.id).online_meetings.by_online_meeting_id(meeting).recordings.get()
    )
    assert [r.meeting_id for r in recordings.value] == [meeting]
    transcripts = call(
        lambda c: c.users.by_user_id(eva.id).online_meetings.by_online_meeting_id(meeting).transcripts.get()
    )
    transcript = transcripts.value[0]

    def content(c: GraphServiceClient) -> Awaitable[bytes | None]:
        item = c.users.by_user_id(eva.id).online_meetings.by_online_meeting_id(meeting)
        return item.transcripts.by_call_transcript_id(str(transcript.id)).content.get()

    vtt = call(content)
    assert vtt.startswith(b"WEBVTT")
    recording = next(r for r in tenant.recordings if r.meeting_id == meeting)

    def video(c: GraphServiceClient) -> Awaitable[bytes | None]:
        item = c.users.by_user_id(eva.id).online_meetings.by_online_meeting_id(meeting)
        return item.recordings.by_call_recording_id(recording.id).content.get()

    assert call(video) == recording.content  # the id holds "+" and "/": kiota escapes it in the path


def test_group_transitive_members_cast(call: Any, issuer: TokenIssuer, tenant: Tenant) -> None:
    """group-list-transitivemembers with the microsoft.graph.user cast: an advanced query ($count=true and
    ConsistencyLevel: eventual)."""
    issuer.register_app(AppRegistration(APP_ID, APP_SECRET, {GRAPH: GRAPH_ROLES | {"GroupMember.Read.All"}}))
    ids = [u.id for u in tenant.users.values()]
    group = tenant.add_group("Sellers", ids[:2])
    config: RequestConfiguration[GraphUserRequestBuilder.GraphUserRequestBuilderGetQueryParameters] = (
        RequestConfiguration(
            query_parameters=GraphUserRequestBuilder.GraphUserRequestBuilderGetQueryParameters(
                count=True, select=["id"]
            )
        )
    )
    config.headers.add("ConsistencyLevel", "eventual")
    members = call(
        lambda c: c.groups.by_group_id(group.id).transitive_members.graph_user.get(
            request_configuration=config
        )
    )
    assert sorted(u.id for u in members.value) == sorted(ids[:2])
    with pytest.raises(APIError) as refused:  # without the advanced query parameters the cast is refused
        call(lambda c: c.groups.by_group_id(group.id).transitive_members.graph_user.get())
    assert refused.value.response_status_code == 400


def test_subscription_create_renew_delete(call: Any, tenant: Tenant, webhook: Webhook) -> None:
    """subscription-post-subscriptions, subscription-update, subscription-delete (user-scoped getAllRecordings,
    validated notification URLs, lifecycle URL beyond an hour)."""
    eva = tenant.user(EVA)
    assert eva is not None
    body = Subscription(
        change_type="created",
        notification_url=f"{webhook.url}/notifications",
        lifecycle_notification_url=f"{webhook.url}/lifecycle",
        resource=f"users/{eva.id}/onlineMeetings/getAllRecordings",
        expiration_date_time=datetime.now(UTC) + timedelta(hours=2),
        client_state=CLIENT_STATE,
    )
    created = call(lambda c: c.subscriptions.post(body))
    assert created.id and created.application_id == APP_ID
    later = datetime.now(UTC) + timedelta(hours=3)
    renewed = call(
        lambda c: c.subscriptions.by_subscription_id(created.id).patch(
            Subscription(expiration_date_time=later)
        )
    )
    assert abs((renewed.expiration_date_time - later).total_seconds()) < 2
    call(lambda c: c.subscriptions.by_subscription_id(created.id).delete())
    with pytest.raises(APIError) as gone:
        call(lambda c: c.subscriptions.by_subscription_id(created.id).get())
    assert gone.value.response_status_code == 404
