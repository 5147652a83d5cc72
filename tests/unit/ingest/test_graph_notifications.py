"""Parsing Graph change and lifecycle notifications, and the clientState check."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dealtalk.contracts.errors import InvalidInput
from dealtalk.ingest.graph.notifications import accept_notifications

STATE = "our-client-state"
RECORDING = "VjIjIzEwOTY0NzAzZS1h+OGY1/LTRkNWQ=="
MEETING = "MSo1N2Y5ZGFjYy03MWJmLTQ3NDMtYjQxMy01M2EzMmQ3ZDQ0NTkq"


def _created(client_state: str | None = STATE, change_type: str = "created") -> dict[str, object]:
    resource = f"communications/onlineMeetings('{MEETING}')/recordings('{RECORDING}')"
    return {
        "subscriptionId": "sub-1",
        "changeType": change_type,
        "clientState": client_state,
        "tenantId": "t",
        "resource": resource,
        "resourceData": {
            "id": RECORDING,
            "@odata.type": "#Microsoft.Graph.callRecording",
            "@odata.id": resource,
        },
    }


def _body(*items: Mapping[str, object]) -> bytes:
    return json.dumps({"value": list(items)}).encode()


def test_created_notification_becomes_work_with_ids_containing_slashes() -> None:
    accepted = accept_notifications(_body(_created()), client_state=STATE)
    (work,) = accepted.work
    assert (work.kind, work.subscription_id, work.meeting_id, work.recording_id) == (
        "created",
        "sub-1",
        MEETING,
        RECORDING,
    )


@pytest.mark.parametrize("event", ["reauthorizationRequired", "subscriptionRemoved", "missed"])
def test_lifecycle_events_become_work(event: str) -> None:
    item = {"subscriptionId": "sub-2", "clientState": STATE, "lifecycleEvent": event, "tenantId": "t"}
    (work,) = accept_notifications(_body(item), client_state=STATE).work
    assert (work.kind, work.subscription_id) == (event, "sub-2")


def test_other_change_types_and_unknown_lifecycle_events_are_ignored() -> None:
    unknown = {"subscriptionId": "s", "clientState": STATE, "lifecycleEvent": "somethingNew"}
    accepted = accept_notifications(_body(_created(change_type="updated"), unknown), client_state=STATE)
    assert accepted.work == () and accepted.ignored == 2


@given(st.text(max_size=130))
def test_any_other_client_state_is_rejected(guess: str) -> None:
    accepted = accept_notifications(_body(_created(guess), _created(None)), client_state=STATE)
    expected = 1 if guess == STATE else 0
    assert len(accepted.work) == expected and accepted.rejected == 2 - expected


@pytest.mark.parametrize("body", [b"", b"[]", b'{"value": 3}', b'{"value": [{"clientState": "x"}]}', b"\xff"])
def test_malformed_bodies_are_invalid_input(body: bytes) -> None:
    with pytest.raises(InvalidInput, match="not a Graph notification collection"):
        accept_notifications(body, client_state=STATE)
