"""Fixtures for the API tests: the identity emulator with the sign-in routes and signing keys, the API app on
a real loopback port (uvicorn) or in-process (TestClient), and three seeded calls:

* ``call-team``: Zuidhaven, owned by Eva, who reports to Mark (the manager of the tests);
* ``call-other``: Brightlab, owned by Sanne (another team);
* ``call-unlinked``: no opportunity.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dealtalk.api.app import create_app
from dealtalk.api.auth.apikeys import create_key
from dealtalk.api.auth.principal import Role
from dealtalk.contracts.config import Settings
from dealtalk.emulators.identity import IdentityEmulator, TokenIssuer
from dealtalk.emulators.identity_codeflow import CodeFlowProvider, SigningKeys, install_code_flow
from dealtalk.pipeline.resources import Resources
from tests.integration.api.seed import BRIGHTLAB_OPP, MARK_OID, ZUIDHAVEN_OPP, seed_call

TENANT = "6c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
API_CLIENT = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
API_SECRET = "emulator-only-web-app-secret"
ANALYST_OID = "a0000000-0000-4000-8000-00000000a001"
ADMIN_OID = "a0000000-0000-4000-8000-00000000ad01"


@dataclass
class Identity:
    emulator: IdentityEmulator
    provider: CodeFlowProvider
    keys: SigningKeys

    def token(self, *, roles: list[str] | None = None, oid: str = ANALYST_OID, **overrides: Any) -> str:
        """An access token for the API as Entra issues it (v2, app roles); ``overrides`` change claims."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "aud": API_CLIENT,
            "iss": f"{self.emulator.url}/{TENANT}/v2.0",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "azp": "caller-app",
            "azpacr": "1",
            "oid": oid,
            "roles": roles if roles is not None else ["analyst"],
            "sub": oid,
            "tid": TENANT,
            "ver": "2.0",
        }
        claims.update(overrides)
        return self.keys.sign({k: v for k, v in claims.items() if v is not None})


@pytest.fixture(scope="module")
def identity(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Identity]:
    emulator = IdentityEmulator(TokenIssuer(TENANT), tls_dir=tmp_path_factory.mktemp("tls")).start()
    keys = SigningKeys()
    provider = CodeFlowProvider(tenant_id=TENANT, keys=keys)
    install_code_flow(emulator, provider)
    yield Identity(emulator, provider, keys)
    emulator.stop()


@pytest.fixture(scope="module")
def api_settings(identity: Identity, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Settings]:
    def factory(**api: Any) -> Settings:
        data_dir = tmp_path_factory.mktemp("data")
        values: dict[str, Any] = {
            "tenant_id": TENANT,
            "client_id": API_CLIENT,
            "client_secret": API_SECRET,
            "authority_host": identity.emulator.url,
            "ca_bundle": identity.emulator.ca_file,
            "cookie_secure": False,
            "transcript_grants": (),
        }
        values.update(api)
        return Settings.load(data_dir=data_dir, api=values)

    return factory


def seed_calls(settings: Settings) -> None:
    resources = Resources.open(settings)
    try:
        seed_call(resources, "call-team", opportunity_id=ZUIDHAVEN_OPP, account_name="Gemeente Zuidhaven")
        seed_call(resources, "call-other", opportunity_id=BRIGHTLAB_OPP, account_name="Brightlab Pharma B.V.")
        seed_call(resources, "call-unlinked", opportunity_id=None, language="en")
    finally:
        resources.close()


@dataclass
class Api:
    client: TestClient
    settings: Settings
    identity: Identity

    def key(self, role: Role, systemuser_id: str | None = None) -> str:
        resources = Resources.open(self.settings)
        try:
            name = f"test-{role}-{uuid.uuid4().hex[:6]}"
            _, key = create_key(
                resources.database, role=role, name=name, pepper=None, systemuser_id=systemuser_id
            )
        finally:
            resources.close()
        return key


@pytest.fixture(scope="module")
def api(identity: Identity, api_settings: Callable[..., Settings]) -> Iterator[Api]:
    settings = api_settings()
    seed_calls(settings)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        yield Api(client, settings, identity)


MANAGER_OID = MARK_OID
