"""Browser sign-in: OpenID Connect authorization code flow with PKCE against Entra ID (MSAL), then a session.

``GET /auth/login?return_to=/calls/…/report`` starts a flow (kept server-side under its ``state``, bound to
this browser by a short-lived random cookie) and redirects to Entra's authorize page. ``GET /auth/callback``
redeems the code with the PKCE verifier, validates the ID token (signature, issuer, audience, expiry, nonce),
starts a session under a fresh id and returns to the report. ``POST /auth/logout`` ends it (CSRF-checked).
"""

from __future__ import annotations

import hashlib
import secrets
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from dealtalk.api.auth.deps import AuthContext, authenticate, cookie_name, require
from dealtalk.api.auth.principal import ROLES, Principal
from dealtalk.api.auth.sessions import create_session, delete_session, pop_flow, save_flow
from dealtalk.api.auth.tokens import InvalidToken
from dealtalk.api.problems import Problem

__all__ = ["router"]

router = APIRouter(prefix="/auth", tags=["sign-in"])
_FLOW_COOKIE = "dealtalk-signin"


def _safe_return(target: str | None) -> str:
    # Only local paths: an absolute or scheme-relative URL here would be an open redirect.
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target[:2000]


@contextmanager
def _msal_app(context: AuthContext) -> Iterator[Any]:
    """An MSAL confidential client for one sign-in step (blocking: call it in a worker thread)."""
    import msal

    from dealtalk.publisher.dataverse.auth import MsalHttpClient

    s = context.settings
    if not (s.tenant_id and s.client_id and s.client_secret):
        raise Problem(404, "browser sign-in is not configured (DEALTALK_API__CLIENT_SECRET and the app ids)")
    # httpx, so that the configured CA bundle is really used (requests lets REQUESTS_CA_BUNDLE override it).
    http = MsalHttpClient(ca_bundle=s.ca_bundle, timeout_s=30.0)
    try:
        yield msal.ConfidentialClientApplication(
            s.client_id,
            client_credential=s.client_secret.get_secret_value(),
            authority=f"{s.authority_host.rstrip('/')}/{s.tenant_id}",
            # Our authority comes from our own settings: the "is this a Microsoft host" lookup adds nothing.
            instance_discovery=False,
            http_client=http,
            token_cache=msal.TokenCache(),
        )
    finally:
        http.close()


def _start_flow(context: AuthContext, redirect_uri: str) -> dict[str, Any]:
    with _msal_app(context) as app, warnings.catch_warnings():
        # MSAL recommends response_mode=form_post; we keep the query mode on purpose: the flow is bound to the
        # browser by a SameSite=Lax cookie, which a cross-site form POST would not carry (form_post would need
        # a SameSite=None cookie instead). The code is single-use and PKCE-bound either way.
        warnings.filterwarnings(
            "ignore", message="response_mode='form_post' is recommended", category=UserWarning
        )
        flow: dict[str, Any] = app.initiate_auth_code_flow(scopes=[], redirect_uri=redirect_uri)
        return flow


def _redeem(context: AuthContext, flow: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
    with _msal_app(context) as app:
        result: dict[str, Any] = app.acquire_token_by_auth_code_flow(flow, params)
        return result


def _redirect_uri(request: Request, context: AuthContext) -> str:
    base = context.settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")
    return f"{base}/auth/callback"


@router.get("/login", include_in_schema=False)
async def login(request: Request, return_to: str | None = None) -> Response:
    context: AuthContext = request.app.state.auth
    flow = await anyio.to_thread.run_sync(_start_flow, context, _redirect_uri(request, context))
    binding = secrets.token_urlsafe(32)
    await anyio.to_thread.run_sync(
        lambda: save_flow(
            context.database, flow["state"], flow, binding=binding, return_to=_safe_return(return_to)
        )
    )
    response = RedirectResponse(flow["auth_uri"], status_code=302)
    response.set_cookie(
        _FLOW_COOKIE,
        binding,
        max_age=600,
        httponly=True,
        secure=context.settings.cookie_secure,
        samesite="lax",
        path="/auth",
    )
    return response


@router.get("/callback", include_in_schema=False)
async def callback(request: Request) -> Response:
    context: AuthContext = request.app.state.auth
    params = dict(request.query_params)
    binding = request.cookies.get(_FLOW_COOKIE, "")
    taken = await anyio.to_thread.run_sync(
        lambda: pop_flow(context.database, params.get("state", ""), binding=binding)
    )
    if taken is None:
        raise Problem(400, "this sign-in is unknown, expired or was started in another browser; start again")
    flow, return_to = taken
    if "error" in params:
        raise Problem(403, f"sign-in failed: {params['error'][:100]}")
    result = await anyio.to_thread.run_sync(_redeem, context, flow, params)
    if "id_token" not in result:
        raise Problem(401, f"sign-in failed: {str(result.get('error', 'no ID token'))[:100]}")
    # MSAL sends the SHA-256 of its secret nonce to Entra, which echoes it in the ID token.
    sent_nonce = hashlib.sha256(str(flow["nonce"]).encode()).hexdigest()
    try:
        person = await anyio.to_thread.run_sync(
            lambda: context.verifier.verify_id_token(result["id_token"], nonce=sent_nonce)
        )
    except InvalidToken as exc:
        raise Problem(401, f"sign-in failed: {exc}") from exc
    systemuser = context.directory.user_for_oid(person.id)
    if systemuser is not None:
        from dataclasses import replace

        person = replace(person, systemuser_id=systemuser)
    session_id = await anyio.to_thread.run_sync(
        lambda: create_session(context.database, person, max_age_s=context.settings.session_max_age_s)
    )
    response = RedirectResponse(return_to, status_code=303)
    response.delete_cookie(_FLOW_COOKIE, path="/auth")
    response.set_cookie(
        cookie_name(context.settings),
        session_id,
        max_age=context.settings.session_max_age_s,
        httponly=True,
        secure=context.settings.cookie_secure,
        samesite=context.settings.cookie_samesite,
        path="/",
    )
    return response


@router.get("/me", summary="Who am I", tags=["sign-in"])
async def me(principal: Annotated[Principal, Depends(require(*ROLES))]) -> dict[str, Any]:
    """The signed-in caller, their roles, and (for browser sessions) the CSRF token that writes must send."""
    return {
        "id": principal.id,
        "name": principal.name,
        "kind": principal.kind,
        "roles": sorted(principal.roles),
        "csrf_token": principal.csrf_token,
    }


@router.post("/logout", include_in_schema=False)
async def logout(request: Request) -> Response:
    context: AuthContext = request.app.state.auth
    await authenticate(request)  # a session's logout is a write: it needs the CSRF token
    session_id = request.cookies.get(cookie_name(context.settings))
    if session_id:
        await anyio.to_thread.run_sync(lambda: delete_session(context.database, session_id))
    response = Response(status_code=204)
    response.delete_cookie(cookie_name(context.settings), path="/", secure=context.settings.cookie_secure)
    return response
