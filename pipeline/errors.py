"""One error base class for the whole product.

The runtime branches on ``retriable`` (aiokafka's habit), never on isinstance chains:

* ``retriable = False``: the input itself is wrong (corrupt audio, a schema violation, an unknown opportunity).
  Retrying cannot help, so the message goes to the dead-letter queue with the reason.
* ``retriable = True``: something outside the input failed (a throttled API, a database that went away).
  The message is retried with exponential backoff, or after ``defer_s`` when the cause said how long to wait.

Messages say what was wrong and what is accepted; they never carry transcript text or secrets.
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "DealtalkError",
    "InvalidInput",
    "RetryLater",
    "TransientError",
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
