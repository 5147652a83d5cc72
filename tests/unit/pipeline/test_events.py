"""Events: the wire format round-trips, and anything else is refused with a reason (never another exception)."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dealtalk.contracts.documents import BlobRef, MeetingInfo, Participant
from dealtalk.contracts.errors import InvalidInput
from dealtalk.contracts.events import (
    AudioStored,
    RecordingDiscovered,
    StageFailed,
    dump_event,
    new_trace_id,
    parse_event,
    topic_of,
)

SHA = "a" * 64


def discovered() -> RecordingDiscovered:
    meeting = MeetingInfo(
        subject="Verlenging", organizer=Participant(name="Eva", email="eva@x.nl", role="seller")
    )
    return RecordingDiscovered(
        recording_id="rec-1",
        trace_id=new_trace_id(),
        source="local",
        source_ref="/tmp/a.flac",
        meeting=meeting,
    )


def test_round_trip_keeps_every_field() -> None:
    event = discovered()
    assert parse_event(dump_event(event)) == event
    stored = AudioStored(**event.follow(), audio=BlobRef(sha256=SHA, size_bytes=10), meeting=event.meeting)
    parsed = parse_event(dump_event(stored).encode())
    assert parsed == stored
    assert parsed.trace_id == event.trace_id and parsed.recording_id == "rec-1"
    assert topic_of(parsed) == "audio.stored"


def test_unknown_schema_version_is_named() -> None:
    raw = json.loads(dump_event(discovered()))
    raw["schema_version"] = 2
    with pytest.raises(InvalidInput, match="unsupported schema_version 2"):
        parse_event(json.dumps(raw))


def test_schema_violation_names_the_field() -> None:
    raw = json.loads(dump_event(discovered()))
    del raw["recording_id"]
    with pytest.raises(InvalidInput, match="recording_id"):
        parse_event(json.dumps(raw))


def test_unknown_event_type_is_refused() -> None:
    raw = json.loads(dump_event(discovered()))
    raw["type"] = "recording.exploded"
    with pytest.raises(InvalidInput, match="violates the event schema"):
        parse_event(json.dumps(raw))


def test_extra_fields_are_refused() -> None:
    raw = json.loads(dump_event(discovered()))
    raw["audio_bytes"] = "AAAA"
    with pytest.raises(InvalidInput, match="audio_bytes"):
        parse_event(json.dumps(raw))


def test_oversized_message_is_refused_before_parsing() -> None:
    with pytest.raises(InvalidInput, match="exceeds"):
        parse_event("{" + " " * 300_000 + "}")


def test_blob_refs_are_claim_checks_not_content() -> None:
    with pytest.raises(ValueError, match="sha256"):
        BlobRef(sha256="not-a-hash", size_bytes=1)


def test_stage_failed_carries_the_original() -> None:
    failed = StageFailed(
        recording_id="rec-1",
        trace_id="t",
        stage="transcribe",
        reason="audio is empty",
        error_type="InvalidInput",
        attempt=1,
        retriable=False,
        original="{...}",
        original_topic="audio.stored",
    )
    assert parse_event(dump_event(failed)) == failed


@given(st.binary(max_size=2000))
def test_arbitrary_bytes_only_ever_raise_invalid_input(data: bytes) -> None:
    with contextlib.suppress(InvalidInput):
        parse_event(data)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=20,
    )
)
def test_arbitrary_json_only_ever_raises_invalid_input(value: object) -> None:
    with contextlib.suppress(InvalidInput):
        parse_event(json.dumps(value))
