"""The file-backed discovery state, and how Graph failures become actionable errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dealtalk.contracts.errors import ConfigurationError, InvalidInput, RetryLater, TransientError
from dealtalk.ingest.graph.errors import GraphFailure, graph_error
from dealtalk.ingest.graph.state import FileDiscoveryState, SubscriptionRecord


def test_state_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "graph" / "state.json"
    state = FileDiscoveryState(path)
    state.save_delta_link("org", "https://graph/delta?skipToken=x")
    state.mark_seen("rec+/=")
    state.save_subscription(
        SubscriptionRecord(
            "sub", "org", "users/org/onlineMeetings/getAllRecordings", "2026-01-01T00:00:00+00:00"
        )
    )
    state.save_user_id("Eva@Schoonenberg.nl", "guid")
    again = FileDiscoveryState(path)
    assert again.delta_link("org") == "https://graph/delta?skipToken=x"
    assert again.seen("rec+/=") and not again.seen("other")
    assert [s.id for s in again.subscriptions()] == ["sub"]
    assert again.user_id("eva@schoonenberg.nl") == "guid"
    again.save_delta_link("org", None)
    again.drop_subscription("sub")
    assert (
        FileDiscoveryState(path).delta_link("org") is None and FileDiscoveryState(path).subscriptions() == []
    )
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]  # no temp files left behind
    assert "rec+/=" in json.loads(path.read_text())["seen"]


def test_unreadable_state_is_a_transient_error(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("{broken")
    with pytest.raises(TransientError, match="cannot read the Graph discovery state"):
        FileDiscoveryState(path)


@pytest.mark.parametrize(
    ("status", "code", "message", "kind", "fragment"),
    [
        (401, "InvalidAuthenticationToken", "expired", ConfigurationError, "DEALTALK_GRAPH__CLIENT_SECRET"),
        (402, "PaymentRequired", "evaluation capacity", ConfigurationError, "Azure subscription"),
        (
            403,
            "Forbidden",
            "No application access policy found for this app",
            ConfigurationError,
            "New-CsApplicationAccessPolicy -Identity dealtalk -AppIds app-1",
        ),
        (403, "Forbidden", "Insufficient privileges", ConfigurationError, "OnlineMeetingRecording.Read.All"),
        (404, "NotFound", "gone", InvalidInput, "deleted"),
        (400, "BadRequest", "bad", InvalidInput, "bad"),
        (500, "generalException", "boom", TransientError, "boom"),
        (0, "NetworkError", "unreachable", TransientError, "unreachable"),
    ],
)
def test_graph_failures_map_to_clear_errors(
    status: int, code: str, message: str, kind: type, fragment: str
) -> None:
    error = graph_error(
        GraphFailure(status, code, message), "the recordings of organizer o", client_id="app-1"
    )
    assert type(error) is kind and fragment in str(error)


def test_throttling_defers_by_retry_after() -> None:
    error = graph_error(GraphFailure(429, "TooManyRequests", "slow down", "17"), "x", client_id="a")
    assert isinstance(error, RetryLater) and error.defer_s == 17
    unavailable = graph_error(GraphFailure(503, "serviceNotAvailable", "later"), "x", client_id="a")
    assert isinstance(unavailable, RetryLater) and unavailable.defer_s == 30
