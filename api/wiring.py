"""Everything the analyst API adds to the app: problem details, authentication, the routers, readiness and
request metrics. ``create_app`` calls ``install_api(app, settings)`` once; ``check_exposure`` guards
``dealtalk serve``.

Outside authentication stay only: ``/health`` (liveness), ``/ready`` (readiness), ``/metrics`` and the Graph
webhook routes (which accept only validation handshakes and notifications whose clientState matches).
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRoute
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from dealtalk.api.auth.deps import AuthContext
from dealtalk.api.auth.oidc import router as signin_router
from dealtalk.api.auth.tokens import BearerVerifier
from dealtalk.api.directory import load_directory
from dealtalk.api.problems import install_problem_handlers, problem_response
from dealtalk.api.routers.calls import router as calls_router
from dealtalk.api.routers.common import AnyRoleDep
from dealtalk.api.routers.feedback import router as feedback_router
from dealtalk.api.routers.risks import router as risks_router
from dealtalk.contracts.config import Settings
from dealtalk.contracts.errors import ConfigurationError
from dealtalk.pipeline.resources import Resources

__all__ = ["PUBLIC_PATHS", "ApiMetrics", "check_exposure", "install_api"]

PUBLIC_PATHS = frozenset({"/health", "/ready", "/metrics", "/graph/notifications", "/graph/lifecycle"})


class ApiMetrics:
    """Requests per route template and status, and their latency (own registry: one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "dealtalk_api_requests", "API requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "dealtalk_api_request_seconds",
            "API request latency",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 10.0),
        )

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def check_exposure(host: str, settings: Settings) -> None:
    """Refuse to serve without authentication anywhere but on a loopback address.

    Raises:
        ConfigurationError: ``DEALTALK_API__AUTH=off`` on a non-loopback host.
    """
    if settings.api.auth == "on":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise ConfigurationError(
            f"DEALTALK_API__AUTH=off serves every call to anyone who reaches {host}; bind to 127.0.0.1 "
            "or turn authentication on"
        )


def install_api(app: FastAPI, settings: Settings) -> None:
    """Add the analyst API to ``app`` (whose lifespan puts the ``Resources`` on ``app.state.resources``)."""
    install_problem_handlers(app)
    lock = threading.Lock()
    directory = load_directory(settings)
    metrics = ApiMetrics()
    app.state.api_metrics = metrics

    @app.middleware("http")
    async def attach_auth(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if not hasattr(app.state, "auth"):
            with lock:
                if not hasattr(app.state, "auth"):
                    resources: Resources = app.state.resources
                    app.state.auth = AuthContext(
                        settings=settings.api,
                        database=resources.database,
                        verifier=BearerVerifier(settings.api),
                        directory=directory,
                    )
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        template = route.path if isinstance(route, APIRoute) else "unmatched"
        metrics.requests.labels(request.method, template, str(response.status_code)).inc()
        metrics.latency.labels(request.method, template).observe(time.perf_counter() - started)
        return response

    @app.get("/ready", tags=["operations"], summary="Readiness")
    def ready(request: Request) -> Response:
        """200 when the database answers; 503 otherwise (the load balancer then sends no traffic here)."""
        resources: Resources = request.app.state.resources
        try:
            with resources.database.session() as session:
                session.connection().exec_driver_sql("SELECT 1")
        except Exception:  # noqa: BLE001 - any failure means "not ready"; the kind is not the caller's business
            return problem_response(request, 503, "the database does not answer")
        return Response('{"status":"ready"}', media_type="application/json")

    for router in (signin_router, calls_router, risks_router, feedback_router):
        app.include_router(router)
    _document_behind_sign_in(app)


def _document_behind_sign_in(app: FastAPI) -> None:
    """The OpenAPI document and its Swagger page, for signed-in callers only (they describe the data)."""
    hidden = {app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    app.router.routes = [r for r in app.router.routes if getattr(r, "path", None) not in hidden]

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(principal: AnyRoleDep) -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    def docs(principal: AnyRoleDep) -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="dealtalk API")
