"""Access tokens for the Dataverse Web API: MSAL client credentials, cached, refreshed, invalidated on 401.

``acquire_token_for_client`` answers from MSAL's in-memory cache until the token nears expiry (MSAL >= 1.23),
so asking for a token before every request costs nothing. After a 401 the client calls ``invalidate()``:
the cached token goes and the next request gets a fresh one.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import httpx
import msal
from pydantic import SecretStr

from dealtalk.contracts.errors import ConfigurationError, TransientError

__all__ = ["MsalTokenProvider", "TokenProvider"]

logger = logging.getLogger(__name__)

# Entra ID error codes that mean the identity platform is having trouble, not that our credentials are wrong.
_TRANSIENT_ERRORS = {"temporarily_unavailable", "server_error", "request_timeout"}


class TokenProvider(Protocol):
    def token(self) -> str:
        """A valid bearer token for the organisation."""

    def invalidate(self) -> None:
        """Forget the cached token (the service refused it)."""

    def close(self) -> None:
        """Release network resources."""


class MsalHttpClient:
    """MSAL's HTTP client interface (``get``/``post`` returning requests-like responses) over httpx.

    Why not MSAL's default ``requests.Session``: requests lets ``REQUESTS_CA_BUNDLE`` silently override the
    session's ``verify`` (psf/requests#3829), so a configured CA bundle would be ignored on many hosts.
    """

    def __init__(self, *, ca_bundle: Path | None, timeout_s: float) -> None:
        verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=str(ca_bundle)) if ca_bundle else True
        )
        self._client = httpx.Client(verify=verify, timeout=timeout_s)

    def get(
        self,
        url: str,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        **_: Any,
    ) -> httpx.Response:
        return self._client.get(url, params=params, headers=headers)

    def post(
        self,
        url: str,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | str | None = None,
        headers: Mapping[str, str] | None = None,
        **_: Any,
    ) -> httpx.Response:
        if isinstance(data, str):
            return self._client.post(url, params=params, content=data.encode("utf-8"), headers=headers)
        return self._client.post(url, params=params, data=data, headers=headers)

    def close(self) -> None:
        self._client.close()


class MsalTokenProvider:
    """Client-credentials tokens for one Dataverse organisation.

    Args:
        tenant_id: the Entra tenant (GUID or domain).
        client_id: the app registration that is an application user in the organisation.
        client_secret: its client secret.
        org_url: the organisation URL; the scope is ``{org_url}/.default``.
        authority_host: the identity platform (``https://login.microsoftonline.com``, or a national cloud).
        ca_bundle: CAs to trust for the authority; None uses the system store.
        timeout_s: HTTP timeout towards the authority.
    """

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        client_secret: SecretStr,
        org_url: str,
        authority_host: str,
        ca_bundle: Path | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self._tenant_id = tenant_id
        self._client_id = client_id
        self._secret = client_secret
        self.scope = f"{org_url.rstrip('/')}/.default"
        self._authority = f"{authority_host.rstrip('/')}/{tenant_id}"
        self._http = MsalHttpClient(ca_bundle=ca_bundle, timeout_s=timeout_s)
        self._app: msal.ConfidentialClientApplication | None = None
        self._lock = threading.Lock()

    def _application(self) -> msal.ConfidentialClientApplication:
        # Built on first use: MSAL's constructor already calls the authority (OIDC discovery).
        if self._app is None:
            try:
                self._app = msal.ConfidentialClientApplication(
                    self._client_id,
                    client_credential=self._secret.get_secret_value(),
                    authority=self._authority,
                    # Our authority comes from our own settings, so the "is this a Microsoft host" lookup adds
                    # nothing; switching it off lets national clouds and the sandbox authority work.
                    instance_discovery=False,
                    http_client=self._http,
                    token_cache=msal.TokenCache(),
                )
            except httpx.HTTPError as exc:
                raise TransientError(
                    f"the identity platform at {self._authority} is unreachable: {exc}"
                ) from exc
            except ValueError as exc:
                raise ConfigurationError(
                    f"the authority {self._authority} is not usable ({exc}); check "
                    "DEALTALK_DATAVERSE__TENANT_ID "
                    "and DEALTALK_DATAVERSE__AUTHORITY_HOST"
                ) from exc
        return self._app

    def token(self) -> str:
        """A bearer token for the organisation (from MSAL's cache when still valid).

        Raises:
            ConfigurationError: the app id, secret, tenant or scope is rejected.
            TransientError: the identity platform is unreachable or failing.
        """
        with self._lock:
            app = self._application()
            try:
                result: dict[str, Any] = app.acquire_token_for_client(scopes=[self.scope])
            except httpx.HTTPError as exc:
                raise TransientError(f"the identity platform is unreachable: {exc}") from exc
        if "access_token" in result:
            return str(result["access_token"])
        error = str(result.get("error", "unknown_error"))
        # error_description holds the AADSTS code and text, never the secret.
        description = str(result.get("error_description", "")).split(" Trace ID:")[0]
        if error in _TRANSIENT_ERRORS:
            raise TransientError(f"the identity platform failed to issue a Dataverse token: {description}")
        raise ConfigurationError(
            f"the identity platform refused a token for {self.scope} ({error}: {description}); check "
            "DEALTALK_DATAVERSE__CLIENT_ID, DEALTALK_DATAVERSE__CLIENT_SECRET and "
            "DEALTALK_DATAVERSE__TENANT_ID"
        )

    def invalidate(self) -> None:
        with self._lock:
            if self._app is not None:
                self._app.remove_tokens_for_client()
                logger.info("dropped the cached Dataverse token after a 401")

    def close(self) -> None:
        self._http.close()
