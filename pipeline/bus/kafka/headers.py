"""Record headers: how the trace id, attempt count and retry time travel beside a message.

Kafka headers are ``(str, bytes)`` pairs; ours are UTF-8 text. Names are shared by producers and consumers here
so that a typo cannot split one header into two.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = [
    "ATTEMPT",
    "DLQ_ORIGINAL",
    "DLQ_PREFIX",
    "NOT_BEFORE_MS",
    "ORIGINAL_TOPIC",
    "STAGE",
    "TRACE_ID",
    "TRUNCATED",
    "attempt_of",
    "decode_headers",
    "encode_headers",
]

TRACE_ID = "trace_id"
# The stage that produced the message (on hand-over topics) or that failed it (on the retry topic).
STAGE = "stage"
# Deliveries so far + 1: the attempt this message is for (absent means the first).
ATTEMPT = "attempt"
# Retry topic: not to be handled before this time (milliseconds since the epoch).
NOT_BEFORE_MS = "not_before_ms"
# Retry topic: the stage input topic the message came from (dead letters and replays go back there).
ORIGINAL_TOPIC = "original_topic"
# Dead-letter records keep the original headers and add theirs under this prefix.
DLQ_PREFIX = "dlq_"
# Dead letters: ``dlq_original`` says so when only the start of an oversized original was kept.
DLQ_ORIGINAL = f"{DLQ_PREFIX}original"
TRUNCATED = "truncated"

# Headers above this size are cut: they are ids and short reasons, never payloads.
_MAX_VALUE_BYTES = 4096


def decode_headers(raw: Iterable[tuple[str, bytes | None]] | None) -> dict[str, str]:
    """Kafka's header pairs as a dict of text (the last value wins for a repeated name)."""
    headers: dict[str, str] = {}
    for name, value in raw or ():
        headers[name] = (value or b"").decode("utf-8", errors="replace")
    return headers


def encode_headers(headers: Mapping[str, str]) -> list[tuple[str, bytes]]:
    """A dict of text as Kafka's header pairs."""
    return [(name, value.encode("utf-8")[:_MAX_VALUE_BYTES]) for name, value in headers.items()]


def attempt_of(headers: Mapping[str, str]) -> int:
    """The attempt a delivered message is for: 1 unless the retry topic said otherwise."""
    try:
        return max(1, int(headers.get(ATTEMPT, "1")))
    except ValueError:
        return 1
