"""MSAL and azure-identity (unpatched) against the identity emulator over HTTPS: client credentials.

Docs: https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow (the token request
and its errors), https://learn.microsoft.com/entra/identity-platform/reference-error-codes (AADSTS codes).
"""

from __future__ import annotations

from collections.abc import Iterator

import msal
import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientSecretCredential

from dealtalk.emulators.dataverse import DataverseEmulator
from dealtalk.emulators.identity import IdentityEmulator, TokenIssuer
from dealtalk.emulators.tls import TestCA

from ..conftest import APP_ID, APP_SECRET, GRAPH, TENANT


@pytest.fixture
def session(test_ca: TestCA) -> Iterator[requests.Session]:
    """MSAL's documented ``http_client``: a requests session, here trusting the test CA."""
    with requests.Session() as http:
        http.trust_env = False  # REQUESTS_CA_BUNDLE must not override verify (psf/requests#3829)
        http.verify = str(test_ca.ca_file)
        yield http


def _msal(
    identity: IdentityEmulator, session: requests.Session, secret: str
) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        APP_ID,
        client_credential=secret,
        authority=f"{identity.url}/{TENANT}",
        instance_discovery=False,  # the authority is not a Microsoft cloud host
        http_client=session,
    )


def test_msal_client_credentials_and_cache(
    identity: IdentityEmulator,
    dataverse: DataverseEmulator,
    issuer: TokenIssuer,
    session: requests.Session,
) -> None:
    app = _msal(identity, session, APP_SECRET)
    scopes = [f"{dataverse.url}/.default"]
    first = app.acquire_token_for_client(scopes=scopes)
    assert first.get("token_type") == "Bearer" and first["access_token"], first
    issued = issuer.issued
    again = app.acquire_token_for_client(scopes=scopes)
    assert again["access_token"] == first["access_token"] and issuer.issued == issued  # served from the cache
    who = session.get(
        f"{dataverse.api_root}WhoAmI", headers={"Authorization": f"Bearer {first['access_token']}"}
    )
    assert who.status_code == 200 and "UserId" in who.json()


def test_msal_sees_entra_errors(identity: IdentityEmulator, session: requests.Session) -> None:
    wrong_secret = _msal(identity, session, "not-the-secret").acquire_token_for_client(
        scopes=[f"{GRAPH}/.default"]
    )
    assert wrong_secret["error"] == "invalid_client" and wrong_secret["error_codes"] == [7000215]
    no_default = _msal(identity, session, APP_SECRET).acquire_token_for_client(scopes=[f"{GRAPH}/User.Read"])
    assert no_default["error"] == "invalid_scope"


def test_azure_identity_client_secret_credential(
    credential: ClientSecretCredential, issuer: TokenIssuer
) -> None:
    token = credential.get_token(f"{GRAPH}/.default")
    assert token.token and token.expires_on > 0
    claims = issuer.verify(f"Bearer {token.token}", audience=GRAPH)
    assert claims["appid"] == APP_ID and claims["tid"] == TENANT
    with pytest.raises(ClientAuthenticationError, match="AADSTS500011"):
        credential.get_token("https://unknown.example.org/.default")
