"""Entra ID bearer tokens: the tenant's signing keys (cached per ``kid``) and the claim checks.

Follows Microsoft's key-rollover guidance: keys are cached by ``kid`` for a day, an unknown ``kid`` triggers one
synchronous refresh at most every ``jwks_refresh_min_s``, a failed fetch keeps the last good keys. The expected
v2 issuer and the JWKS address come from OIDC discovery (never hard-coded, so an emulator can stand in);
v1 tokens (``sts.windows.net`` issuer, ``api://`` audience) of the same tenant are accepted too.
Fetching is blocking HTTP: callers run ``verify`` in a worker thread.
"""

from __future__ import annotations

import logging
import secrets
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import jwt
from jwt.algorithms import RSAAlgorithm

from dealtalk.api.auth.principal import Principal, roles_from_claim
from dealtalk.contracts.api_settings import ApiSettings

__all__ = ["BearerVerifier", "InvalidToken"]

logger = logging.getLogger(__name__)


class InvalidToken(Exception):
    """A bearer token was refused; the message is safe to show (it never contains the token)."""


@dataclass(frozen=True, slots=True)
class _Metadata:
    issuer: str
    jwks_uri: str


class BearerVerifier:
    """Validates Entra access tokens for one app registration (``ApiSettings.client_id``)."""

    def __init__(self, settings: ApiSettings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._metadata: _Metadata | None = None
        self._keys: dict[str, Any] = {}
        self._fetched_at = float("-inf")

    @property
    def configured(self) -> bool:
        return bool(self._settings.tenant_id and self._settings.client_id)

    def verify(self, token: str) -> Principal:
        """The principal an access token speaks for.

        Raises:
            InvalidToken: malformed, unsigned or badly signed, wrong issuer/audience/tenant, expired, not yet
                valid, or a token without a dealtalk role.
        """
        client_id, tenant = self._settings.client_id, self._settings.tenant_id
        claims = self._decode(
            token,
            audiences=[client_id, f"api://{client_id}"],
            extra_issuers=[f"https://sts.windows.net/{tenant}/"],
        )
        return self._principal(claims, kind="bearer")

    def verify_id_token(self, token: str, *, nonce: str) -> Principal:
        """The person an ID token from the sign-in names (MSAL no longer validates ID tokens itself).

        Raises:
            InvalidToken: as for ``verify``, or the nonce is not the one this sign-in sent.
        """
        claims = self._decode(token, audiences=[self._settings.client_id], extra_issuers=[])
        if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise InvalidToken("the ID token's nonce does not match this sign-in")
        return self._principal(claims, kind="session")

    def _decode(self, token: str, *, audiences: list[str], extra_issuers: list[str]) -> dict[str, Any]:
        if not self.configured:
            raise InvalidToken("bearer tokens are not accepted here (no Entra app registration configured)")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("the token is not a JWT") from exc
        if header.get("alg") != "RS256":
            raise InvalidToken("the token must be signed with RS256")
        key = self._key(str(header.get("kid", "")))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=["RS256"],
                audience=audiences,
                issuer=[self._meta().issuer, *extra_issuers],
                leeway=self._settings.leeway_s,
                options={"require": ["exp", "nbf", "iat", "iss", "aud", "tid", "oid"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("the token has expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise InvalidToken("the token is not valid yet (nbf)") from exc
        except jwt.InvalidAudienceError as exc:
            raise InvalidToken("the token is for another audience") from exc
        except jwt.InvalidIssuerError as exc:
            raise InvalidToken("the token has another issuer") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"the token is invalid ({type(exc).__name__})") from exc
        if claims["tid"] != self._settings.tenant_id:
            raise InvalidToken("the token is from another tenant")
        return claims

    @staticmethod
    def _principal(claims: dict[str, Any], *, kind: Literal["bearer", "session"]) -> Principal:
        # No dealtalk role (an app token without roles, a user without an assignment): a known caller that
        # every route then refuses with 403.
        roles = roles_from_claim(claims.get("roles"))
        name = str(claims.get("name") or claims.get("azp") or claims.get("appid") or claims["oid"])
        return Principal(kind=kind, id=str(claims["oid"]), name=name, roles=roles)

    def _get(self, url: str) -> httpx.Response:
        # A client per fetch: fetches are rare (discovery once, keys at most every few minutes), and nothing
        # is left open when the app stops.
        ca = self._settings.ca_bundle
        verify: Any = ssl.create_default_context(cafile=str(ca)) if ca else True
        with httpx.Client(timeout=10.0, verify=verify) as client:
            return client.get(url)

    def _meta(self) -> _Metadata:
        if self._metadata is None:
            self._metadata = self._discover()  # idempotent: a race fetches the same document twice
        return self._metadata

    def _discover(self) -> _Metadata:
        s = self._settings
        url = f"{s.authority_host.rstrip('/')}/{s.tenant_id}/v2.0/.well-known/openid-configuration"
        try:
            response = self._get(url)
            response.raise_for_status()
            document = response.json()
            return _Metadata(issuer=str(document["issuer"]), jwks_uri=s.jwks_url or str(document["jwks_uri"]))
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            logger.warning("OIDC discovery failed: %s", type(exc).__name__)
            raise InvalidToken("the identity platform's metadata is unavailable; try again") from exc

    def _key(self, kid: str) -> Any:
        jwks_uri = self._meta().jwks_uri
        now = time.monotonic()
        with self._lock:
            stale = now - self._fetched_at > self._settings.jwks_ttl_s
            unknown = kid not in self._keys
            may_refresh = now - self._fetched_at >= self._settings.jwks_refresh_min_s
            if stale or (unknown and may_refresh):
                self._refresh(jwks_uri, now)
            key = self._keys.get(kid)
        if key is None:
            raise InvalidToken("the token is signed with an unknown key")
        return key

    def _refresh(self, jwks_uri: str, now: float) -> None:
        try:
            response = self._get(jwks_uri)
            response.raise_for_status()
            keys = {
                str(jwk["kid"]): RSAAlgorithm.from_jwk(jwk)
                for jwk in response.json()["keys"]
                if jwk.get("kty") == "RSA" and jwk.get("use", "sig") == "sig" and "kid" in jwk
            }
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            # Keep the last good keys; try again no sooner than the refresh interval.
            logger.warning("fetching the signing keys failed: %s", type(exc).__name__)
            self._fetched_at = now
            return
        self._keys = keys
        self._fetched_at = now
        logger.info("signing keys refreshed: %d keys", len(keys))
