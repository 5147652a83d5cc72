"""Build the Graph pieces from settings (one ``GraphSession`` per process is enough; share it)."""

from __future__ import annotations

from datetime import timedelta

from dealtalk.contracts.config import Settings
from dealtalk.contracts.errors import ConfigurationError
from dealtalk.ingest.graph.discovery import Emit, GraphDiscovery
from dealtalk.ingest.graph.fetcher import GraphRecordingFetcher
from dealtalk.ingest.graph.organizers import OrganizerDirectory
from dealtalk.ingest.graph.service import GraphIngest
from dealtalk.ingest.graph.session import GraphSession
from dealtalk.ingest.graph.state import DiscoveryState, FileDiscoveryState
from dealtalk.ingest.graph.subscriptions import SubscriptionManager, SubscriptionPlan

__all__ = ["load_graph_fetcher", "load_graph_ingest", "load_graph_session"]


def load_graph_session(settings: Settings) -> GraphSession:
    """A Graph session for ``settings.graph``.

    Raises:
        ConfigurationError: tenant, app id or secret is missing.
    """
    graph = settings.graph
    secret = graph.client_secret.get_secret_value() if graph.client_secret else ""
    missing = [
        name
        for name, value in (
            ("DEALTALK_GRAPH__TENANT_ID", graph.tenant_id),
            ("DEALTALK_GRAPH__CLIENT_ID", graph.client_id),
            ("DEALTALK_GRAPH__CLIENT_SECRET", secret),
        )
        if not value
    ]
    if missing:
        raise ConfigurationError(f"Graph ingest needs {', '.join(missing)}")
    assert graph.client_secret is not None
    return GraphSession(
        tenant_id=graph.tenant_id,
        client_id=graph.client_id,
        client_secret=graph.client_secret,
        base_url=graph.base_url,
        authority_host=graph.authority_host,
        scope=graph.scope,
        ca_bundle=graph.ca_bundle,
        timeout_s=graph.timeout_s,
    )


def load_graph_fetcher(settings: Settings, *, session: GraphSession | None = None) -> GraphRecordingFetcher:
    """The ``RecordingFetcher`` for ``source == "graph"`` events (partial downloads under ``{data_dir}/graph``)."""
    return GraphRecordingFetcher(
        session or load_graph_session(settings), settings.data_dir / "graph" / "partial"
    )


def load_graph_ingest(
    settings: Settings,
    *,
    emit: Emit,
    session: GraphSession | None = None,
    state: DiscoveryState | None = None,
) -> GraphIngest:
    """Discovery (delta sync with its state under ``{data_dir}/graph``) plus subscriptions when configured.

    Args:
        settings: the application settings.
        emit: publishes each ``RecordingDiscovered`` (e.g. onto the bus).
        session: a session to share with the fetcher; None builds one.
        state: where delta links and subscriptions live (the shared database in a service); None keeps them in
            a file under ``{data_dir}/graph`` (one process only).

    Raises:
        ConfigurationError: Graph credentials or organizers (UPNs or a group) are missing, or the notification
            settings are incomplete (a notification URL without a lifecycle URL or client state).
    """
    graph = settings.graph
    if not graph.organizers and not graph.organizer_group_id:
        raise ConfigurationError(
            "set DEALTALK_GRAPH__ORGANIZERS to the sellers' UPNs (a JSON list), "
            "DEALTALK_GRAPH__ORGANIZER_GROUP_ID to the object id of the sellers' group, or both"
        )
    session = session or load_graph_session(settings)
    state = state or FileDiscoveryState(settings.data_dir / "graph" / "state.json")
    organizers = OrganizerDirectory(
        session, state, organizers=graph.organizers, group_id=graph.organizer_group_id
    )
    discovery = GraphDiscovery(
        session,
        state,
        organizers=organizers,
        tenant=settings.tenant,
        emit=emit,
        lookback_days=graph.lookback_days,
        language_hints=graph.language_hints,
    )
    manager = None
    if graph.notification_url:
        if graph.client_state is None:
            raise ConfigurationError("DEALTALK_GRAPH__CLIENT_STATE is required with a notification URL")
        plan = SubscriptionPlan(
            notification_url=graph.notification_url,
            lifecycle_url=graph.lifecycle_notification_url,
            client_state=graph.client_state,
            lifetime=timedelta(minutes=graph.subscription_lifetime_min),
            renew_before=timedelta(seconds=graph.renew_before_s),
        )
        manager = SubscriptionManager(session, state, plan)
    return GraphIngest(discovery, manager)
