"""The product's Graph side (msgraph-sdk + azure-identity, httpx streaming) against the emulators."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from dealtalk.contracts.config import Settings
from dealtalk.contracts.errors import ConfigurationError, InvalidInput, RetryLater
from dealtalk.contracts.events import RecordingDiscovered
from dealtalk.emulators.graph import GraphEmulator, Tenant
from dealtalk.emulators.identity import TokenIssuer
from dealtalk.ingest.graph.factory import load_graph_fetcher, load_graph_ingest, load_graph_session
from dealtalk.ingest.graph.service import GraphIngest, NotificationQueue
from dealtalk.ingest.graph.session import GraphSession
from dealtalk.pipeline.blobs import LocalBlobStore

from .conftest import Webhook

MARK = "mark.jansen@schoonenberg.nl"


@pytest.fixture
def session(graph_settings: Settings) -> Iterator[GraphSession]:
    graph_session = load_graph_session(graph_settings)
    yield graph_session
    graph_session.close()


@pytest.fixture
def events() -> list[RecordingDiscovered]:
    return []


@pytest.fixture
def ingest(graph_settings: Settings, session: GraphSession, events: list[RecordingDiscovered]) -> GraphIngest:
    return load_graph_ingest(graph_settings, emit=events.append, session=session)


def _add_recording(tenant: Tenant, upn: str, minutes_after: int, content: bytes = b"\x00" * 4096) -> str:
    organizer = tenant.user(upn)
    assert organizer is not None
    meeting = next(m for m in tenant.meetings.values() if m.organizer_id == organizer.id)
    created = meeting.end + timedelta(minutes=minutes_after)
    return tenant.add_recording(meeting, content, duration_s=60.0, created=created).id


def _wait(condition: object, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.02)


def test_delta_sync_pages_and_emits_each_recording_once(
    ingest: GraphIngest, events: list[RecordingDiscovered], graph: GraphEmulator, tenant: Tenant
) -> None:
    extra = [_add_recording(tenant, MARK, i + 1) for i in range(3)]  # Mark has 4 recordings: 2 pages of 2
    first = ingest.discovery.run_delta_sync()
    assert sorted(first.emitted) == sorted(
        ["rec-2026-11-16-zuidhaven", "rec-2026-11-18-northwind", "rec-2026-11-20-brightlab", *extra]
    )
    assert any("skipToken" in r.target and "/delta" in r.target for r in graph.server.requests)
    northwind = next(e for e in events if e.recording_id == "rec-2026-11-18-northwind")
    assert northwind.source == "graph" and northwind.meeting.subject == "Northwind office cleaning SLA review"
    assert northwind.meeting.organizer is not None and northwind.meeting.organizer.email == MARK
    assert {(a.email, a.role) for a in northwind.meeting.attendees} == {
        ("sarah.miller@northwind-logistics.com", "customer"),
        ("tom.becker@northwind-logistics.com", "customer"),
    }
    assert northwind.source_ids["meeting_id"] == northwind.meeting.online_meeting_id
    assert ingest.discovery.run_delta_sync().emitted == []
    newest = _add_recording(tenant, MARK, 30)
    assert ingest.discovery.run_delta_sync().emitted == [newest]
    assert len(events) == len({e.recording_id for e in events}) == 7


def test_expired_delta_token_resyncs_without_duplicates(
    ingest: GraphIngest, events: list[RecordingDiscovered], graph: GraphEmulator, tenant: Tenant
) -> None:
    ingest.discovery.run_delta_sync()
    graph.expire_delta_tokens()
    newest = _add_recording(tenant, MARK, 5)
    report = ingest.discovery.run_delta_sync()
    assert report.emitted == [newest] and len(report.resynced) == 3 and report.already_seen == 3


def test_webhook_handshake_subscription_and_notification(
    ingest: GraphIngest,
    events: list[RecordingDiscovered],
    graph: GraphEmulator,
    tenant: Tenant,
    webhook: Webhook,
) -> None:
    queue = NotificationQueue(ingest)
    webhook.submit = queue.submit
    try:
        outcome = ingest.sync()
        assert set(outcome.subscriptions.values()) == {"created"}
        assert len(graph.subscriptions.items) == 3
        assert all(
            s.lifecycle_url and s.lifecycle_url.endswith("/lifecycle")
            for s in graph.subscriptions.items.values()
        )
        events.clear()
        recording_id = _add_recording(tenant, MARK, 10)
        recording = next(r for r in tenant.recordings if r.id == recording_id)
        assert graph.publish_recording(recording) == 1
        graph.subscriptions.join()
        queue.join()
        assert [e.recording_id for e in events] == [recording_id]
        delivery = next(d for s in graph.subscriptions.items.values() for d in s.deliveries)
        assert delivery["status"] == 202
        graph.publish_recording(recording)  # redelivered: no second event
        graph.subscriptions.join()
        queue.join()
        assert len(events) == 1
        assert ingest.sync().subscriptions == dict.fromkeys(ingest.discovery.organizer_ids(), "kept")
    finally:
        queue.close()


def test_wrong_client_state_is_dropped(webhook: Webhook, graph: GraphEmulator) -> None:
    import httpx

    forged = {
        "value": [
            {
                "subscriptionId": "x",
                "clientState": "guess",
                "changeType": "created",
                "resource": "communications/onlineMeetings('m')/recordings('r')",
            }
        ]
    }
    response = httpx.post(f"{webhook.url}/notifications", json=forged)
    assert response.status_code == 202 and webhook.received == []
    assert httpx.post(f"{webhook.url}/notifications", content=b"not json").status_code == 400
    handshake = httpx.post(f"{webhook.url}/notifications?validationToken=a%2Bb%20c%3D")
    assert (handshake.status_code, handshake.text) == (200, "a+b c=")
    assert handshake.headers["content-type"].startswith("text/plain")


def test_lifecycle_events_reauthorize_recreate_and_resync(
    ingest: GraphIngest,
    events: list[RecordingDiscovered],
    graph: GraphEmulator,
    tenant: Tenant,
    webhook: Webhook,
) -> None:
    queue = NotificationQueue(ingest)
    webhook.submit = queue.submit
    try:
        ingest.sync()
        assert ingest.subscriptions is not None
        organizer = tenant.user(MARK)
        assert organizer is not None
        subscription = next(s for s in graph.subscriptions.items.values() if organizer.id in s.resource)
        graph.subscriptions.lifecycle(subscription.id, "reauthorizationRequired")
        graph.subscriptions.join()
        queue.join()
        assert not subscription.needs_reauthorization

        # A recording whose notification never came (dropped), then "missed": the delta query finds it.
        missed = _add_recording(tenant, MARK, 20)
        graph.subscriptions.lifecycle(subscription.id, "missed")
        graph.subscriptions.join()
        queue.join()
        assert events[-1].recording_id == missed

        graph.subscriptions.lifecycle(subscription.id, "subscriptionRemoved")
        graph.subscriptions.join()
        queue.join()
        assert subscription.id not in graph.subscriptions.items
        assert ingest.subscriptions.owner(subscription.id) is None
        assert sum(organizer.id in s.resource for s in graph.subscriptions.items.values()) == 1
        assert queue.failed == 0
    finally:
        queue.close()


def _event_for(
    ingest: GraphIngest, events: list[RecordingDiscovered], recording_id: str
) -> RecordingDiscovered:
    if not events:
        ingest.discovery.run_delta_sync()
    return next(e for e in events if e.recording_id == recording_id)


def test_fetch_resumes_a_broken_download_and_gets_the_transcript(
    graph_settings: Settings,
    session: GraphSession,
    ingest: GraphIngest,
    events: list[RecordingDiscovered],
    graph: GraphEmulator,
    tenant: Tenant,
    tmp_path: Path,
) -> None:
    event = _event_for(ingest, events, "rec-2026-11-16-zuidhaven")
    content = next(r.content for r in tenant.recordings if r.id == event.recording_id)
    graph.break_downloads(after_bytes=700_000, count=2)
    blobs = LocalBlobStore(tmp_path / "blobs")
    fetched = load_graph_fetcher(graph_settings, session=session).fetch(event, blobs)
    assert fetched.audio.sha256 == hashlib.sha256(content).hexdigest()
    assert fetched.audio.size_bytes == len(content)
    ranges = [
        r.header("range")
        for r in graph.server.requests
        if r.path.endswith("/content") and "recordings" in r.path
    ]
    assert ranges == ["", "bytes=700000-", "bytes=1400000-"]
    assert fetched.teams_transcript is not None
    vtt = blobs.read_bytes(fetched.teams_transcript).decode()
    assert vtt.startswith("WEBVTT") and "<v Eva de Vries>" in vtt
    assert not list((graph_settings.data_dir / "graph" / "partial").iterdir())  # partial file cleaned up


def test_deleted_recording_is_invalid_input(
    graph_settings: Settings,
    session: GraphSession,
    ingest: GraphIngest,
    events: list[RecordingDiscovered],
    tenant: Tenant,
    tmp_path: Path,
) -> None:
    event = _event_for(ingest, events, "rec-2026-11-18-northwind")
    tenant.remove_recording(event.recording_id)
    with pytest.raises(InvalidInput, match="404"):
        load_graph_fetcher(graph_settings, session=session).fetch(event, LocalBlobStore(tmp_path / "blobs"))


def test_metered_content_without_billing_is_402(
    graph_settings: Settings,
    session: GraphSession,
    ingest: GraphIngest,
    events: list[RecordingDiscovered],
    graph: GraphEmulator,
    tmp_path: Path,
) -> None:
    event = _event_for(ingest, events, "rec-2026-11-16-zuidhaven")
    graph.evaluation_minutes = 1
    with pytest.raises(
        ConfigurationError, match=r"402 PaymentRequired.*aka.ms/teams-api-payment-requirements"
    ):
        load_graph_fetcher(graph_settings, session=session).fetch(event, LocalBlobStore(tmp_path / "blobs"))


def test_missing_access_policy_says_how_to_grant_it(ingest: GraphIngest, tenant: Tenant) -> None:
    organizer = tenant.user(MARK)
    assert organizer is not None
    tenant.policy_users.discard(organizer.id)
    with pytest.raises(ConfigurationError, match="Grant-CsApplicationAccessPolicy") as caught:
        ingest.discovery.run_delta_sync()
    assert "No application access policy found for this app" in str(caught.value)
    assert not caught.value.retriable


def test_throttling_is_retried_then_deferred(ingest: GraphIngest, graph: GraphEmulator) -> None:
    graph.inject(429, 1, retry_after_s=1)
    assert len(ingest.discovery.run_delta_sync().emitted) == 3  # the SDK's retry handler waited 1 s
    graph.inject(429, 4, retry_after_s=1)  # more than the SDK's 3 retries
    with pytest.raises(RetryLater) as caught:
        ingest.discovery.run_delta_sync()
    assert caught.value.defer_s == 1 and caught.value.retriable


def test_revoked_token_is_refreshed_once(ingest: GraphIngest, issuer: TokenIssuer) -> None:
    ingest.discovery.run_delta_sync()
    issued = issuer.issued
    issuer.revoke_all()
    ingest.discovery.run_delta_sync()
    assert issuer.issued == issued + 1


def test_runtime_syncs_periodically_and_takes_webhook_work(
    ingest: GraphIngest,
    events: list[RecordingDiscovered],
    graph: GraphEmulator,
    tenant: Tenant,
    webhook: Webhook,
) -> None:
    from dealtalk.ingest.graph.service import GraphRuntime

    runtime = GraphRuntime(ingest, interval_s=3600)
    webhook.submit = runtime.submit
    try:
        _wait(lambda: len(graph.subscriptions.items) == 3 and len(events) == 3)
        assert len(events) == 3  # the first round ran at start
        added = _add_recording(tenant, MARK, 40)
        recording = next(r for r in tenant.recordings if r.id == added)
        graph.publish_recording(recording)
        graph.subscriptions.join()
        _wait(lambda: len(events) == 4)
        assert events[-1].recording_id == recording.id
    finally:
        runtime.close()
