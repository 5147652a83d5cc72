"""Browser sign-in: OpenID Connect authorization code flow with PKCE against Entra ID (MSAL), then a session.

``GET /auth/login?return_to=/calls/…/report`` starts a flow (kept server-side under its ``state``, bound to
this browser by a short-lived random cookie) and redirects to Entra's authorize page. ``GET /auth/callback``
redeems the code with the PKCE verifier, validates the ID token (signature, issuer, audience, expiry, nonce),
starts a session under a fresh id and returns to the report. ``POST /auth/logout`` ends it (CSRF-checked).
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from dealtalk.api.auth.deps import AuthContext, authenticate, cookie_name
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


def _msal_app(context: AuthContext) -> Any:
    import msal

    s = context.settings
    if not (s.tenant_id and s.client_id and s.client_secret):
        raise Problem(404, "browser sign-in is not configured (DEALTALK_API__CLIENT_SECRET and the app ids)")
    return msal.ConfidentialClientApplication(
        s.client_id,
        client_credential=s.client_secret.get_secret_value(),
        authority=f"{s.authority_host.rstrip('/')}/{s.tenant_id}",
        validate_authority=s.authority_host.rstrip("/") == "https://login.microsoftonline.com",
        instance_discovery=False,
        verify=str(s.ca_bundle) if s.ca_bundle else True,
    )


def _redirect_uri(request: Request, context: AuthContext) -> str:
    base = context.settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")
    return f"{base}/auth/callback"


@router.get("/login", include_in_schema=False)
async def login(request: Request, return_to: str | None = None) -> Response:
    context: AuthContext = request.app.state.auth
    app = _msal_app(context)
    flow: dict[str, Any] = await anyio.to_thread.run_sync(
        lambda: app.initiate_auth_code_flow(scopes=[], redirect_uri=_redirect_uri(request, context))
    )
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
    app = _msal_app(context)
    result: dict[str, Any] = await anyio.to_thread.run_sync(
        lambda: app.acquire_token_by_auth_code_flow(flow, params)
    )
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
async def me(request: Request) -> dict[str, Any]:
    """The signed-in caller, their roles, and (for browser sessions) the CSRF token that writes must send."""
    principal = await authenticate(request)
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
