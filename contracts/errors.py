"""One error base class for the whole product.

The runtime branches on ``retriable`` (aiokafka's habit), never on isinstance chains:

* ``retriable = False``: the input itself is wrong (corrupt audio, a schema violation, an unknown opportunity).
  Retrying cannot help, so the message goes to the dead-letter queue with the reason.
* ``retriable = True``: something outside the input failed (a throttled API, a database that went away).
  The message is retried with exponential backoff, or after ``defer_s`` when the cause said how long to wait.

Messages say what was wrong and what is accepted; they never carry transcript text or secrets.
"""

from __future__ import annotations

import email.utils
import time
from datetime import UTC

__all__ = [
    "ConfigurationError",
    "DealtalkError",
    "InvalidInput",
    "RetryLater",
    "TransientError",
    "retry_after_s",
]


class DealtalkError(Exception):
    """Base class of every error dealtalk raises on purpose.

    Args:
        message: what was wrong, and what is accepted.
        recording_id: the recording the error is about, when known.
    """

    retriable: bool = False

    def __init__(self, message: str, *, recording_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.recording_id = recording_id

    def __str__(self) -> str:
        if self.recording_id:
            return f"recording {self.recording_id}: {self.message}"
        return self.message


class InvalidInput(DealtalkError):
    """The input cannot be processed as it is (poison message): dead-letter it, do not retry."""

    retriable = False


class TransientError(DealtalkError):
    """A dependency failed for now: retry with exponential backoff."""

    retriable = True


class RetryLater(TransientError):
    """The dependency told us how long to wait (a ``Retry-After`` header, a lease held elsewhere)."""

    def __init__(self, message: str, *, defer_s: float, recording_id: str | None = None) -> None:
        super().__init__(message, recording_id=recording_id)
        self.defer_s = defer_s


class ConfigurationError(DealtalkError):
    """The settings are wrong or incomplete; the message names the variable to set."""

    retriable = False


def retry_after_s(value: str | None) -> float | None:
    """A ``Retry-After`` header in seconds (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, moment.timestamp() - time.time())
