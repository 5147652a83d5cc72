"""Dataverse error responses -> ``DealtalkError``s that say what failed and what to do.

Dataverse answers ``{"error": {"code": "0x…", "message": "…"}}`` (Microsoft's "Compose HTTP requests and
handle errors" and the Web API client-errors article). The status decides retriable or not; a few codes get
an actionable hint (table not provisioned, key not active, record gone, missing privilege).
"""

from __future__ import annotations

import re
from typing import Any

from dealtalk.contracts.errors import (
    ConfigurationError,
    DealtalkError,
    InvalidInput,
    RetryLater,
    TransientError,
)

__all__ = ["error_code", "error_for"]

_RESOURCE_NOT_FOUND = "0x8006088a"  # unknown entity set: the table is not there
_UNDEFINED_KEY = "0x80060891"  # the alternate key is not defined (or not active yet)
_RECORD_MISSING = "0x80040217"
_MISSING_PRIVILEGE = re.compile(r"missing (prv\w+) privilege")  # Dataverse's 0x80040220 message


def error_code(body: Any) -> tuple[str, str]:
    """(code, message) of a Dataverse error body; empty strings when the body has another shape."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", ""
    return str(error.get("code") or ""), str(error.get("message") or "")


def error_for(status: int, body: Any, purpose: str) -> DealtalkError:
    """The error to raise for a failed request.

    Args:
        status: the HTTP status.
        body: the parsed JSON body (or None).
        purpose: what the request did, e.g. "upsert the call-insights activity by its recording-id key".
    """
    code, message = error_code(body)
    detail = (
        f"Dataverse refused to {purpose}: HTTP {status}"
        + (f" {code}" if code else "")
        + (f" {message}" if message else "")
    )
    if status == 404 and code == _RESOURCE_NOT_FOUND:
        return ConfigurationError(
            f"{detail}. The table is missing: run `dealtalk dataverse provision`, or set "
            "DEALTALK_PUBLISHER__FALLBACK_PHONECALL=true for organisations that cannot add tables"
        )
    if status == 400 and code == _UNDEFINED_KEY:
        # Keys are indexed asynchronously after provisioning: worth retrying for a while.
        return RetryLater(
            f"{detail}. The alternate key is not active yet; `dealtalk dataverse provision` shows its status",
            defer_s=120.0,
        )
    if status in (400, 413, 415):
        return InvalidInput(f"{detail}. The request was malformed for this organisation's schema")
    if status == 404:
        hint = (
            " (the record was deleted; link the call again with `dealtalk link`)"
            if code == _RECORD_MISSING
            else ""
        )
        return InvalidInput(f"{detail}{hint}")
    if status == 412:
        return InvalidInput(f"{detail}. A concurrent change or a duplicate key; the upsert was not applied")
    if status == 401:
        return ConfigurationError(f"{detail}. The token was refused twice; check the app registration")
    if status == 403:
        privilege = _MISSING_PRIVILEGE.search(message)
        wanted = (
            f"the privilege {privilege.group(1)}" if privilege else "this privilege (the message names it)"
        )
        return ConfigurationError(f"{detail}. Give the application user a security role with {wanted}")
    if status == 429:
        return RetryLater(f"{detail} (service protection limits)", defer_s=60.0)
    if status >= 500:
        return TransientError(detail)
    return InvalidInput(detail)
