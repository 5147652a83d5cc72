"""The Microsoft identity platform, as far as confidential clients use it: OIDC discovery, client credentials.

Served over HTTPS (MSAL and azure-identity refuse plain-HTTP authorities) with a certificate for 127.0.0.1
from a test CA (``tls.py``) whose certificate the emulator writes to disk (``ca_file``): clients are pointed
at it as a CA bundle.

Tokens are JWTs signed with HS256 under a key only this process knows; the Graph and Dataverse emulators
verify them through ``TokenIssuer.verify`` (same process) for signature, expiry, audience and app roles.
Error answers follow Entra ID's documented shape: ``{"error", "error_description": "AADSTSnnnn: …",
"error_codes": [n]}``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import ssl
import tempfile
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .http import EmulatorServer, Request, Response, json_response
from .tls import TestCA, make_test_ca

__all__ = ["AppRegistration", "IdentityEmulator", "TokenError", "TokenIssuer", "make_tls"]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class AppRegistration:
    """An app registration with a client secret and the application permissions granted per resource."""

    client_id: str
    secret: str
    # resource (token audience) -> app roles: {"https://graph.microsoft.com": {"OnlineMeetings.Read.All"}}
    roles: dict[str, set[str]] = field(default_factory=dict)


class TokenError(Exception):
    """Why a bearer token was refused (the caller turns it into its service's 401 body)."""


class TokenIssuer:
    """Issues and verifies the emulator's access tokens."""

    def __init__(self, tenant_id: str, *, lifetime_s: int = 3600) -> None:
        self.tenant_id = tenant_id
        self.lifetime_s = lifetime_s
        self.apps: dict[str, AppRegistration] = {}
        self.resources: set[str] = set()
        self.issued = 0
        self._key = secrets.token_bytes(32)
        self._not_before = 0.0
        self._lock = threading.Lock()

    def register_app(self, app: AppRegistration) -> None:
        self.apps[app.client_id] = app

    def revoke_all(self) -> None:
        """Invalidate every token issued so far (the next API call answers 401; a new token works)."""
        with self._lock:
            self._not_before = time.time() + 1e-3

    def issue(self, client_id: str, resource: str) -> str:
        now = time.time()
        app = self.apps[client_id]
        claims = {
            "aud": resource,
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "tid": self.tenant_id,
            "appid": client_id,
            "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"sp:{client_id}")),
            "roles": sorted(app.roles.get(resource, set())),
            "iat": int(now),
            "nbf": int(now),
            "exp": int(now + self.lifetime_s),
            "iat_precise": now,
        }
        header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = _b64url(json.dumps(claims).encode())
        signature = hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        with self._lock:
            self.issued += 1
        return f"{header}.{payload}.{_b64url(signature)}"

    def verify(self, authorization: str, *, audience: str) -> dict[str, Any]:
        """Check an ``Authorization`` header value; return the token's claims.

        Raises:
            TokenError: missing/malformed header, bad signature, expired or revoked token, wrong audience.
        """
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise TokenError("Authorization header is missing or is not a Bearer token")
        parts = token.strip().split(".")
        if len(parts) != 3:
            raise TokenError("the access token is malformed")
        expected = hmac.new(self._key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _b64url_decode(parts[2])):
            raise TokenError("the access token signature is invalid")
        claims: dict[str, Any] = json.loads(_b64url_decode(parts[1]))
        if claims["exp"] <= time.time():
            raise TokenError("the access token has expired")
        if claims["iat_precise"] < self._not_before:
            raise TokenError("the access token has been revoked")
        if claims["aud"] != audience:
            raise TokenError(f"the access token's audience {claims['aud']!r} is not {audience!r}")
        return claims


def make_tls(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A test CA and a 127.0.0.1/localhost server certificate: the server context and the CA file clients trust."""
    ca = make_test_ca(directory)
    return ca.context, ca.ca_file


def _aad_error(status: int, error: str, code: int, description: str) -> Response:
    trace = str(uuid.uuid4())
    return json_response(
        status,
        {
            "error": error,
            "error_description": f"AADSTS{code}: {description} Trace ID: {trace}",
            "error_codes": [code],
            "timestamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
            "trace_id": trace,
            "correlation_id": str(uuid.uuid4()),
        },
    )


class IdentityEmulator:
    """The token endpoint and OIDC discovery of one tenant, over HTTPS on a free port.

    Args:
        issuer: the token issuer (shared with the API emulators that verify its tokens).
        tls_dir: where a new test CA and server certificate are written; a temporary folder when None.
        tls: a test CA to serve with instead (shared with the Graph and Dataverse emulators).
    """

    def __init__(
        self, issuer: TokenIssuer, *, tls_dir: Path | None = None, tls: TestCA | None = None
    ) -> None:
        self.issuer = issuer
        self._tmp = None if tls_dir or tls else tempfile.TemporaryDirectory(prefix="dealtalk-identity-")
        self.tls = tls or make_test_ca(tls_dir or Path(self._tmp.name))  # type: ignore[union-attr]
        self.ca_file = self.tls.ca_file
        self.server = EmulatorServer(self.handle, tls=self.tls.context)
        self.failures_left = 0  # answer this many token requests with a 503 (an outage)

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> IdentityEmulator:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    def handle(self, request: Request) -> Response:
        segments = [s for s in request.path.split("/") if s]
        if len(segments) < 2 or segments[0] != self.issuer.tenant_id:
            tenant = segments[0] if segments else ""
            return _aad_error(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
        rest = "/".join(segments[1:])
        if request.method == "GET" and rest == "v2.0/.well-known/openid-configuration":
            return json_response(200, self._openid_configuration())
        if request.method == "POST" and rest == "oauth2/v2.0/token":
            return self._token(request)
        return json_response(404, {"error": "not_found", "error_description": f"no endpoint {request.path}"})

    def _openid_configuration(self) -> dict[str, Any]:
        base = f"{self.url}/{self.issuer.tenant_id}"
        return {
            "issuer": f"{base}/v2.0",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
            "tenant_region_scope": "EU",
        }

    def _token(self, request: Request) -> Response:
        if self.failures_left > 0:
            self.failures_left -= 1
            return _aad_error(503, "temporarily_unavailable", 90033, "A transient error has occurred.")
        if not request.header("content-type").startswith("application/x-www-form-urlencoded"):
            return _aad_error(400, "invalid_request", 900144, "The request body must contain 'grant_type'.")
        form = dict(urllib.parse.parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
        if form.get("grant_type") != "client_credentials":
            return _aad_error(
                400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type."
            )
        app = self.issuer.apps.get(form.get("client_id", ""))
        if app is None:
            return _aad_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{form.get('client_id', '')}' was not found in the directory.",
            )
        if not hmac.compare_digest(form.get("client_secret", ""), app.secret):
            return _aad_error(401, "invalid_client", 7000215, "Invalid client secret provided.")
        scopes = form.get("scope", "").split()
        defaults = [s for s in scopes if s.endswith("/.default")]
        if len(defaults) != 1:
            return _aad_error(
                400,
                "invalid_scope",
                1002012,
                "The provided value for scope is not valid. Client credential flows must have a scope value "
                "with /.default suffixed to the resource identifier (application ID URI).",
            )
        resource = defaults[0].removesuffix("/.default")
        if resource not in self.issuer.resources:
            return _aad_error(
                400,
                "invalid_resource",
                500011,
                f"The resource principal named {resource} was not found in the tenant named "
                f"{self.issuer.tenant_id}.",
            )
        token = self.issuer.issue(app.client_id, resource)
        lifetime = self.issuer.lifetime_s
        return json_response(
            200,
            {
                "token_type": "Bearer",
                "expires_in": lifetime,
                "ext_expires_in": lifetime,
                "access_token": token,
            },
        )
