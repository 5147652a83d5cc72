"""Fixtures for the conformance suite: Microsoft's own clients, unpatched, against the emulators over HTTPS.

The Dataverse SDK (``powerplatform-dataverse-client``) sends its requests with ``requests``, which exposes no
CA setting through the SDK: the test CA reaches it through ``REQUESTS_CA_BUNDLE`` (requests' documented
variable). azure-identity takes ``connection_verify``; msgraph-sdk runs on an httpx client we build with
``verify``; MSAL takes ``http_client`` (an httpx client with ``verify``).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest
from azure.identity import ClientSecretCredential
from PowerPlatform.Dataverse.client import DataverseClient

from dealtalk.emulators.dataverse import SYSTEM_ADMINISTRATOR, DataverseEmulator, SecurityRole
from dealtalk.emulators.identity import IdentityEmulator, TokenIssuer
from dealtalk.emulators.tls import TestCA

from ..conftest import APP_ID, APP_SECRET, TENANT


@pytest.fixture
def dataverse_roles() -> dict[str, SecurityRole]:
    """The SDK tests write any table: the application user is a System Administrator (privileges have their
    own tests with dealtalk's role)."""
    return {APP_ID: SYSTEM_ADMINISTRATOR}


@pytest.fixture
def credential(identity: IdentityEmulator, test_ca: TestCA) -> Iterator[ClientSecretCredential]:
    """azure-identity client credentials against the emulated identity platform."""
    credential = ClientSecretCredential(
        TENANT,
        APP_ID,
        APP_SECRET,
        authority=identity.url,
        disable_instance_discovery=True,  # the authority is not a Microsoft cloud host
        connection_verify=str(test_ca.ca_file),
    )
    yield credential
    credential.close()


@pytest.fixture
def sdk(
    dataverse: DataverseEmulator,
    credential: ClientSecretCredential,
    test_ca: TestCA,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[DataverseClient]:
    """Microsoft's Dataverse SDK for the emulated organisation (HTTPS, the test CA trusted)."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(test_ca.ca_file))
    with DataverseClient(dataverse.url, credential) as client:
        yield client


@pytest.fixture
def dv_http(
    dataverse: DataverseEmulator, issuer: TokenIssuer, trust: ssl.SSLContext
) -> Iterator[httpx.Client]:
    """A raw Web API client with a token for the emulated organisation (for what no SDK call reaches)."""
    headers = {
        "Authorization": f"Bearer {issuer.issue(APP_ID, dataverse.url)}",
        "OData-Version": "4.0",
        "OData-MaxVersion": "4.0",
        "Accept": "application/json",
    }
    with httpx.Client(base_url=dataverse.api_root, headers=headers, verify=trust) as client:
        yield client
