"""The API group of the settings model (``Settings.api``), in its own module for size; import it from
``dealtalk.contracts.config`` like every other group.

Authentication is on by default: Entra ID bearer tokens (when ``tenant_id``/``client_id`` are set), hashed API
keys (``dealtalk apikey create``) and browser sign-in (OIDC code flow with PKCE, when ``client_secret`` is set
too). ``auth = "off"`` exists for local development only: ``dealtalk serve`` refuses it on a non-loopback host.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = ["ApiSettings"]


class ApiSettings(BaseModel):
    """``DEALTALK_API__*``: where the API listens and how it authenticates callers."""

    model_config = ConfigDict(extra="forbid", frozen=True)  # like every group of the settings model

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    metrics_port: int = Field(default=9102, ge=0, le=65535)
    auth: Literal["on", "off"] = Field(
        default="on", description="`off` only for local development; refused on a non-loopback host."
    )
    tenant_id: str = Field(
        default="", description="Entra tenant (directory) id of the API's app registration."
    )
    client_id: str = Field(
        default="", description="The API's app registration (client) id: the token audience."
    )
    client_secret: SecretStr | None = Field(default=None, description="Credential for browser sign-in.")
    authority_host: str = "https://login.microsoftonline.com"
    jwks_url: str = Field(default="", description="Signing keys; empty: the `jwks_uri` of OIDC discovery.")
    ca_bundle: Path | None = Field(default=None, description="PEM CAs to trust for the identity platform.")
    leeway_s: int = Field(default=60, ge=0, le=300)
    jwks_refresh_min_s: float = Field(
        default=300.0, ge=0, description="Unknown `kid`: refetch at most this often."
    )
    jwks_ttl_s: float = Field(default=86_400.0, gt=0)
    api_key_pepper: SecretStr | None = Field(default=None, description="HMAC key for stored API-key hashes.")
    public_url: str = Field(
        default="", description="External base URL (sign-in redirect); empty: request URL."
    )
    session_max_age_s: int = Field(default=8 * 3600, ge=60, le=7 * 86_400)
    cookie_secure: bool = Field(
        default=True, description="Secure cookies (`__Host-` prefix); off for plain HTTP."
    )
    cookie_samesite: Literal["lax", "strict"] = "lax"
    transcript_grants: tuple[str, ...] = Field(
        default=(),
        description="Principal ids (Entra `oid`, `key:<id>`) of analysts who may read transcripts.",
    )
    max_page_size: int = Field(default=500, ge=1, le=5000)
    max_export_rows: int = Field(default=1_000_000, ge=1)
