"""Build the Dataverse client from settings, refusing incomplete configuration with the variable to set."""

from __future__ import annotations

from dealtalk.contracts.config import Settings
from dealtalk.contracts.errors import ConfigurationError
from dealtalk.publisher.dataverse.auth import MsalTokenProvider
from dealtalk.publisher.dataverse.client import DataverseClient

__all__ = ["dataverse_client"]


def dataverse_client(settings: Settings) -> DataverseClient:
    """A client for ``settings.dataverse`` (MSAL client credentials + httpx).

    Raises:
        ConfigurationError: the organisation URL, tenant, app id or secret is missing.
    """
    dv = settings.dataverse
    missing = [
        variable
        for variable, value in (
            ("DEALTALK_DATAVERSE__URL", dv.url),
            ("DEALTALK_DATAVERSE__TENANT_ID", dv.tenant_id),
            ("DEALTALK_DATAVERSE__CLIENT_ID", dv.client_id),
            (
                "DEALTALK_DATAVERSE__CLIENT_SECRET",
                dv.client_secret.get_secret_value() if dv.client_secret else "",
            ),
        )
        if not value
    ]
    if missing:
        raise ConfigurationError(f"the Dataverse backend needs {', '.join(missing)}")
    assert dv.client_secret is not None
    tokens = MsalTokenProvider(
        tenant_id=dv.tenant_id,
        client_id=dv.client_id,
        client_secret=dv.client_secret,
        org_url=dv.url,
        authority_host=dv.authority_host,
        ca_bundle=dv.ca_bundle,
        timeout_s=dv.timeout_s,
    )
    return DataverseClient(
        org_url=dv.url,
        api_version=dv.api_version,
        tokens=tokens,
        max_concurrency=dv.max_concurrency,
        timeout_s=dv.timeout_s,
        max_retries=dv.max_retries,
        max_retry_wait_s=dv.max_retry_wait_s,
        ca_bundle=dv.ca_bundle,
    )
