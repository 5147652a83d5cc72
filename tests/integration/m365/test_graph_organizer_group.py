"""Organizers from a group: the product's msgraph-sdk client reads ``transitiveMembers/microsoft.graph.user``
from the Graph emulator on every sync, merges it with configured UPNs, and keeps deltaLinks consistent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from dealtalk.contracts.config import Settings
from dealtalk.contracts.errors import ConfigurationError
from dealtalk.contracts.events import RecordingDiscovered
from dealtalk.emulators.graph import GraphEmulator, Tenant
from dealtalk.emulators.graph.state import User
from dealtalk.emulators.identity import AppRegistration, TokenIssuer
from dealtalk.ingest.graph.factory import load_graph_ingest, load_graph_session
from dealtalk.ingest.graph.service import GraphIngest
from dealtalk.ingest.graph.session import GraphSession
from dealtalk.ingest.graph.state import FileDiscoveryState

from .conftest import APP_ID, APP_SECRET, GRAPH, GRAPH_ROLES

EVA, MARK, SANNE = (
    "eva.devries@schoonenberg.nl",
    "mark.jansen@schoonenberg.nl",
    "sanne.bakker@schoonenberg.nl",
)
# make_ingest(events, organizers=[...], group_id="...") -> GraphIngest on its own session
MakeIngest = Callable[..., GraphIngest]


@pytest.fixture(autouse=True)
def _group_permission(issuer: TokenIssuer) -> None:
    """The app as documented for a group of organizers: the meeting roles plus GroupMember.Read.All."""
    issuer.register_app(AppRegistration(APP_ID, APP_SECRET, {GRAPH: GRAPH_ROLES | {"GroupMember.Read.All"}}))


@pytest.fixture
def closing_sessions() -> Iterator[list[GraphSession]]:
    sessions: list[GraphSession] = []
    yield sessions
    for session in sessions:
        session.close()


@pytest.fixture
def make_ingest(graph_settings: Settings, closing_sessions: list[GraphSession]) -> MakeIngest:
    def make(events: list[RecordingDiscovered], *, organizers: list[str], group_id: str) -> GraphIngest:
        graph = graph_settings.graph.model_copy(
            update={"organizers": tuple(organizers), "organizer_group_id": group_id}
        )
        settings = graph_settings.model_copy(update={"graph": graph})
        session = load_graph_session(settings)
        closing_sessions.append(session)
        return load_graph_ingest(settings, emit=events.append, session=session)

    return make


def _user(tenant: Tenant, upn: str) -> User:
    user = tenant.user(upn)
    assert user is not None
    return user


def _recordings_of(tenant: Tenant, *users: User) -> set[str]:
    ids = {u.id for u in users}
    return {r.id for r in tenant.recordings if r.organizer_id in ids}


def _add_recording(tenant: Tenant, user: User, minutes_after: int) -> str:
    meeting = next(m for m in tenant.meetings.values() if m.organizer_id == user.id)
    created = meeting.end + timedelta(minutes=minutes_after)
    return tenant.add_recording(meeting, b"\x00" * 2048, duration_s=60.0, created=created).id


def _member_requests(graph: GraphEmulator) -> list[tuple[str, str]]:
    return [
        (r.target, r.header("consistencylevel"))
        for r in graph.server.requests
        if r.path.startswith("/v1.0/groups/")
    ]


def test_organizers_come_from_a_nested_group(
    make_ingest: MakeIngest, graph: GraphEmulator, tenant: Tenant
) -> None:
    eva, sanne = _user(tenant, EVA), _user(tenant, SANNE)
    lisa = tenant.add_user("lisa.vermeer@schoonenberg.nl", "Lisa Vermeer")  # a new seller, no calls yet
    team = tenant.add_group("Team Noord", [sanne.id])
    sellers = tenant.add_group("Sellers", [eva.id, team.id, lisa.id])
    events: list[RecordingDiscovered] = []
    ingest = make_ingest(events, organizers=[], group_id=sellers.id)

    outcome = ingest.sync()

    assert set(outcome.subscriptions) == {eva.id, sanne.id, lisa.id}  # Mark is not in the group
    assert {e.recording_id for e in events} == _recordings_of(tenant, eva, sanne)
    requests = _member_requests(graph)
    assert len(requests) == 2  # three users at two a page
    assert all(level == "eventual" for _, level in requests)
    assert "$count=true" in requests[0][0] and "$skiptoken=" in requests[1][0]


def test_membership_changes_between_syncs(
    make_ingest: MakeIngest, graph: GraphEmulator, tenant: Tenant, graph_settings: Settings
) -> None:
    eva, mark, sanne = _user(tenant, EVA), _user(tenant, MARK), _user(tenant, SANNE)
    sellers = tenant.add_group("Sellers", [eva.id, mark.id])
    events: list[RecordingDiscovered] = []
    ingest = make_ingest(events, organizers=[], group_id=sellers.id)
    ingest.sync()
    assert {e.recording_id for e in events} == _recordings_of(tenant, eva, mark)

    # Mark leaves the sales team; both record a call meanwhile, Sanne joins.
    sellers.member_ids.remove(mark.id)
    sellers.member_ids.append(sanne.id)
    marks_call, evas_call = _add_recording(tenant, mark, 30), _add_recording(tenant, eva, 30)
    before = len(graph.server.requests)
    left = ingest.sync()
    assert left.subscriptions == {eva.id: "kept", sanne.id: "created", mark.id: "deleted"}
    assert set(left.delta.emitted) == {evas_call} | _recordings_of(tenant, sanne)
    assert not any(mark.id in r.path for r in graph.server.requests[before:] if "getAllRecordings" in r.path)
    state = FileDiscoveryState(graph_settings.data_dir / "graph" / "state.json")
    assert state.delta_link(mark.id) is not None  # kept, so that re-adding him resumes

    sellers.member_ids.append(mark.id)
    back = ingest.sync()
    assert back.subscriptions[mark.id] == "created"
    # Resumed from his deltaLink: only the call made while he was out, nothing replayed, no resync.
    assert back.delta.emitted == [marks_call]
    assert back.delta.already_seen == 0 and back.delta.resynced == []
    assert len(events) == len({e.recording_id for e in events})


def test_configured_upns_and_group_overlap_once(
    make_ingest: MakeIngest, graph: GraphEmulator, tenant: Tenant
) -> None:
    eva, mark, sanne = _user(tenant, EVA), _user(tenant, MARK), _user(tenant, SANNE)
    sellers = tenant.add_group("Sellers", [sanne.id, eva.id, mark.id])
    events: list[RecordingDiscovered] = []
    # Eva by UPN, Mark by his object id in upper case, and both in the group as well.
    ingest = make_ingest(events, organizers=[EVA, mark.id.upper()], group_id=sellers.id)

    assert ingest.discovery.organizer_ids() == [eva.id, mark.id, sanne.id]
    outcome = ingest.sync()
    assert set(outcome.subscriptions) == {eva.id, mark.id, sanne.id} and len(graph.subscriptions.items) == 3
    assert sorted(e.recording_id for e in events) == sorted(_recordings_of(tenant, eva, mark, sanne))
    first_pages = [
        r.path for r in graph.server.requests if r.path.endswith("/delta") and "getAllRecordings" in r.path
    ]
    assert len(first_pages) == 3  # one delta round per seller, however they were configured


def test_missing_group_permission_names_it(
    make_ingest: MakeIngest, issuer: TokenIssuer, tenant: Tenant
) -> None:
    issuer.register_app(AppRegistration(APP_ID, APP_SECRET, {GRAPH: set(GRAPH_ROLES)}))
    sellers = tenant.add_group("Sellers", [_user(tenant, EVA).id])
    ingest = make_ingest([], organizers=[], group_id=sellers.id)
    with pytest.raises(ConfigurationError, match=r"GroupMember\.Read\.All") as caught:
        ingest.sync()
    assert "403 Authorization_RequestDenied" in str(caught.value) and sellers.id in str(caught.value)
    assert not caught.value.retriable


def test_unknown_group_names_the_setting(make_ingest: MakeIngest) -> None:
    missing = "0b7c3d2e-1f4a-4b5c-8d6e-7f8091a2b3c4"
    ingest = make_ingest([], organizers=[EVA], group_id=missing)
    with pytest.raises(ConfigurationError, match="DEALTALK_GRAPH__ORGANIZER_GROUP_ID") as caught:
        ingest.sync()
    assert f"No group has the object id {missing}" in str(caught.value)
    assert "404 Request_ResourceNotFound" in str(caught.value)
