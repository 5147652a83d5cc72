"""Fixtures for the Microsoft 365 integration tests: the identity platform, Dataverse and Graph emulators.

Each runs on a free loopback port for the test that asks for it; clients under test are the product's own
(MSAL + httpx for Dataverse, msgraph-sdk + azure-identity for Graph), configured through ``Settings``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from dealtalk.pipeline.config import Settings
from dealtalk.publisher.fixture import bundled_fixture_path
from tests.emulators.dataverse import DataverseEmulator, ServiceProtection
from tests.emulators.dataverse.seed import seed_from_fixture
from tests.emulators.identity import AppRegistration, IdentityEmulator, TokenIssuer

TENANT = "8a7f3c1e-5b2d-4e6f-9a0b-1c2d3e4f5a6b"
APP_ID = "3f2e1d0c-b9a8-4765-8432-10fedcba9876"
APP_SECRET = "s3cr3t-for-the-emulator-only"
GRAPH = "https://graph.microsoft.com"
T = TypeVar("T")
GRAPH_ROLES = {
    "OnlineMeetingRecording.Read.All",
    "OnlineMeetingTranscript.Read.All",
    "OnlineMeetings.Read.All",
}


@pytest.fixture
def issuer() -> TokenIssuer:
    issuer = TokenIssuer(TENANT)
    issuer.register_app(AppRegistration(APP_ID, APP_SECRET, {GRAPH: set(GRAPH_ROLES)}))
    issuer.resources.add(GRAPH)
    return issuer


@pytest.fixture
def identity(issuer: TokenIssuer, tmp_path: Path) -> Iterator[IdentityEmulator]:
    emulator = IdentityEmulator(issuer, tls_dir=tmp_path / "tls").start()
    yield emulator
    emulator.stop()


@pytest.fixture
def dataverse_protection() -> ServiceProtection:
    """Override in a test module to tighten the service protection limits."""
    return ServiceProtection()


@pytest.fixture
def dataverse(issuer: TokenIssuer, dataverse_protection: ServiceProtection) -> Iterator[DataverseEmulator]:
    emulator = DataverseEmulator(
        issuer, application_users={APP_ID}, protection=dataverse_protection, key_activation_s=0.05
    )
    seed_from_fixture(emulator.store, bundled_fixture_path())
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
