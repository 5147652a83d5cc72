"""The sign-in half of the identity emulator: RS256 signing keys (JWKS), the authorize page and the
authorization-code grant with PKCE, as Entra ID answers them for a confidential web app.

``install_code_flow(emulator, provider)`` adds these routes to a running ``IdentityEmulator`` (its discovery
document already names them); requests it does not know go on to the emulator's own handler (client
credentials). Tokens are RS256 JWTs under keys the test controls (``SigningKeys``): tests also use them to
mint access tokens for the API, expired or for the wrong audience.

Test hooks: ``provider.signed_in`` is the user the authorize page signs in (no login UI); ``keys.rotate()``
publishes a new key first and keeps the old one. Errors follow Entra's shape (``AADSTSnnnn``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from .http import Request, Response, json_response
from .identity import IdentityEmulator, _aad_error

__all__ = ["CodeFlowProvider", "SigningKeys", "User", "WebApp", "install_code_flow"]


class SigningKeys:
    """RSA signing keys published as a JWKS; the first key signs."""

    def __init__(self, count: int = 2) -> None:
        self._keys: list[tuple[str, rsa.RSAPrivateKey]] = [self._new() for _ in range(count)]

    @staticmethod
    def _new() -> tuple[str, rsa.RSAPrivateKey]:
        return secrets.token_hex(10), rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def rotate(self) -> str:
        """Publish a new signing key first (the old ones stay published); returns its ``kid``."""
        self._keys.insert(0, self._new())
        return self._keys[0][0]

    def retire(self, kid: str) -> None:
        """Stop publishing (and signing with) the key ``kid``."""
        self._keys = [(k, key) for k, key in self._keys if k != kid]

    def unpublished(self) -> tuple[str, rsa.RSAPrivateKey]:
        """A key that is not in the JWKS (a token signed with it must be refused)."""
        return self._new()

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, key in self._keys:
            jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
            keys.append({**jwk, "kid": kid, "x5t": kid, "use": "sig"})
        return {"keys": keys}

    def sign(self, claims: dict[str, Any], *, key: tuple[str, rsa.RSAPrivateKey] | None = None) -> str:
        kid, private = key or self._keys[0]
        return jwt.encode(claims, private, algorithm="RS256", headers={"kid": kid, "typ": "JWT"})


@dataclass(frozen=True)
class User:
    oid: str
    name: str
    roles: tuple[str, ...]
    preferred_username: str = "user@schoonenberg.nl"


@dataclass(frozen=True)
class WebApp:
    """A confidential web app registration: its secret and its exact redirect URIs."""

    client_id: str
    secret: str
    redirect_uris: tuple[str, ...]


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str
    user: User
    expires: float
    used: bool = False


@dataclass
class CodeFlowProvider:
    """The tenant's sign-in state: web apps, the user who signs in next, issued codes."""

    tenant_id: str
    keys: SigningKeys
    apps: dict[str, WebApp] = field(default_factory=dict)
    signed_in: User | None = None
    codes: dict[str, _Code] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def issuer(self, base_url: str) -> str:
        return f"{base_url}/{self.tenant_id}/v2.0"

    def id_token(self, base_url: str, code: _Code) -> str:
        now = int(time.time())
        user = code.user
        return self.keys.sign(
            {
                "aud": code.client_id,
                "iss": self.issuer(base_url),
                "iat": now,
                "nbf": now,
                "exp": now + 3600,
                "name": user.name,
                "nonce": code.nonce,
                "oid": user.oid,
                "preferred_username": user.preferred_username,
                "roles": list(user.roles),
                "sid": str(uuid.uuid4()),
                "sub": hashlib.sha256(f"{user.oid}:{code.client_id}".encode()).hexdigest()[:43],
                "tid": self.tenant_id,
                "uti": secrets.token_urlsafe(16),
                "ver": "2.0",
            }
        )


def _form(request: Request) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))


def _page(status: int, body: str) -> Response:
    return Response(status, body.encode(), {"Content-Type": "text/html; charset=utf-8"})


def install_code_flow(emulator: IdentityEmulator, provider: CodeFlowProvider) -> None:
    """Serve the JWKS, the authorize page and the code grant on ``emulator`` (before its own routes)."""
    fallback = emulator.server.handler

    def handle(request: Request) -> Response:
        segments = [s for s in request.path.split("/") if s]
        if len(segments) < 2 or segments[0] != provider.tenant_id:
            return fallback(request)
        rest = "/".join(segments[1:])
        if request.method == "GET" and rest == "discovery/v2.0/keys":
            return json_response(200, provider.keys.jwks(), {"Cache-Control": "max-age=86400, private"})
        if rest == "oauth2/v2.0/authorize":
            return _authorize(emulator, provider, request)
        if request.method == "POST" and rest == "oauth2/v2.0/token" and b"authorization_code" in request.body:
            return _redeem(emulator, provider, request)
        return fallback(request)

    emulator.server.handler = handle


def _authorize(emulator: IdentityEmulator, provider: CodeFlowProvider, request: Request) -> Response:
    params = request.query if request.method == "GET" else _form(request)
    app = provider.apps.get(params.get("client_id", ""))
    redirect_uri = params.get("redirect_uri", "")
    if app is None or redirect_uri not in app.redirect_uris:
        # Never redirect to an unregistered address: an error page instead (AADSTS50011 / 700016).
        return _page(400, "<h1>Sign in</h1><p>AADSTS50011: The redirect URI does not match the app.</p>")
    state = params.get("state", "")
    if params.get("response_type") != "code" or params.get("code_challenge_method") != "S256":
        query = urllib.parse.urlencode(
            {
                "error": "invalid_request",
                "error_description": "AADSTS900144: PKCE S256 is required",
                "state": state,
            }
        )
        return Response(302, b"", {"Location": f"{redirect_uri}?{query}"})
    if request.method == "GET":
        # The sign-in page: in a browser its script submits at once as the test's signed-in user.
        user = provider.signed_in
        name = html.escape(user.name if user else "nobody")
        fields = "".join(
            f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>"
            for k, v in params.items()
        )
        return _page(
            200,
            "<!doctype html><title>Sign in to your account</title>"
            f"<form id='signin' method='post'>{fields}<button>Sign in as {name}</button></form>"
            "<script>document.getElementById('signin').submit()</script>",
        )
    user = provider.signed_in
    if user is None:
        query = urllib.parse.urlencode(
            {"error": "access_denied", "error_description": "AADSTS65004: User declined", "state": state}
        )
        return Response(302, b"", {"Location": f"{redirect_uri}?{query}"})
    code = secrets.token_urlsafe(32)
    with provider.lock:
        provider.codes[code] = _Code(
            client_id=app.client_id,
            redirect_uri=redirect_uri,
            challenge=params.get("code_challenge", ""),
            nonce=params.get("nonce", ""),
            user=user,
            expires=time.time() + 600,
        )
    query = urllib.parse.urlencode({"code": code, "state": state, "session_state": str(uuid.uuid4())})
    return Response(302, b"", {"Location": f"{redirect_uri}?{query}"})


def _client(request: Request, form: dict[str, str]) -> tuple[str, str]:
    authorization = request.header("authorization")
    if authorization.lower().startswith("basic "):
        decoded = base64.b64decode(authorization[6:]).decode()
        client_id, _, secret = decoded.partition(":")
        return urllib.parse.unquote(client_id), urllib.parse.unquote(secret)
    return form.get("client_id", ""), form.get("client_secret", "")


def _redeem(emulator: IdentityEmulator, provider: CodeFlowProvider, request: Request) -> Response:
    form = _form(request)
    client_id, secret = _client(request, form)
    app = provider.apps.get(client_id)
    if app is None:
        return _aad_error(400, "unauthorized_client", 700016, f"Application '{client_id}' was not found.")
    if not hmac.compare_digest(secret, app.secret):
        return _aad_error(401, "invalid_client", 7000215, "Invalid client secret provided.")
    with provider.lock:
        code = provider.codes.get(form.get("code", ""))
        if code is None or code.expires < time.time():
            return _aad_error(
                400, "invalid_grant", 70008, "The provided authorization code is expired or invalid."
            )
        if code.used:
            return _aad_error(400, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed.")
        code.used = True
    if code.client_id != client_id or form.get("redirect_uri") != code.redirect_uri:
        return _aad_error(
            400, "invalid_grant", 50011, "The redirect URI does not match the authorization request."
        )
    verifier = form.get("code_verifier", "")
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    if not hmac.compare_digest(challenge, code.challenge):
        return _aad_error(
            400, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge."
        )
    body: dict[str, Any] = {
        "token_type": "Bearer",
        "scope": form.get("scope", "openid profile offline_access"),
        "expires_in": 3599,
        "ext_expires_in": 3599,
        "access_token": secrets.token_urlsafe(48),  # for Graph, say: the API never reads it
        "id_token": provider.id_token(emulator.url, code),
    }
    if form.get("client_info") == "1":
        info = json.dumps({"uid": code.user.oid, "utid": provider.tenant_id}).encode()
        body["client_info"] = base64.urlsafe_b64encode(info).rstrip(b"=").decode()
    return json_response(200, body, {"Cache-Control": "no-store, no-cache"})
