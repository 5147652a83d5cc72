"""The WebVTT parser on Teams' format and its variants, with property tests for timestamps and round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dealtalk.contracts.errors import InvalidInput
from dealtalk.transcription.vtt import VttCue, VttError, format_timestamp, parse_timestamp, parse_vtt

TEAMS = (
    "WEBVTT\n\n"
    "0f3c1a2b-6d7e-4c1d-9a0b-1c2d3e4f5a6b/12-0\n"
    "00:00:00.600 --> 00:00:10.379\n"
    "<v Eva de Vries>Goedemorgen Pieter, fijn dat je tijd hebt.</v>\n\n"
    "0f3c1a2b-6d7e-4c1d-9a0b-1c2d3e4f5a6b/15-0\n"
    "00:00:11.240 --> 00:00:18.909\n"
    "<v Pieter van Dam>Goedemorgen Eva.\nIk heb jullie offerte &amp; de bijlage gelezen.</v>\n"
)


def test_teams_cues_with_ids_voices_and_multi_line_text() -> None:
    cues = parse_vtt(TEAMS.encode())
    assert cues == (
        VttCue(
            0.6,
            10.379,
            "Goedemorgen Pieter, fijn dat je tijd hebt.",
            "Eva de Vries",
            "0f3c1a2b-6d7e-4c1d-9a0b-1c2d3e4f5a6b/12-0",
        ),
        VttCue(
            11.24,
            18.909,
            "Goedemorgen Eva. Ik heb jullie offerte & de bijlage gelezen.",
            "Pieter van Dam",
            "0f3c1a2b-6d7e-4c1d-9a0b-1c2d3e4f5a6b/15-0",
        ),
    )


def test_bom_crlf_notes_styles_hourless_times_settings_and_markup() -> None:
    text = (
        "\ufeffWEBVTT - Teams export\r\nKind: captions\r\n\r\n"
        'NOTE\r\nduration:"00:01:00"\r\nlanguage:nl-nl\r\n\r\n'
        "STYLE\r\n::cue { color: red }\r\n\r\n"
        "01:02.500 --> 01:04.000 align:start position:10%\r\n"
        "<v.loud Mark Jansen><i>Nee</i>, dat <c.yellow>klopt</c> niet <00:01:03.500>echt.\r\n\r\n"
        "01:05.000 --> 01:06.000\r\n"
        "Zonder spreker\r\n"
    )
    cues = parse_vtt(text)
    assert [(c.start, c.end, c.text, c.speaker, c.identifier) for c in cues] == [
        (62.5, 64.0, "Nee, dat klopt niet echt.", "Mark Jansen", None),
        (65.0, 66.0, "Zonder spreker", None, None),
    ]


def test_two_voices_in_one_cue_share_its_time_by_length() -> None:
    cues = parse_vtt("WEBVTT\n\n00:00:00.000 --> 00:00:04.000\n<v A>ja ja ja</v>\n<v B>nee nee</v>\n")
    assert [(c.speaker, c.text) for c in cues] == [("A", "ja ja ja"), ("B", "nee nee")]
    assert cues[0].start == 0.0 and cues[1].end == 4.0
    assert cues[0].end == cues[1].start == pytest.approx(4.0 * 8 / 15)


def test_an_empty_transcript_has_no_cues_and_empty_cues_are_left_out() -> None:
    assert parse_vtt("WEBVTT\n") == ()
    assert parse_vtt("WEBVTT\n\n00:01.000 --> 00:02.000\n<v Eva></v>\n") == ()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "line 1: a WebVTT file starts with 'WEBVTT'"),
        ("1\n00:00:01.000 --> 00:00:02.000\nhallo\n", "line 1: a WebVTT file starts"),
        ("WEBVTTX\n", "line 1"),
        ("WEBVTT\n00:00:01.000 --> 00:00:02.000\nhallo\n", "blank line must separate"),
        (
            "WEBVTT\n\n00:00:01.000 -> 00:00:02.000\nhallo\n",
            "line 4: expected a cue timing .* after the cue identifier '00:00:01.000 -> 00:00:02.000' "
            ".line 3., found a text line .5 characters.",
        ),
        ("WEBVTT\n\nid\nhallo\n", "line 4: expected a cue timing"),
        # Spoken text is never quoted back (it would reach logs and dead-letter reasons).
        ("Goedemorgen Pieter\n", "line 1: .*found a text line .18 characters.$"),
        ("WEBVTT\n\nonly-an-id\n", "line 4: expected a cue timing .*, found the end of the block"),
        ("WEBVTT\n\n00:00:01.000 --> 00:00:02\nhallo\n", "line 3: '00:00:02' is not a WebVTT timestamp"),
        ("WEBVTT\n\n00:61:01.000 --> 00:62:02.000\nhallo\n", "line 3: '00:61:01.000' is not"),
        ("WEBVTT\n\n00:00:05.000 --> 00:00:02.000\nhallo\n", "line 3: the cue ends (2.000 s) before"),
    ],
)
def test_malformed_input_is_refused_with_the_line(text: str, problem: str) -> None:
    with pytest.raises(VttError, match=problem.replace("(", r"\(").replace(")", r"\)")) as caught:
        parse_vtt(text)
    assert isinstance(caught.value, InvalidInput)  # poison input: dead-lettered, not retried


def test_bytes_that_are_not_utf8_are_refused() -> None:
    with pytest.raises(VttError, match="not UTF-8"):
        parse_vtt(b"WEBVTT\n\n00:01.000 --> 00:02.000\n\xff\xfe\n")


@given(st.integers(0, 100 * 3600 * 1000 - 1), st.booleans())
def test_timestamps_round_trip(millis: int, hours: bool) -> None:
    seconds = millis / 1000
    text = format_timestamp(seconds, hours=hours)
    assert parse_timestamp(text) == pytest.approx(seconds, abs=1e-9)
    assert (len(text.split(":")) == 3) == (hours or seconds >= 3600)


@given(st.text(max_size=20))
def test_any_text_that_parses_as_a_timestamp_formats_back_to_the_same_time(text: str) -> None:
    try:
        value = parse_timestamp(text)
    except ValueError:
        return
    assert value >= 0
    assert parse_timestamp(format_timestamp(value)) == pytest.approx(value, abs=1e-9)


_names = st.one_of(st.none(), st.sampled_from(["Eva de Vries", "Pieter van Dam", "Mark (Guest)", "Zoë Smit"]))
_text = st.lists(
    st.text(
        alphabet=st.characters(categories=["L", "N"]) | st.sampled_from(",.?!'&"), min_size=1, max_size=12
    ),
    min_size=1,
    max_size=8,
).map(" ".join)
_cue = st.tuples(
    st.integers(0, 10_000_000), st.integers(0, 60_000), _names, _text, st.booleans(), st.booleans()
)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@given(st.lists(_cue, max_size=12), st.booleans(), st.sampled_from(["\n", "\r\n", "\r"]), st.booleans())
def test_what_is_written_is_read_back(
    cues: list[tuple[int, int, str | None, str, bool, bool]], bom: bool, newline: str, notes: bool
) -> None:
    blocks = ["WEBVTT"]
    expected = []
    for i, (start_ms, length_ms, speaker, text, with_id, hourless) in enumerate(cues):
        start, end = start_ms / 1000, (start_ms + length_ms) / 1000
        short = hourless and end < 3600
        timing = f"{format_timestamp(start, hours=not short)} --> {format_timestamp(end, hours=not short)}"
        words = text.split()
        # Long texts go over two lines, as Teams writes them.
        payload = " ".join(words[:3]) + ("\n" + " ".join(words[3:]) if len(words) > 3 else "")
        body = f"<v {speaker}>{_escape(payload)}</v>" if speaker else _escape(payload)
        block = ([f"cue-{i}"] if with_id else []) + [timing, *body.split("\n")]
        if notes:
            blocks.append(f"NOTE cue {i}")
        blocks.append("\n".join(block))
        expected.append(VttCue(start, end, " ".join(words), speaker, f"cue-{i}" if with_id else None))
    document = ("\n\n".join(blocks) + "\n").replace("\n", newline)
    parsed = parse_vtt(("\ufeff" if bom else "") + document)
    assert [
        (round(c.start * 1000), round(c.end * 1000), c.text, c.speaker, c.identifier) for c in parsed
    ] == [(round(c.start * 1000), round(c.end * 1000), c.text, c.speaker, c.identifier) for c in expected]


@given(st.text(max_size=300))
def test_arbitrary_text_is_parsed_or_refused_clearly(text: str) -> None:
    try:
        cues = parse_vtt("WEBVTT\n\n" + text)
    except VttError as exc:
        assert exc.message.startswith("line ")
        return
    assert all(0 <= cue.start <= cue.end and cue.text == cue.text.strip() and cue.text for cue in cues)
