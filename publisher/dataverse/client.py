"""A synchronous Dataverse Web API client (httpx) that respects service protection limits.

* At most ``max_concurrency`` requests in flight per process (a semaphore around the send, never around a
  backoff sleep), well under Dataverse's 52 concurrent requests per user.
* 429: waits ``Retry-After`` and resends; longer waits than ``max_retry_wait_s`` become ``RetryLater`` so the
  bus defers the message instead of holding a worker. 5xx and network errors: exponential backoff with
  jitter (tenacity). 401: drops the cached token and retries once.
* Anything else becomes a ``DealtalkError`` whose message names the operation, Dataverse's error code and
  message, and what to do (``errors.py``).

Stage functions run in worker threads, so the client is synchronous and thread-safe.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from dealtalk.contracts.errors import RetryLater, TransientError, retry_after_s
from dealtalk.publisher.dataverse.auth import TokenProvider
from dealtalk.publisher.dataverse.batch import BatchPart, encode_batch, parse_batch_response
from dealtalk.publisher.dataverse.errors import error_for
from dealtalk.publisher.request import DataverseRequest, api_root, standard_headers

__all__ = ["DataverseClient", "DataverseResponse"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DataverseResponse:
    status: int
    headers: dict[str, str]
    body: Any


class _Retry(Exception):
    """A response worth resending; ``wait_s`` is the server's Retry-After when it gave one."""

    def __init__(self, response: httpx.Response | None, wait_s: float | None, reason: str) -> None:
        super().__init__(reason)
        self.response = response
        self.wait_s = wait_s
        self.reason = reason


class DataverseClient:
    """Sends ``DataverseRequest``s to one organisation.

    Args:
        org_url: ``https://contoso.crm4.dynamics.com``.
        api_version: Web API version (``v9.2``).
        tokens: bearer tokens for the organisation.
        max_concurrency: requests in flight at once from this process.
        timeout_s: per-request timeout.
        max_retries: resends of throttled/failed requests before giving up to the bus.
        max_retry_wait_s: longest Retry-After slept through in-process.
        ca_bundle: CAs to trust; None uses the system store.
        backoff_base_s: first backoff step for 5xx/network errors (doubles, with jitter, up to 30 s).
        transport: the httpx transport; None is the network (tests pass ``httpx.MockTransport``).
    """

    def __init__(
        self,
        *,
        org_url: str,
        api_version: str,
        tokens: TokenProvider,
        max_concurrency: int = 4,
        timeout_s: float = 30.0,
        max_retries: int = 5,
        max_retry_wait_s: float = 60.0,
        ca_bundle: Path | None = None,
        backoff_base_s: float = 1.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.org_url = org_url.rstrip("/")
        self.root = api_root(org_url, api_version)
        self._tokens = tokens
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._max_retries = max_retries
        self._max_wait_s = max_retry_wait_s
        self._backoff_base_s = backoff_base_s
        verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=str(ca_bundle)) if ca_bundle else True
        )
        self._http = httpx.Client(
            timeout=timeout_s, verify=verify, follow_redirects=False, transport=transport
        )

    def close(self) -> None:
        """Close the HTTP connections (Web API and identity platform); idempotent."""
        self._http.close()
        self._tokens.close()

    def __enter__(self) -> DataverseClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- public operations ------------------------------------------------------------------------------
    def send(self, request: DataverseRequest, *, allow_not_found: bool = False) -> DataverseResponse | None:
        """Send one request; None for a 404 when ``allow_not_found``.

        Raises:
            InvalidInput, ConfigurationError: Dataverse refused the request for a reason a retry cannot fix.
            TransientError, RetryLater: throttled or failing after the configured retries.
        """
        response = self._with_retries(
            lambda: self._http.build_request(
                request.method,
                request.url(self.root),
                headers=request.all_headers(),
                json=dict(request.body) if request.body is not None else None,
            ),
            request.purpose,
        )
        if response.status_code == 404 and allow_not_found:
            return None
        if response.status_code >= 400:
            raise error_for(response.status_code, _json(response), request.purpose)
        return DataverseResponse(response.status_code, dict(response.headers), _json(response))

    def get_all(
        self,
        path: str,
        *,
        purpose: str,
        page_size: int = 500,
        annotations: str = "",
        allow_not_found: bool = False,
    ) -> list[dict[str, Any]]:
        """All rows of a collection query, following ``@odata.nextLink`` with the same page size.

        ``allow_not_found``: a 404 (the record a navigation path starts from does not exist) is no rows.
        """
        prefer = f"odata.maxpagesize={page_size}" + (
            f',odata.include-annotations="{annotations}"' if annotations else ""
        )
        rows: list[dict[str, Any]] = []
        url: str | None = path
        while url is not None:
            relative = url.removeprefix(self.root)
            response = self.send(
                DataverseRequest("GET", relative, headers={"Prefer": prefer}, purpose=purpose),
                allow_not_found=allow_not_found,
            )
            if response is None:
                return rows
            rows.extend(response.body.get("value", []))
            url = response.body.get("@odata.nextLink")
        return rows

    def batch(
        self, changesets: Sequence[Sequence[DataverseRequest]], *, purpose: str
    ) -> list[list[BatchPart]]:
        """Send change sets in one ``$batch`` (``odata.continue-on-error``); one response list per change set.

        A failed change set holds its failing response only. Throttling and server errors of the batch as a
        whole are retried like any request.
        """
        content_type, body = encode_batch(changesets, self.root)
        headers = {
            **standard_headers(has_body=False),
            "Content-Type": content_type,
            "Prefer": "odata.continue-on-error",
        }
        response = self._with_retries(
            lambda: self._http.build_request("POST", f"{self.root}$batch", headers=headers, content=body),
            purpose,
        )
        if response.status_code >= 400:
            raise error_for(response.status_code, _json(response), purpose)
        return parse_batch_response(response.headers.get("content-type", ""), response.content)

    # --- retries ------------------------------------------------------------------------------------------
    def _with_retries(self, build: Any, purpose: str) -> httpx.Response:
        refreshed = False

        def attempt() -> httpx.Response:
            nonlocal refreshed
            response = self._send_once(build())
            if response.status_code == 401 and not refreshed:
                refreshed = True
                self._tokens.invalidate()
                response = self._send_once(build())
            if response.status_code == 429:
                wait = retry_after_s(response.headers.get("retry-after"))
                if wait is not None and wait > self._max_wait_s:
                    raise RetryLater(
                        f"Dataverse throttled {purpose} for {wait:.0f} s (service protection limits)",
                        defer_s=wait,
                    )
                raise _Retry(response, wait, "throttled (429)")
            if response.status_code in (500, 502, 503, 504):
                raise _Retry(
                    response,
                    retry_after_s(response.headers.get("retry-after")),
                    f"HTTP {response.status_code}",
                )
            return response

        retrying = Retrying(
            retry=retry_if_exception_type(_Retry),
            stop=stop_after_attempt(self._max_retries + 1),
            wait=self._wait,
            before_sleep=lambda state: logger.warning(
                "Dataverse %s: %s, retry %d", purpose, _reason(state), state.attempt_number
            ),
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _Retry as exc:
            if exc.response is not None and exc.response.status_code == 429:
                raise RetryLater(
                    f"Dataverse kept throttling {purpose} after {self._max_retries} retries",
                    defer_s=exc.wait_s or 60.0,
                ) from None
            raise TransientError(
                f"Dataverse failed {purpose} after {self._max_retries} retries: {exc.reason}"
            ) from None

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, _Retry) and exc.wait_s is not None:
            return exc.wait_s
        return float(wait_random_exponential(multiplier=self._backoff_base_s, max=30.0)(state))

    def _send_once(self, request: httpx.Request) -> httpx.Response:
        request.headers["Authorization"] = f"Bearer {self._tokens.token()}"
        with self._slots:
            try:
                response = self._http.send(request)
            except httpx.TransportError as exc:
                raise _Retry(None, None, f"network error ({exc.__class__.__name__})") from exc
        logger.debug("Dataverse %s %s -> %d", request.method, request.url.path, response.status_code)
        return response


def _reason(state: RetryCallState) -> str:
    exc = state.outcome.exception() if state.outcome is not None else None
    return exc.reason if isinstance(exc, _Retry) else repr(exc)


def _json(response: httpx.Response) -> Any:
    if not response.content or "json" not in response.headers.get("content-type", ""):
        return None
    try:
        return response.json()
    except ValueError:
        return None
