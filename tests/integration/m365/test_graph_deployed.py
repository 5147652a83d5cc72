"""Graph discovery as deployed: started by ``create_app`` from an organizer group alone, its state in the shared
database under a lease, and the people's preferred languages carried on every discovered call."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from dealtalk.api.app import create_app
from dealtalk.contracts.config import Settings
from dealtalk.contracts.documents import LanguageHint
from dealtalk.contracts.events import RecordingDiscovered
from dealtalk.emulators.graph import Tenant
from dealtalk.emulators.identity import AppRegistration, TokenIssuer
from dealtalk.ingest.graph.factory import load_graph_ingest, load_graph_session
from dealtalk.pipeline.graph_state import DatabaseDiscoveryState
from dealtalk.pipeline.store import Database, open_database
from dealtalk.pipeline.store.coordination import GraphStateRow
from dealtalk.pipeline.store.schema import BusMessageRow, RecordingRow

from .conftest import APP_ID, APP_SECRET, GRAPH, GRAPH_ROLES

MARK = "mark.jansen@schoonenberg.nl"


def _fresh_state(database_url: str) -> Database:
    """Start from a tenant nobody synced yet, whatever an earlier test left in the session's database."""
    database = open_database(database_url)
    with database.session() as session:
        session.execute(delete(GraphStateRow))
    return database


def _wait(condition: Callable[[], bool], timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_an_organizer_group_alone_starts_discovery_in_the_api(
    graph_settings: Settings, tenant: Tenant, issuer: TokenIssuer
) -> None:
    issuer.register_app(AppRegistration(APP_ID, APP_SECRET, {GRAPH: GRAPH_ROLES | {"GroupMember.Read.All"}}))
    sellers = tenant.add_group("Sellers", [u.id for u in tenant.users.values()])
    graph = graph_settings.graph.model_copy(
        update={"organizers": (), "organizer_group_id": sellers.id, "notification_url": ""}
    )
    settings = graph_settings.model_copy(update={"graph": graph})
    database = open_database(settings.database_url)

    def registered() -> set[str]:
        with database.session() as session:
            return set(session.scalars(select(RecordingRow.recording_id)))

    try:
        with TestClient(create_app(settings)) as client:
            assert client.get("/health").status_code == 200
            assert _wait(lambda: registered() == {r.id for r in tenant.recordings}, 60), registered()
        with database.session() as session:
            queued = session.scalars(select(BusMessageRow.key)).all()
        # Registered and handed on together: one queued event per recording, none twice.
        assert sorted(queued) == sorted(r.id for r in tenant.recordings)
    finally:
        database.dispose()


def test_discovered_calls_carry_the_people_s_preferred_languages(
    graph_settings: Settings, tenant: Tenant
) -> None:
    mark = tenant.user(MARK)
    assert mark is not None and mark.preferred_language == "nl-NL"
    tenant.user("sanne.bakker@schoonenberg.nl").preferred_language = None  # type: ignore[union-attr]
    events: list[RecordingDiscovered] = []
    session = load_graph_session(graph_settings)
    try:
        load_graph_ingest(graph_settings, emit=events.append, session=session).discovery.run_delta_sync()
    finally:
        session.close()
    by_id = {e.recording_id: e for e in events}
    assert by_id["rec-2026-11-18-northwind"].meeting.language_hints == (
        LanguageHint(language="nl", source="organizer.preferredLanguage"),
    )
    assert by_id["rec-2026-11-18-northwind"].meeting.locale is None  # Graph's meeting has none
    # A seller who never set a language gives no hint (the audio decides alone), and no error.
    brightlab = by_id["rec-2026-11-20-brightlab"]
    assert brightlab.meeting.organizer is not None
    assert brightlab.meeting.organizer.email == "sanne.bakker@schoonenberg.nl"
    assert brightlab.meeting.language_hints == ()


def test_discovery_state_in_the_database_is_shared_by_replicas(
    graph_settings: Settings, database_url: str
) -> None:
    """Two replicas' ingests on one database: what one emitted, the other does not emit again."""
    database = _fresh_state(database_url)
    first: list[RecordingDiscovered] = []
    second: list[RecordingDiscovered] = []
    sessions = [load_graph_session(graph_settings) for _ in range(2)]
    try:
        for events, session in zip((first, second), sessions, strict=True):
            ingest = load_graph_ingest(
                graph_settings, emit=events.append, session=session, state=DatabaseDiscoveryState(database)
            )
            ingest.sync()
        assert len(first) == 3 and second == []
        state = DatabaseDiscoveryState(database)
        assert len(state.subscriptions()) == 3  # created once, by the first replica
        assert all(state.delta_link(record.organizer_id) for record in state.subscriptions())
    finally:
        for session in sessions:
            session.close()
        database.dispose()


@pytest.mark.parametrize("ttl_s", [1.0])
def test_one_lease_holder_at_a_time_and_takeover_after_expiry(database_url: str, ttl_s: float) -> None:
    from dealtalk.pipeline.store.leases import Lease

    database = open_database(database_url)
    try:
        ttl = timedelta(seconds=ttl_s)
        a, b = (
            Lease(database, "graph-discovery", "a", ttl=ttl),
            Lease(database, "graph-discovery", "b", ttl=ttl),
        )
        assert a.hold() and not b.hold()
        assert a.hold() and not b.hold()  # renewed by its holder only
        time.sleep(ttl_s + 0.2)  # a died: no renewal
        assert b.hold() and not a.hold()
        b.release()  # a graceful stop hands over at once
        assert a.hold()
    finally:
        database.dispose()


def test_replayed_and_stale_notifications_register_nothing_twice(
    graph_settings: Settings, tenant: Tenant, database_url: str
) -> None:
    """A duplicate or replayed notification, and one for a recording the tenant no longer has: each ends in a
    stored or clearly skipped state, on the shared database, never a second call or an error."""
    from dealtalk.ingest.graph.notifications import NotificationWork
    from dealtalk.pipeline.bus.embedded import EmbeddedBus
    from dealtalk.pipeline.bus.outlet import EmbeddedOutlet
    from dealtalk.pipeline.discovery import bus_emitter

    database = _fresh_state(database_url)
    session = load_graph_session(graph_settings)
    try:
        outlet = EmbeddedOutlet(EmbeddedBus(database, graph_settings.bus))
        ingest = load_graph_ingest(
            graph_settings,
            emit=bus_emitter(database, outlet),
            session=session,
            state=DatabaseDiscoveryState(database),
        )
        ingest.sync()  # creates the subscriptions and registers the three sample calls
        mark = tenant.user(MARK)
        assert mark is not None
        meeting = next(m for m in tenant.meetings.values() if m.organizer_id == mark.id)
        added = tenant.add_recording(meeting, b"\x00" * 2048, duration_s=30.0)
        owner = next(s for s in DatabaseDiscoveryState(database).subscriptions() if s.organizer_id == mark.id)
        work = NotificationWork("created", owner.id, meeting.id, added.id)
        for _ in range(3):  # Graph may deliver a notification more than once
            ingest.handle(work)
        gone = tenant.add_recording(meeting, b"\x01" * 2048, duration_s=30.0)
        tenant.remove_recording(gone.id)
        ingest.handle(NotificationWork("created", owner.id, meeting.id, gone.id))  # 404: skipped
        with database.session() as db:
            registered = db.scalars(select(RecordingRow.recording_id)).all()
            queued = db.scalars(select(BusMessageRow.key)).all()
        assert sorted(registered) == sorted(queued)  # registered and queued together, each once
        assert added.id in registered and gone.id not in registered
        assert len(registered) == 4
    finally:
        session.close()
        database.dispose()
