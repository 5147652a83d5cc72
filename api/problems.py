"""Problem details (RFC 9457) for every error answer: ``application/problem+json`` with type, title, status,
detail and instance. Validation errors list the offending parameters; nothing internal leaks (an unexpected
exception is logged with its type and answered with a generic 500 problem).

A browser that opens a page (``Accept: text/html``) without being signed in is sent to the sign-in instead of
getting a 401 body: that is how the report link from Dynamics 365 reaches the report.
"""

from __future__ import annotations

import logging
import urllib.parse
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from dealtalk.contracts.errors import DealtalkError

__all__ = ["PROBLEM_RESPONSES", "Problem", "install_problem_handlers", "problem_response"]

logger = logging.getLogger(__name__)

_TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    422: "Invalid parameters",
    500: "Internal error",
    503: "Temporarily unavailable",
}

_PROBLEM_SCHEMA = {
    "content": {
        "application/problem+json": {
            "schema": {
                "type": "object",
                "properties": {
                    "type": {"type": "string"},
                    "title": {"type": "string"},
                    "status": {"type": "integer"},
                    "detail": {"type": "string"},
                    "instance": {"type": "string"},
                },
            },
            "example": {
                "type": "about:blank",
                "title": "Authentication required",
                "status": 401,
                "detail": "the token has expired",
                "instance": "/risks",
            },
        }
    }
}
# For the OpenAPI document: the error answers every authenticated route may give.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in, or the token/key is invalid or expired", **_PROBLEM_SCHEMA},
    403: {"description": "Signed in without the role this route needs", **_PROBLEM_SCHEMA},
    422: {"description": "Malformed parameters", **_PROBLEM_SCHEMA},
}


class Problem(Exception):
    """An error answer: raise it from a route or dependency."""

    def __init__(
        self, status: int, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


def problem_response(
    request: Request, status: int, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    accepts_html = "text/html" in request.headers.get("accept", "")
    if status == 401 and request.method == "GET" and accepts_html and "authorization" not in request.headers:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(
            f"/auth/login?{urllib.parse.urlencode({'return_to': target})}", status_code=303
        )
    body = {
        "type": "about:blank",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type="application/problem+json")


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` as a problem document."""

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        return problem_response(
            request, exc.status, exc.detail, headers=dict(exc.headers) if exc.headers else None, **exc.extra
        )

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers) if exc.headers else None
        return problem_response(request, exc.status_code, str(exc.detail), headers=headers)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"location": ".".join(str(p) for p in error.get("loc", ())), "message": str(error.get("msg", ""))}
            for error in exc.errors()
        ]
        return problem_response(request, 422, "the request's parameters are malformed", errors=errors)

    async def on_dealtalk(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DealtalkError)
        return problem_response(request, 503 if exc.retriable else 400, str(exc))

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        logger.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path)
        return problem_response(request, 500, "an unexpected error occurred; it has been logged")

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(DealtalkError, on_dealtalk)
    app.add_exception_handler(Exception, on_unexpected)
