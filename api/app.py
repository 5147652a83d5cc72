"""The HTTP API: analysts query calls and risk signals; operators get health and metrics.

``create_app(settings)`` builds the API process's app: its lifespan opens the composition root's ``Resources``
once and hands it to the routes through ``app.state``; nothing heavy (models) is loaded here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from dealtalk.api.deps import ResourcesDep
from dealtalk.api.notifications import graph_notification_router
from dealtalk.api.wiring import install_api
from dealtalk.contracts.config import Settings
from dealtalk.contracts.errors import ConfigurationError
from dealtalk.pipeline import __version__
from dealtalk.pipeline.resources import Resources

if TYPE_CHECKING:
    from dealtalk.ingest.graph.service import GraphRuntime

__all__ = ["create_app"]


def create_app(settings: Settings) -> FastAPI:
    """The API for ``settings``. With Graph configured (tenant plus organizers and/or an organizer group), this
    process also runs Teams discovery: every replica answers the change-notification webhook; the delta sync
    and subscription renewals run on one replica at a time, under a lease in the shared database. On Kafka, an
    outbox relay sends what discovery and manual links committed."""
    graph = settings.graph
    graph_enabled = bool(graph.tenant_id and (graph.organizers or graph.organizer_group_id))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resources = Resources.open(settings)
        app.state.resources = resources
        with ExitStack() as cleanup:
            cleanup.callback(resources.close)
            relay = resources.outbox_relay()
            if relay is not None:
                cleanup.callback(relay.close)
            if graph_enabled:
                app.state.graph = _start_graph(settings, resources, cleanup)
            yield

    app = FastAPI(title="dealtalk", version=__version__, lifespan=lifespan)
    if graph_enabled:
        if settings.graph.client_state is None:
            raise ConfigurationError(
                "Graph notifications need DEALTALK_GRAPH__CLIENT_STATE (a random secret)"
            )
        app.include_router(
            graph_notification_router(
                client_state=settings.graph.client_state, submit=lambda work: app.state.graph.submit(work)
            )
        )

    install_api(app, settings)

    @app.get("/health")
    def health(resources: ResourcesDep) -> dict[str, str]:
        with resources.database.session() as session:
            session.connection().exec_driver_sql("SELECT 1")
        return {"status": "ok", "version": __version__, "database": resources.database.dialect}

    @app.get("/metrics", response_class=PlainTextResponse)
    def metrics() -> PlainTextResponse:
        text = generate_latest().decode() + app.state.api_metrics.exposition().decode()
        return PlainTextResponse(text, media_type=CONTENT_TYPE_LATEST)

    return app


def _start_graph(settings: Settings, resources: Resources, cleanup: ExitStack) -> GraphRuntime:
    """Webhook work queue plus the lease-guarded delta sync; discoveries go onto the bus with the recording."""
    runtime = resources.graph_runtime()
    cleanup.callback(runtime.close)
    return runtime
