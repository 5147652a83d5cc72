"""The deployed topology on one machine: API replicas behind a load balancer, one worker process per stage.

What ``deploy/`` runs as containers (``compose.yaml``, ``k8s/``), as local processes: ``dealtalk serve`` twice
(webhook on both, discovery on the lease holder), ``dealtalk worker --stage S`` for each stage (static
membership, so a restarted worker takes its partitions back at once), every process configured by the same
``DEALTALK_*`` environment. ``dealtalk demo --sandbox`` on Kafka, the end-to-end test and ``bench/e2e.py``
start it; they kill and restart processes through it to show that nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, SecretStr

from dealtalk.contracts.config import Settings
from dealtalk.contracts.errors import TransientError

__all__ = ["LocalTopology", "LoopbackBalancer", "free_port", "settings_environment"]

logger = logging.getLogger(__name__)

STAGES = ("fetch", "transcribe", "analyze", "publish")
_CLI = "from dealtalk.cli.main import main; main()"


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def settings_environment(settings: Settings) -> dict[str, str]:
    """``settings`` as the ``DEALTALK_*`` variables that make a child process read the same settings."""
    env: dict[str, str] = {}

    def put(prefix: str, model: BaseModel) -> None:
        for name in type(model).model_fields:
            value = getattr(model, name)
            variable = f"{prefix}{name.upper()}"
            if isinstance(value, BaseModel):
                put(f"{variable}__", value)
            elif value is None:
                continue
            elif isinstance(value, SecretStr):
                env[variable] = value.get_secret_value()
            elif isinstance(value, bool):
                env[variable] = "true" if value else "false"
            elif isinstance(value, tuple | list | dict):
                env[variable] = json.dumps(value, default=str)
            else:
                env[variable] = str(value)

    put("DEALTALK_", settings)
    return env


class LoopbackBalancer:
    """A round-robin TCP balancer on 127.0.0.1 for the API replicas (the Service in front of the pods).

    A replica that refuses the connection (killed, not up yet) is skipped for the next one, as a load balancer
    with health checks would.
    """

    def __init__(self, ports: list[int], port: int | None = None) -> None:
        self.ports = list(ports)
        self.port = port or free_port()
        self._turn = itertools.count()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        started = threading.Event()
        self._thread = threading.Thread(target=self._main, args=(started,), name="balancer", daemon=True)
        self._thread.start()
        started.wait(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _main(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", self.port)
        )
        started.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        first = next(self._turn)
        for offset in range(len(self.ports)):
            port = self.ports[(first + offset) % len(self.ports)]
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                continue
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
            return
        writer.close()

    def close(self) -> None:
        async def _stop() -> None:
            if self._server is not None:
                self._server.close()
                await self._server.wait_closed()
            self._loop.stop()

        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(_stop(), self._loop)
            self._thread.join(timeout=10)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(ConnectionError, OSError):
            writer.close()


@dataclass
class LocalTopology:
    """API replicas and stage workers as child processes of this one.

    Args:
        settings: what every process reads (bus, database, Graph, Dataverse, ...), passed as environment.
        log_dir: one log file per process.
        api_replicas: how many ``dealtalk serve`` processes; ``balancer`` spreads requests over them.
    """

    settings: Settings
    log_dir: Path
    api_replicas: int = 2
    api_ports: list[int] = field(default_factory=list)
    apis: list[subprocess.Popen[bytes] | None] = field(default_factory=list)
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    balancer: LoopbackBalancer | None = None

    def __post_init__(self) -> None:
        self.api_ports = [free_port() for _ in range(self.api_replicas)]
        self.apis = [None] * self.api_replicas
        self.balancer = LoopbackBalancer(self.api_ports)
        self.log_dir.mkdir(parents=True, exist_ok=True)

    @property
    def webhook_base_url(self) -> str:
        assert self.balancer is not None
        return self.balancer.url

    def _environment(self, extra: Mapping[str, str]) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("DEALTALK_")}
        return {**inherited, **settings_environment(self.settings), **extra}

    def _spawn(self, name: str, args: list[str], extra: Mapping[str, str]) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}.log").open("ab")
        try:
            return subprocess.Popen(  # noqa: S603 - our own interpreter and CLI, no shell
                [sys.executable, "-c", _CLI, *args],
                env=self._environment(extra),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()

    def start_api(self, index: int) -> None:
        port = self.api_ports[index]
        self.apis[index] = self._spawn(
            f"api-{index}", ["serve", "--host", "127.0.0.1", "--port", str(port)], {}
        )

    def start_worker(self, stage: str) -> None:
        # A stable member id per stage: the restarted worker takes its partitions back without a rebalance.
        self.workers[stage] = self._spawn(
            f"worker-{stage}",
            ["worker", "--stage", stage],
            {"DEALTALK_KAFKA__GROUP_INSTANCE_ID": f"topology-{stage}"},
        )

    def start(self, *, timeout_s: float = 120.0) -> None:
        """Start every process and wait until each API replica answers ``/health``.

        Raises:
            TransientError: a replica did not come up (its log says why).
        """
        for index in range(self.api_replicas):
            self.start_api(index)
        for stage in STAGES:
            self.start_worker(stage)
        for index in range(self.api_replicas):
            self.wait_for_api(index, timeout_s=timeout_s)

    def wait_for_api(self, index: int, *, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        url = f"http://127.0.0.1:{self.api_ports[index]}/health"
        while time.monotonic() < deadline:
            process = self.apis[index]
            if process is not None and process.poll() is not None:
                raise TransientError(
                    f"API replica {index} exited with {process.returncode}: see {self.log_dir}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            time.sleep(0.3)
        raise TransientError(
            f"API replica {index} did not answer /health in {timeout_s:.0f} s: see {self.log_dir}"
        )

    def kill_api(self, index: int) -> None:
        """SIGKILL one API replica (no graceful stop: its lease and queued webhook work die with it)."""
        _kill(self.apis[index])
        self.apis[index] = None

    def kill_worker(self, stage: str) -> None:
        _kill(self.workers.pop(stage, None))

    def processes(self) -> Iterator[subprocess.Popen[bytes]]:
        yield from (p for p in self.apis if p is not None)
        yield from self.workers.values()

    def stop(self, *, grace_s: float = 20.0) -> None:
        """SIGTERM everyone (graceful: running jobs finish or are abandoned uncommitted), then SIGKILL."""
        for process in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for process in self.processes():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            _kill(process)
        self.apis = [None] * self.api_replicas
        self.workers.clear()
        if self.balancer is not None:
            self.balancer.close()

    def __enter__(self) -> LocalTopology:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _kill(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
