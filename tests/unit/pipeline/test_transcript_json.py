"""``dealtalk analyze`` input: the segments shape, normalised, with errors that point at the segment."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dealtalk.contracts.errors import InvalidInput
from dealtalk.contracts.transcript_json import transcript_from_json


def test_minimal_segments_shape() -> None:
    doc = transcript_from_json(
        json.dumps(
            {
                "segments": [
                    {"speaker": "S2", "role": "customer", "start": 4.0, "end": 6.5, "text": "Te duur."},
                    {"speaker": "S1", "role": "seller", "start": 0.0, "end": 3.9, "text": "Goedemorgen."},
                ],
                "language": "nl",
            }
        ),
        default_call_id="call-x",
    )
    assert doc.call_id == "call-x"
    assert [s.speaker for s in doc.segments] == ["S1", "S2"]  # sorted by time
    assert {s.id: s.role for s in doc.speakers} == {"S1": "seller", "S2": "customer"}
    assert doc.duration_s == 6.5 and doc.segments[0].language == "nl"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("not json", "not valid JSON"),
        ("[]", '"segments" list'),
        ('{"segments": "x"}', '"segments" list'),
        ('{"segments": [{"speaker": "S1", "start": 2, "end": 1, "text": "x"}]}', "segments.0"),
        ('{"segments": [{"speaker": "S1", "start": -1, "end": 1, "text": "x"}]}', "segments.0.start"),
        (
            '{"segments": [{"speaker": "S1", "start": 0, "end": 1, "text": "x", "role": "boss"}]}',
            "segments.0.role",
        ),
    ],
)
def test_bad_input_is_explained(payload: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        transcript_from_json(payload, default_call_id="c")


segment = st.fixed_dictionaries(
    {
        "speaker": st.sampled_from(["S1", "S2", "S3"]),
        "start": st.floats(0, 1e4, allow_nan=False),
        "duration": st.floats(0, 60, allow_nan=False),
        "text": st.text(max_size=30),
    }
)


@given(st.lists(segment, max_size=20))
def test_valid_segments_always_parse_sorted(segments: list[dict[str, object]]) -> None:
    payload = [
        {"speaker": s["speaker"], "start": s["start"], "end": s["start"] + s["duration"], "text": s["text"]}  # type: ignore[operator]
        for s in segments
    ]
    doc = transcript_from_json(json.dumps({"segments": payload}), default_call_id="c")
    starts = [s.start for s in doc.segments]
    assert starts == sorted(starts)
    assert {s.speaker for s in doc.segments} == {s.id for s in doc.speakers}
