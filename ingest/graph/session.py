"""A synchronous facade over the async msgraph-sdk, for stage functions that run in worker threads.

How: one private event loop runs in a daemon thread for the life of the session; ``call()`` submits a
coroutine to it with ``asyncio.run_coroutine_threadsafe`` and waits. The SDK client, its httpx connection
pool and the credential live on that loop only, so they are never shared across loops. Call it from any
thread except the session's own loop thread.

Auth is azure-identity's ``ClientSecretCredential`` (client credentials, tokens cached and refreshed by
MSAL inside it) wrapped in kiota's ``AzureIdentityAuthenticationProvider`` with an explicit scope. A 401
rebuilds credential and client once (a fresh token), then gives up with a configuration error.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
from azure.identity import ClientSecretCredential
from kiota_abstractions.api_error import APIError
from kiota_abstractions.method import Method
from kiota_abstractions.request_information import RequestInformation
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph.graph_service_client import GraphServiceClient
from msgraph_core import GraphClientFactory
from pydantic import SecretStr

from dealtalk.ingest.graph.errors import GraphFailure, describe_api_error

__all__ = ["GraphSession"]

logger = logging.getLogger(__name__)
T = TypeVar("T")


class GraphSession:
    """An authenticated Graph client usable from synchronous code.

    Args:
        tenant_id, client_id, client_secret: the app registration (application permissions).
        base_url: ``https://graph.microsoft.com/v1.0`` (or a national cloud, or an emulator).
        authority_host: the identity platform (``https://login.microsoftonline.com``).
        scope: the token scope (``https://graph.microsoft.com/.default``).
        ca_bundle: CAs to trust; None uses the system store.
        timeout_s: per-request timeout.
    """

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        client_secret: SecretStr,
        base_url: str,
        authority_host: str,
        scope: str,
        ca_bundle: Path | None = None,
        timeout_s: float = 100.0,
    ) -> None:
        self.client_id = client_id
        self.base_url = base_url.rstrip("/")
        self._tenant_id = tenant_id
        self._secret = client_secret
        self._authority_host = authority_host
        self._scope = scope
        self._ca_bundle = ca_bundle
        self._timeout_s = timeout_s
        self._client: GraphServiceClient | None = None
        self._http: httpx.AsyncClient | None = None
        self._transport: httpx.AsyncHTTPTransport | None = None
        self._credential: ClientSecretCredential | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="graph-session", daemon=True)
        self._thread.start()
        self._closed = False

    # --- lifecycle -------------------------------------------------------------------------------------
    def _build(self) -> GraphServiceClient:
        verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=str(self._ca_bundle)) if self._ca_bundle else True
        )
        self._credential = ClientSecretCredential(
            self._tenant_id,
            self.client_id,
            self._secret.get_secret_value(),
            authority=self._authority_host,
            # The authority comes from our settings; the Microsoft-host lookup would refuse clouds/emulators.
            disable_instance_discovery=True,
            connection_verify=str(self._ca_bundle) if self._ca_bundle else True,
        )
        auth = AzureIdentityAuthenticationProvider(self._credential, scopes=[self._scope])
        # Our own transport, closed by us: msgraph-core's wrapping transport does not close the one it wraps.
        self._transport = httpx.AsyncHTTPTransport(verify=verify, http2=True)
        self._http = GraphClientFactory.create_with_default_middleware(
            client=httpx.AsyncClient(
                base_url=self.base_url, timeout=self._timeout_s, transport=self._transport
            )
        )
        adapter = GraphRequestAdapter(auth, client=self._http)
        adapter.base_url = self.base_url
        return GraphServiceClient(request_adapter=adapter)

    async def _reset(self) -> None:
        if self._http is not None:
            await self._http.aclose()
        if self._transport is not None:
            await self._transport.aclose()
        if self._credential is not None:
            self._credential.close()
        self._client = None

    def close(self) -> None:
        """Close connections and stop the loop; idempotent."""
        if self._closed:
            return
        self._closed = True
        asyncio.run_coroutine_threadsafe(self._reset(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    # --- calls -----------------------------------------------------------------------------------------
    def _run(self, coroutine: Awaitable[T]) -> T:
        if self._closed:
            raise RuntimeError("the Graph session is closed")
        if threading.current_thread() is self._thread:
            raise RuntimeError("GraphSession.call() must not be used from the session's own loop")
        return asyncio.run_coroutine_threadsafe(_as_coroutine(coroutine), self._loop).result()

    def call(self, make: Callable[[GraphServiceClient], Awaitable[T]]) -> T:
        """Run ``make(client)`` on the session loop and return its result.

        Raises:
            GraphFailure: Graph answered with an error (after one token refresh on 401).
        """
        return self._run(self._call(make))

    async def _call(self, make: Callable[[GraphServiceClient], Awaitable[T]]) -> T:
        for attempt in (1, 2):
            if self._client is None:
                self._client = self._build()
            try:
                return await make(self._client)
            except httpx.TransportError as exc:
                raise GraphFailure(
                    0, "NetworkError", f"Graph is unreachable ({exc.__class__.__name__})"
                ) from None
            except APIError as exc:
                failure = describe_api_error(exc)
                if failure.status == 401 and attempt == 1:
                    logger.info("Graph answered 401: getting a fresh token and retrying once")
                    await self._reset()
                    continue
                raise failure from None
        raise AssertionError("unreachable")

    def download(
        self, url: str, *, headers: dict[str, str], sink: Callable[[httpx.Response], Awaitable[None]]
    ) -> None:
        """Stream ``GET url`` with the session's auth and middleware; ``sink`` consumes the response.

        The SDK's ``content.get()`` buffers whole bodies in memory (kiota sends without ``stream=True``), so
        content goes through the adapter's httpx client directly, authorized like any SDK request.

        Raises:
            GraphFailure: Graph answered with an error status.
            httpx.TransportError: the connection broke (the caller resumes).
        """
        self._run(self._download(url, headers, sink))

    async def _download(
        self, url: str, headers: dict[str, str], sink: Callable[[httpx.Response], Awaitable[None]]
    ) -> None:
        for attempt in (1, 2):
            if self._client is None:
                self._client = self._build()
            async with self._authorized_stream(url, headers) as response:
                if response.status_code == 401 and attempt == 1:
                    await self._reset()
                    continue
                if response.status_code >= 400:
                    await response.aread()
                    raise _failure_from_response(response)
                await sink(response)
                return

    @asynccontextmanager
    async def _authorized_stream(self, url: str, headers: dict[str, str]) -> AsyncIterator[httpx.Response]:
        assert self._client is not None and self._http is not None
        info = RequestInformation(Method.GET)
        info.url = url
        for name, value in headers.items():
            info.headers.try_add(name, value)
        native = await self._client.request_adapter.convert_to_native_async(info)
        assert isinstance(native, httpx.Request)  # kiota's httpx adapter builds httpx requests
        request = native
        response = await self._http.send(request, stream=True)
        try:
            yield response
        finally:
            await response.aclose()


async def _as_coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable


def _failure_from_response(response: httpx.Response) -> GraphFailure:
    code, message = "", ""
    try:
        body: Any = response.json()
        code = str(body["error"].get("code", ""))
        message = str(body["error"].get("message", ""))
    except (ValueError, KeyError, TypeError, AttributeError):
        message = response.reason_phrase
    return GraphFailure(response.status_code, code, message, response.headers.get("retry-after"))
