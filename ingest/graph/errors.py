"""Graph failures -> ``DealtalkError``s that tell an operator what to do.

The SDK raises ``kiota_abstractions.api_error.APIError`` (``ODataError`` when the body parsed) carrying the
status, Graph's ``error.code``/``message`` and the response headers. Graph documents ``Retry-After`` on 429
and 503; the SDK's retry middleware already honoured it up to three times before we get here.
"""

from __future__ import annotations

from typing import Any

from dealtalk.contracts.errors import (
    ConfigurationError,
    DealtalkError,
    InvalidInput,
    RetryLater,
    TransientError,
    retry_after_s,
)

__all__ = ["DeltaTokenExpired", "GraphFailure", "describe_api_error", "graph_error", "group_members_error"]

POLICY_HELP = (
    "A Teams administrator grants it in PowerShell: New-CsApplicationAccessPolicy -Identity dealtalk "
    "-AppIds {client_id}; then Grant-CsApplicationAccessPolicy -PolicyName dealtalk -Identity <organizer "
    "object id> (or -Global). Changes can take up to 30 minutes to reach Graph."
)


class DeltaTokenExpired(Exception):
    """The saved delta token is no longer valid (``resyncRequired``/``syncStateNotFound``): start over."""


class GraphFailure(Exception):
    """A failed Graph call reduced to what the mapping needs (status, code, message, Retry-After)."""

    def __init__(self, status: int, code: str, message: str, retry_after: str | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


def _header(headers: Any, name: str) -> str | None:
    if headers is None:
        return None
    for key in headers:
        if str(key).lower() == name:
            value = headers[key]
            if isinstance(value, list | tuple | set):
                return str(next(iter(value), "")) or None
            return str(value)
    return None


def describe_api_error(exc: Any) -> GraphFailure:
    """Extract status, code, message and Retry-After from a kiota ``APIError``/``ODataError``."""
    status = int(getattr(exc, "response_status_code", 0) or 0)
    error = getattr(exc, "error", None)
    code = str(getattr(error, "code", "") or "")
    message = str(getattr(error, "message", "") or getattr(exc, "message", "") or "")
    return GraphFailure(status, code, message, _header(getattr(exc, "response_headers", None), "retry-after"))


def graph_error(failure: GraphFailure, what: str, *, client_id: str) -> DealtalkError:
    """The error to raise when ``what`` ("the recordings of organizer X") failed.

    Raises nothing itself; 410 must be handled by the caller (``DeltaTokenExpired``) before mapping.
    """
    detail = f"Graph refused {what}: HTTP {failure.status} {failure.code} {failure.message}".rstrip()
    status = failure.status
    if status == 401:
        return ConfigurationError(
            f"{detail}. The app's token was refused twice; check DEALTALK_GRAPH__TENANT_ID, "
            "DEALTALK_GRAPH__CLIENT_ID and DEALTALK_GRAPH__CLIENT_SECRET"
        )
    if status == 402:
        return ConfigurationError(
            f"{detail}. Teams recording and transcript content is a metered API: associate the app registration "
            "with an Azure subscription (https://aka.ms/teams-api-payment-requirements), then replay the message"
        )
    if status == 403 and "application access policy" in failure.message.lower():
        return ConfigurationError(f"{detail}. {POLICY_HELP.format(client_id=client_id)}")
    if status == 403:
        return ConfigurationError(
            f"{detail}. Grant the app the application permissions OnlineMeetingRecording.Read.All, "
            "OnlineMeetingTranscript.Read.All and OnlineMeetings.Read.All with admin consent"
        )
    if status == 404:
        return InvalidInput(f"{detail}. It was deleted, or the meeting expired; nothing to fetch")
    if status in (429, 503, 504):
        wait = retry_after_s(failure.retry_after) or 30.0
        return RetryLater(
            f"{detail} (throttled or unavailable; Graph asked to wait {wait:.0f} s)", defer_s=wait
        )
    if status >= 500 or status == 0:
        return TransientError(detail)
    return InvalidInput(detail)


def group_members_error(failure: GraphFailure, group_id: str, *, client_id: str) -> DealtalkError:
    """The error to raise when listing the members of the organizer group ``group_id`` failed.

    403 and 404 are configuration problems with a precise fix (the permission, the setting); the rest maps
    like any Graph failure (throttling defers, 5xx retries).
    """
    detail = (
        f"Graph refused the members of the organizer group {group_id}: "
        f"HTTP {failure.status} {failure.code} {failure.message}"
    ).rstrip()
    if failure.status == 403:
        return ConfigurationError(
            f"{detail}. Grant the app registration the application permission GroupMember.Read.All (or "
            "Group.Read.All) with admin consent; a group with hidden membership also needs Member.Read.Hidden"
        )
    if failure.status == 404:
        return ConfigurationError(
            f"{detail}. No group has the object id {group_id}: set DEALTALK_GRAPH__ORGANIZER_GROUP_ID to the "
            "Object ID of an existing Microsoft Entra group (not its name or e-mail address), or leave it empty"
        )
    return graph_error(failure, f"the members of the organizer group {group_id}", client_id=client_id)
