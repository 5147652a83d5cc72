"""The HTTP API: analysts query calls and risk signals; operators get health and metrics.

``create_app(settings)`` is the composition root of the API process: its lifespan opens the store once and
hands it to the routes through ``app.state``; nothing heavy (models) is loaded here.
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
from dealtalk.pipeline import __version__
from dealtalk.pipeline.config import Settings
from dealtalk.pipeline.errors import ConfigurationError
from dealtalk.pipeline.resources import Resources

if TYPE_CHECKING:
    from dealtalk.ingest.graph.service import GraphRuntime

__all__ = ["create_app"]


def create_app(settings: Settings) -> FastAPI:
    """The API for ``settings``. With Graph configured (tenant and organizers), this process also runs Teams
    discovery: the change-notification webhook plus the periodic delta sync (run it in one API process only:
    the discovery state lives in a file under the data dir)."""
    graph_enabled = bool(settings.graph.tenant_id and settings.graph.organizers)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resources = Resources.open(settings)
        app.state.resources = resources
        with ExitStack() as cleanup:
            cleanup.callback(resources.close)
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
    """Delta sync on a timer plus a queue for webhook work; discoveries go onto the bus with the recording."""
    from dealtalk.ingest.graph.bus import bus_emitter
    from dealtalk.ingest.graph.factory import load_graph_ingest, load_graph_session
    from dealtalk.ingest.graph.service import GraphRuntime

    session = load_graph_session(settings)
    cleanup.callback(session.close)
    ingest = load_graph_ingest(settings, emit=bus_emitter(resources.bus), session=session)
    runtime = GraphRuntime(ingest, interval_s=settings.graph.delta_interval_s)
    cleanup.callback(runtime.close)
    return runtime
