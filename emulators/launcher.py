"""The sandbox tenant for ``dealtalk demo --sandbox``: emulated Graph and Dataverse, used by the real clients.

``start_sandbox`` runs ``python -m dealtalk.emulators.sandbox`` (installed with dealtalk; its extra packages
come with ``pip install 'dealtalk[sandbox]'``), reads the URLs, CA file and app credentials it prints, and
``settings()`` points a copy of the application settings at them: Graph ingest for the three sample sellers, the
Dataverse CRM and the Dataverse publisher. The emulated Dataverse keeps its rows under the state folder between
runs, so a second demo run updates the same activities instead of adding new ones.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr

from dealtalk.contracts.config import Settings
from dealtalk.contracts.errors import ConfigurationError, TransientError
from dealtalk.samples import SAMPLES_DIR

__all__ = ["Sandbox", "SandboxInfo", "start_sandbox"]

logger = logging.getLogger(__name__)

_MODULE = "dealtalk.emulators.sandbox"
_SANDBOX_PACKAGES = ("cryptography", "jwt", "soundfile", "httpx")


class SandboxInfo(BaseModel):
    """What the sandbox process prints on start (one JSON line)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant_id: str
    client_id: str
    client_secret: str
    identity_url: str
    ca_file: Path
    graph_base_url: str
    dataverse_url: str
    control_url: str
    control_token: str
    organizers: tuple[str, ...]
    recordings: tuple[str, ...]  # the ids of the seeded recordings, in order
    # How far back the first delta sync must look to find them (the sample calls have fixed dates).
    lookback_days: int = 14


def _check_sandbox_packages() -> None:
    """The emulators need a few packages the product alone does not (TLS certificates, signed tokens).

    Raises:
        ConfigurationError: they are not installed.
    """
    missing = [name for name in _SANDBOX_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigurationError(
            f"the sandbox needs {', '.join(missing)}: install it with pip install 'dealtalk[sandbox]'"
        )


class Sandbox:
    """A running sandbox process; close it when done (it also stops when this process exits)."""

    def __init__(self, process: subprocess.Popen[str], info: SandboxInfo) -> None:
        self._process = process
        self.info = info

    def settings(self, base: Settings) -> Settings:
        """``base`` with Graph, the CRM and the publisher pointed at the emulated tenant."""
        info = self.info
        secret = SecretStr(info.client_secret)
        graph = base.graph.model_copy(
            update={
                "tenant_id": info.tenant_id,
                "client_id": info.client_id,
                "client_secret": secret,
                "base_url": info.graph_base_url,
                "authority_host": info.identity_url,
                "ca_bundle": info.ca_file,
                "organizers": info.organizers,
                "lookback_days": max(base.graph.lookback_days, info.lookback_days),
                "notification_url": "",
                "lifecycle_notification_url": "",
            }
        )
        dataverse = base.dataverse.model_copy(
            update={
                "url": info.dataverse_url,
                "tenant_id": info.tenant_id,
                "client_id": info.client_id,
                "client_secret": secret,
                "authority_host": info.identity_url,
                "ca_bundle": info.ca_file,
            }
        )
        return base.model_copy(
            update={
                "graph": graph,
                "dataverse": dataverse,
                "crm": base.crm.model_copy(update={"backend": "dataverse"}),
                "publisher": base.publisher.model_copy(update={"mode": "dataverse"}),
            }
        )

    def dataverse_rows(self) -> dict[str, Any]:
        """Every row of the emulated Dataverse, by entity set."""
        response = httpx.get(
            f"{self.info.control_url}/dump", params={"token": self.info.control_token}, timeout=30
        )
        response.raise_for_status()
        rows: dict[str, Any] = response.json()
        return rows

    def publish_recordings(self) -> dict[str, int]:
        """Add the withheld sample recordings to the tenant (``start_sandbox(withhold=True)``): Graph then sends
        its change notifications to the subscribed webhook. Returns recording id -> notifications sent."""
        response = httpx.post(
            f"{self.info.control_url}/publish", params={"token": self.info.control_token}, timeout=60
        )
        response.raise_for_status()
        sent: dict[str, int] = response.json()["notified"]
        return sent

    def dump(self, path: Path) -> int:
        """Write the emulated Dataverse rows to ``path`` (JSON); returns the number of rows."""
        rows = self.dataverse_rows()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return sum(len(v) for v in rows.values())

    def close(self) -> None:
        if self._process.poll() is None:
            assert self._process.stdin is not None
            self._process.stdin.close()  # the sandbox stops when its stdin closes
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _first_line(stream: IO[str]) -> str:
    return stream.readline()


def start_sandbox(state_dir: Path, *, withhold: bool = False, copies: int = 1) -> Sandbox:
    """Start the emulated tenant (identity platform, Graph, Dataverse) seeded with the sample calls.

    Args:
        state_dir: where the emulators keep their TLS certificate and the Dataverse rows between runs.
        withhold: keep the recordings out of the tenant until ``Sandbox.publish_recordings()``.
        copies: seed each sample call this many times, as separate meetings (load benchmarks).

    Raises:
        ConfigurationError: the sandbox's packages are not installed.
        TransientError: the sandbox did not start.
    """
    _check_sandbox_packages()
    state_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
        [
            sys.executable,
            "-m",
            _MODULE,
            "--state-dir",
            str(state_dir.resolve()),
            "--samples",
            str(SAMPLES_DIR),
            *(["--withhold"] if withhold else []),
            "--copies",
            str(copies),
        ],
        cwd=state_dir,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = _first_line(process.stdout)
    if not line:
        process.wait(timeout=10)
        raise TransientError(f"the sandbox emulators did not start (exit code {process.returncode})")
    info = SandboxInfo.model_validate_json(line)
    logger.info("sandbox tenant up: graph=%s dataverse=%s", info.graph_base_url, info.dataverse_url)
    return Sandbox(process, info)
