"""Service protection of the Dataverse emulator: 429s with ``Retry-After`` like Dataverse's limits.

Per "Service protection API limits": per-user counters over a sliding window (requests; a ``$batch`` counts
each inner request), a concurrency limit that answers at once, error codes ``0x80072322`` (requests) and
``0x80072326`` (concurrency). Tests can also queue answers (``inject``) for the next requests.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass

from ..http import Request, Response, json_response

__all__ = ["Protector", "ServiceProtection"]


@dataclass
class ServiceProtection:
    """Per-application limits; ``None`` disables the request budget."""

    requests_per_window: int | None = None
    window_s: float = 300.0
    concurrency_limit: int = 52


class Protector:
    """Admits or throttles requests per application; ``release`` after each admitted request."""

    def __init__(self, limits: ServiceProtection) -> None:
        self.limits = limits
        self._windows: dict[str, deque[float]] = {}
        self._in_flight: dict[str, int] = {}
        self._guard = threading.Lock()
        self.max_in_flight_seen = 0
        self.injected: deque[tuple[int, float | None]] = deque()  # (status, retry_after_s) answered next

    def inject(self, status: int, count: int = 1, *, retry_after_s: float | None = None) -> None:
        with self._guard:
            self.injected.extend([(status, retry_after_s)] * count)

    def release(self, app: str) -> None:
        with self._guard:
            self._in_flight[app] -= 1

    def admit(self, app: str, request: Request) -> Response | None:
        with self._guard:
            if self.injected:
                status, retry_after = self.injected.popleft()
                headers = {"Retry-After": str(math.ceil(retry_after))} if retry_after is not None else {}
                code = "0x80072322" if status == 429 else "0x80040216"
                message = (
                    "Number of requests exceeded the limit of 6000 over time window of 300 seconds."
                    if status == 429
                    else "An unexpected error occurred."
                )
                return _error(status, code, message, headers)
            in_flight = self._in_flight.get(app, 0) + 1
            if in_flight > self.limits.concurrency_limit:
                return _error(
                    429,
                    "0x80072326",
                    f"Number of concurrent requests exceeded the limit of {self.limits.concurrency_limit}.",
                    {"Retry-After": "1"},
                )
            budget = self.limits.requests_per_window
            if budget is not None:
                window = self._windows.setdefault(app, deque())
                now = time.monotonic()
                while window and now - window[0] >= self.limits.window_s:
                    window.popleft()
                cost = (
                    max(1, request.body.count(b"application/http")) if request.path.endswith("$batch") else 1
                )
                if len(window) + cost > budget:
                    wait = self.limits.window_s - (now - window[0]) if window else self.limits.window_s
                    return _error(
                        429,
                        "0x80072322",
                        f"Number of requests exceeded the limit of {budget} over time window of "
                        f"{self.limits.window_s:g} seconds.",
                        {"Retry-After": str(max(1, math.ceil(wait)))},
                    )
                window.extend([now] * cost)
            self._in_flight[app] = in_flight
            self.max_in_flight_seen = max(self.max_in_flight_seen, in_flight)
        return None


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response(
        status, {"error": {"code": code, "message": message}}, {"OData-Version": "4.0", **(headers or {})}
    )
