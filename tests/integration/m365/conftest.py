"""Fixtures for the Microsoft 365 integration tests: the identity platform, Dataverse and Graph emulators.

Each runs over HTTPS (one test CA per test, ``test_ca``) on a free loopback port for the test that asks for
it; clients under test are the product's own (MSAL + httpx for Dataverse, msgraph-sdk + azure-identity for
Graph), configured through ``Settings``.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from dealtalk.api.notifications import graph_notification_router
from dealtalk.contracts.config import Settings
from dealtalk.emulators.dataverse import DataverseEmulator, SecurityRole, ServiceProtection
from dealtalk.emulators.dataverse.seed import seed_from_fixture
from dealtalk.emulators.graph import GraphEmulator, Tenant
from dealtalk.emulators.graph.seed import SELLERS, lookback_days_for, seed_samples
from dealtalk.emulators.identity import AppRegistration, IdentityEmulator, TokenIssuer
from dealtalk.emulators.tls import TestCA, make_test_ca
from dealtalk.ingest.graph.notifications import NotificationWork
from dealtalk.samples import CALLS_DIR, CRM_FIXTURE

TENANT = "8a7f3c1e-5b2d-4e6f-9a0b-1c2d3e4f5a6b"
APP_ID = "3f2e1d0c-b9a8-4765-8432-10fedcba9876"
APP_SECRET = "s3cr3t-for-the-emulator-only"
GRAPH = "https://graph.microsoft.com"
T = TypeVar("T")
GRAPH_ROLES = {
    "OnlineMeetingRecording.Read.All",
    "OnlineMeetingTranscript.Read.All",
    "OnlineMeetings.Read.All",
    "User.Read.All",
}


@pytest.fixture
def issuer() -> TokenIssuer:
    issuer = TokenIssuer(TENANT)
    issuer.register_app(AppRegistration(APP_ID, APP_SECRET, {GRAPH: set(GRAPH_ROLES)}))
    issuer.resources.add(GRAPH)
    return issuer


@pytest.fixture
def test_ca(tmp_path: Path) -> TestCA:
    """One test CA per test: every emulator serves HTTPS with it, every client trusts ``ca_file``."""
    return make_test_ca(tmp_path / "tls")


@pytest.fixture
def trust(test_ca: TestCA) -> ssl.SSLContext:
    """A client-side context that trusts the test CA (for raw httpx clients)."""
    return ssl.create_default_context(cafile=str(test_ca.ca_file))


@pytest.fixture
def identity(issuer: TokenIssuer, test_ca: TestCA) -> Iterator[IdentityEmulator]:
    emulator = IdentityEmulator(issuer, tls=test_ca).start()
    yield emulator
    emulator.stop()


@pytest.fixture
def dataverse_protection() -> ServiceProtection:
    """Override in a test module to tighten the service protection limits."""
    return ServiceProtection()


@pytest.fixture
def dataverse_roles() -> dict[str, SecurityRole]:
    """Override in a test module to give the application user another security role (default: dealtalk's)."""
    return {}


@pytest.fixture
def dataverse(
    issuer: TokenIssuer,
    dataverse_protection: ServiceProtection,
    dataverse_roles: dict[str, SecurityRole],
    test_ca: TestCA,
) -> Iterator[DataverseEmulator]:
    emulator = DataverseEmulator(
        issuer,
        application_users={APP_ID},
        protection=dataverse_protection,
        key_activation_s=0.05,
        security_roles=dataverse_roles,
        tls=test_ca.context,
    )
    seed_from_fixture(emulator.store, CRM_FIXTURE)
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def dv_settings(tmp_path: Path, identity: IdentityEmulator, dataverse: DataverseEmulator) -> Settings:
    """Settings for the Dataverse CRM backend and publisher against the emulators."""
    return Settings.load(
        data_dir=tmp_path / "data",
        crm={"backend": "dataverse"},
        publisher={"mode": "dataverse", "report_base_url": "https://dealtalk.example.nl"},
        dataverse={
            "url": dataverse.url,
            "tenant_id": TENANT,
            "client_id": APP_ID,
            "client_secret": APP_SECRET,
            "authority_host": identity.url,
            "ca_bundle": identity.ca_file,
            "max_concurrency": 2,
            "max_retry_wait_s": 5,
        },
    )


class Closer:
    """Closes what a test opened (clients hold sockets; unclosed ones are warnings, and warnings fail)."""

    def __init__(self) -> None:
        self.items: list[Any] = []

    def __call__(self, item: T) -> T:
        self.items.append(item)
        return item


@pytest.fixture
def closing() -> Iterator[Closer]:
    closer = Closer()
    yield closer
    for item in reversed(closer.items):
        item.close()


@pytest.fixture
def tenant() -> Tenant:
    """The sample tenant's Teams data: three sellers, three meetings with recordings and transcripts."""
    teams = Tenant(TENANT)
    seed_samples(teams, CALLS_DIR)
    return teams


@pytest.fixture
def graph(issuer: TokenIssuer, tenant: Tenant, test_ca: TestCA) -> Iterator[GraphEmulator]:
    emulator = GraphEmulator(
        issuer, tenant, allow_http_loopback=True, page_size=2, tls=test_ca.context
    ).start()
    yield emulator
    emulator.stop()


class Webhook:
    """The product's webhook router served by uvicorn on a free port, feeding a list or a real queue."""

    def __init__(self, client_state: str) -> None:
        self.received: list[NotificationWork] = []
        self.submit: Callable[[NotificationWork], None] = self.received.append
        app = FastAPI()
        app.include_router(
            graph_notification_router(client_state=SecretStr(client_state), submit=lambda w: self.submit(w))
        )
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_config=None, lifespan="off", ws="none"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graph"

    def start(self) -> Webhook:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


CLIENT_STATE = "f3b1c2d4-client-state-of-this-test"


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook(CLIENT_STATE).start()
    yield hook
    hook.stop()


@pytest.fixture
def graph_settings(
    tmp_path: Path, identity: IdentityEmulator, graph: GraphEmulator, tenant: Tenant, webhook: Webhook
) -> Settings:
    """Settings for Graph ingest against the emulators, watching the three sample sellers."""
    return Settings.load(
        data_dir=tmp_path / "data",
        graph={
            "tenant_id": TENANT,
            "client_id": APP_ID,
            "client_secret": APP_SECRET,
            "base_url": graph.base_url,
            "authority_host": identity.url,
            "ca_bundle": identity.ca_file,
            "organizers": list(SELLERS),
            "notification_url": f"{webhook.url}/notifications",
            "lifecycle_notification_url": f"{webhook.url}/lifecycle",
            "client_state": CLIENT_STATE,
            "timeout_s": 20,
            "lookback_days": lookback_days_for(tenant),
        },
    )
