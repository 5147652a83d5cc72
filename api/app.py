"""The HTTP API: analysts query calls and risk signals; operators get health and metrics.

``create_app(settings)`` is the composition root of the API process: its lifespan opens the store once and
hands it to the routes through ``app.state``; nothing heavy (models) is loaded here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from dealtalk.api.deps import ResourcesDep
from dealtalk.api.routes import router as query_router
from dealtalk.pipeline import __version__
from dealtalk.pipeline.config import Settings
from dealtalk.pipeline.errors import DealtalkError
from dealtalk.pipeline.resources import Resources

__all__ = ["create_app"]


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.resources = Resources.open(settings)
        try:
            yield
        finally:
            app.state.resources.close()

    app = FastAPI(title="dealtalk", version=__version__, lifespan=lifespan)

    @app.exception_handler(DealtalkError)
    async def _dealtalk_error(_request: Request, exc: DealtalkError) -> JSONResponse:
        status = 503 if exc.retriable else 400
        return JSONResponse(status_code=status, content={"error": type(exc).__name__, "message": str(exc)})

    @app.get("/health")
    def health(resources: ResourcesDep) -> dict[str, str]:
        with resources.database.session() as session:
            session.connection().exec_driver_sql("SELECT 1")
        return {"status": "ok", "version": __version__, "database": resources.database.dialect}

    @app.get("/metrics", response_class=PlainTextResponse)
    def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest().decode(), media_type=CONTENT_TYPE_LATEST)

    app.include_router(query_router)
    return app
