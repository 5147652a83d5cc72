"""The authentication dependency and ``require(*roles)``: every route of the API declares its roles with it.

Credentials, in order: ``Authorization: Bearer <Entra token>`` (or ``Bearer dtk_…`` / ``X-API-Key: dtk_…``
for API keys), then the browser's session cookie. A session authenticates writes only with its CSRF token in
``X-CSRF-Token`` and a same-origin ``Origin``; bearer and key callers need neither (browsers never send them
on their own).
"""

from __future__ import annotations

import secrets
import urllib.parse
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import anyio
from fastapi import Request

from dealtalk.api.auth.apikeys import authenticate_key
from dealtalk.api.auth.principal import ROLES, Principal, Role
from dealtalk.api.auth.sessions import load_session
from dealtalk.api.auth.tokens import BearerVerifier, InvalidToken
from dealtalk.api.directory import Directory
from dealtalk.api.problems import Problem
from dealtalk.contracts.api_settings import ApiSettings
from dealtalk.pipeline.store import Database

__all__ = ["AuthContext", "authenticate", "cookie_name", "require"]

_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="dealtalk"'}


@dataclass(frozen=True, slots=True)
class AuthContext:
    """What authentication needs, built once by the app (``app.state.auth``)."""

    settings: ApiSettings
    database: Database
    verifier: BearerVerifier
    directory: Directory


def cookie_name(settings: ApiSettings) -> str:
    # __Host- binds the cookie to this exact host, https only, path /: a sibling subdomain cannot plant one.
    return "__Host-dealtalk-session" if settings.cookie_secure else "dealtalk-session"


def _invalid(detail: str) -> Problem:
    return Problem(
        401,
        detail,
        headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{detail}"'},
    )


async def authenticate(request: Request) -> Principal:
    """The caller, or a 401 problem."""
    context: AuthContext = request.app.state.auth
    if context.settings.auth == "off":
        return Principal(kind="anonymous", id="anonymous", name="anonymous", roles=frozenset(ROLES))
    authorization = request.headers.get("authorization", "")
    scheme, _, credential = authorization.partition(" ")
    key = request.headers.get("x-api-key", "")
    if authorization and scheme.lower() != "bearer":
        raise _invalid("use the Bearer scheme")
    credential = credential.strip()
    if key or credential.startswith("dtk_"):
        principal = await anyio.to_thread.run_sync(
            authenticate_key, context.database, key or credential, context.settings.api_key_pepper
        )
        if principal is None:
            raise _invalid("the API key is invalid, revoked or expired")
    elif credential:
        try:
            principal = await anyio.to_thread.run_sync(context.verifier.verify, credential)
        except InvalidToken as exc:
            raise _invalid(str(exc)) from exc
    else:
        session_id = request.cookies.get(cookie_name(context.settings), "")
        found = (
            await anyio.to_thread.run_sync(load_session, context.database, session_id) if session_id else None
        )
        if found is None:
            raise Problem(401, "sign in, or send a bearer token or API key", headers=_CHALLENGE)
        if request.method not in _SAFE_METHODS:
            _check_csrf(request, found)
        principal = found
    if principal.systemuser_id is None and principal.kind != "apikey":
        systemuser = context.directory.user_for_oid(principal.id)
        if systemuser is not None:
            principal = Principal(
                kind=principal.kind,
                id=principal.id,
                name=principal.name,
                roles=principal.roles,
                systemuser_id=systemuser,
                csrf_token=principal.csrf_token,
            )
    return principal


def _check_csrf(request: Request, principal: Principal) -> None:
    token = request.headers.get("x-csrf-token", "")
    if not principal.csrf_token or not secrets.compare_digest(token, principal.csrf_token):
        raise Problem(403, "a browser write needs the session's CSRF token in X-CSRF-Token")
    origin = request.headers.get("origin")
    if origin is not None and urllib.parse.urlsplit(origin).netloc != request.headers.get("host", ""):
        raise Problem(403, "cross-origin writes are refused")


def require(*roles: Role) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
    """A dependency that authenticates and then demands one of ``roles`` (403 otherwise)."""
    wanted = frozenset(roles)

    async def dependency(request: Request) -> Principal:
        principal = await authenticate(request)
        if not principal.has_any(wanted):
            raise Problem(403, f"this needs one of the roles: {', '.join(sorted(wanted))}")
        request.state.principal = principal
        return principal

    dependency.roles = wanted  # type: ignore[attr-defined]  # read by tests: every route declares its roles
    return dependency
