"""The API app served by uvicorn on a free loopback port (what ``dealtalk serve`` runs), for the browser test
and the benchmark-like tests that need a real HTTP server."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from dealtalk.api.app import create_app
from dealtalk.contracts.config import Settings

__all__ = ["LiveApi", "free_port"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LiveApi:
    def __init__(self, settings: Settings, port: int) -> None:
        self.port = port
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None, ws="none")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveApi:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self.server.started, "the API did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
