"""The real Kafka-protocol test broker (noida-db from PyPI), started and stopped by the tests themselves.

The broker is one binary inside the ``noida-db`` wheel (the ``dev`` extra), so a fresh CI machine needs nothing
else: ``TestBroker`` runs it on a free port with a fresh data dir, in its own process group, and stops it with
SIGTERM to its own pid. Known gaps (see shared/research/kafka.md): a consumer killed with SIGKILL is never
evicted from its group (tests that kill workers use static membership to take the partitions back), topics are
auto-created on first use, and a broker killed with SIGKILL loses its last ~0.5 s of writes.

Usage in a conftest::

    from tests.support.kafka_broker import kafka_broker  # noqa: F401  (the session fixture)
"""

from __future__ import annotations

import contextlib
import importlib.resources
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["TestBroker", "free_port", "kafka_broker"]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def broker_binary() -> Path:
    path = Path(str(importlib.resources.files("noida_db") / "noida-db"))
    if not path.is_file():
        raise RuntimeError(
            f"the noida-db binary is missing at {path}; install the dev extra (noida-db==0.2.3)"
        )
    if not os.access(path, os.X_OK):
        path.chmod(0o755)
    return path


class TestBroker:
    """One broker process on ``127.0.0.1:port`` with its data under ``data_dir``."""

    __test__ = False  # not a test class, despite the name

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.log_path = data_dir.parent / f"{data_dir.name}.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout_s: float = 30.0) -> None:
        """Start the broker (keeping its data dir) and wait until it accepts connections."""
        if self.running:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    str(broker_binary()),
                    "start",
                    "--only",
                    "kafka",
                    "--data-dir",
                    str(self.data_dir),
                    "--kafka-port",
                    str(self.port),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # our SIGTERM reaches the broker alone, never the test run
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the test broker exited at start; see {self.log_path}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5),
            ):
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the test broker did not listen on {self.port} within {timeout_s:.0f} s")

    def stop(self, timeout_s: float = 15.0) -> None:
        """SIGTERM to the broker's own pid (it saves its data), SIGKILL if it does not go (idempotent)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout_s)


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestBroker]:
    """One broker for the whole test session (tests isolate themselves with unique topics and groups)."""
    broker = TestBroker(tmp_path_factory.mktemp("kafka") / "data")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
