"""The opt-out Entra group through the Graph emulator: members resolved with the organizer directory's group
reader, attendees' addresses turned into object ids, the member list reused until its time to live ends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dealtalk.contracts.config import Settings
from dealtalk.contracts.gdpr_settings import GdprSettings
from dealtalk.emulators.graph import Tenant
from dealtalk.emulators.identity import AppRegistration, TokenIssuer
from dealtalk.ingest.graph.factory import load_graph_session
from dealtalk.ingest.graph.session import GraphSession
from dealtalk.ingest.graph.state import FileDiscoveryState
from dealtalk.pipeline.gdpr.consent import consent_decision
from dealtalk.pipeline.gdpr.consent_graph import GraphGroupMembership
from tests.integration.m365.conftest import APP_ID, APP_SECRET, GRAPH, GRAPH_ROLES
from tests.unit.publisher.builders import sample_meetings


@pytest.fixture
def session(issuer: TokenIssuer, graph_settings: Settings) -> Iterator[GraphSession]:
    issuer.register_app(AppRegistration(APP_ID, APP_SECRET, {GRAPH: GRAPH_ROLES | {"GroupMember.Read.All"}}))
    graph_session = load_graph_session(graph_settings)
    yield graph_session
    graph_session.close()


def test_members_of_the_opt_out_group_are_recognised(
    session: GraphSession, tenant: Tenant, graph_settings: Settings
) -> None:
    mark = tenant.user("mark.jansen@schoonenberg.nl")
    eva = tenant.user("eva.devries@schoonenberg.nl")
    assert mark is not None and eva is not None
    group = tenant.add_group("No call analysis", [mark.id])
    now = [0.0]
    membership = GraphGroupMembership(
        session,
        group.id,
        state=FileDiscoveryState(graph_settings.data_dir / "optout.json"),
        ttl_s=60,
        clock=lambda: now[0],
    )
    settings = GdprSettings(opted_out_group_id=group.id)
    meetings = sample_meetings()
    decision = consent_decision(meetings["northwind"], settings, membership)  # Mark organised it
    assert decision is not None and decision.reason == "opted_out_group"
    assert consent_decision(meetings["zuidhaven"], settings, membership) is None  # Eva's call, a guest
    assert not membership("someone@elsewhere.example")  # no user of the tenant: not a member

    group.member_ids.append(eva.id)
    assert not membership("eva.devries@schoonenberg.nl")  # the member list is reused for its TTL
    now[0] = 61.0
    assert membership("eva.devries@schoonenberg.nl")
