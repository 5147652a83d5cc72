"""A transcript from Teams cues: voices to attendees and roles, estimated timings, re-timing to ASR words."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dealtalk.contracts.documents import Participant
from dealtalk.transcription.assign import TimedWord
from dealtalk.transcription.protocols import CallContext
from dealtalk.transcription.retime import normalise_token, retime, spread
from dealtalk.transcription.teams import ESTIMATED_TIMINGS, match_voices, teams_ref, teams_transcript
from dealtalk.transcription.vtt import VttCue

EVA = Participant(name="Eva de Vries", email="eva.devries@schoonenberg.nl", role="seller", is_organizer=True)
PIETER = Participant(name="Pieter van Dam", email="p.vandam@zuidhaven.nl", role="customer")

CUES = (
    VttCue(0.6, 4.0, "Goedemorgen Pieter, fijn dat je tijd hebt.", "Eva de Vries"),
    VttCue(4.5, 8.0, "Goedemorgen Eva. De prijs is te hoog.", "Pieter van Dam (Zuidhaven)"),
    VttCue(8.2, 9.0, "Dat begrijp ik.", "Eva de Vries"),
)


def test_spread_fills_the_cue_by_word_length() -> None:
    words = spread(["ja", "natuurlijk"], 1.0, 3.0, speaker=2, language="nl", probability=1.0)
    # Weights are length + 1: 3 and 11 of 14 parts of the 2 s.
    split = 1.0 + 2.0 * 3 / 14
    assert [(w.start, w.end) for w in words] == [(1.0, pytest.approx(split)), (pytest.approx(split), 3.0)]
    assert all(w.estimated and w.speaker == 2 for w in words)


def test_voices_match_attendees_by_name_tags_and_email() -> None:
    identities = match_voices(["Eva de Vries", "Pieter van Dam (Zuidhaven)"], [EVA, PIETER], [])
    assert [(i.name, i.email, i.role, i.source) for i in identities.values()] == [
        ("Eva de Vries", EVA.email, "seller", "teams"),
        ("Pieter van Dam", PIETER.email, "customer", "teams"),
    ]
    by_mail = match_voices(["EVA DEVRIES"], [EVA, PIETER], [])
    assert by_mail[0].email == EVA.email


def test_an_unknown_voice_keeps_its_teams_name_and_gets_a_role_by_elimination_rules() -> None:
    identities = match_voices(["Eva de Vries", "Jan Bakker", None], [EVA], [])
    assert identities[0].role == "seller"
    assert (identities[1].name, identities[1].role, identities[1].email) == ("Jan Bakker", "customer", None)
    assert identities[2].name == "Customer 2" and identities[2].role == "customer"
    unknown = match_voices(["Jan Bakker"], [], [])
    assert (unknown[0].name, unknown[0].role) == ("Jan Bakker", "unknown")


def test_the_last_unmatched_voice_is_the_last_unplaced_attendee() -> None:
    identities = match_voices(["Eva de Vries", "PvD"], [EVA, PIETER], [])
    assert (identities[1].name, identities[1].role, identities[1].source) == (
        "Pieter van Dam",
        "customer",
        "elimination",
    )


def test_transcript_from_cues_with_estimated_timings() -> None:
    context = CallContext(call_id="rec-1", participants=(EVA, PIETER))
    doc = teams_transcript(
        CUES, context, language="nl", duration_s=12.0, models={"transcript": teams_ref("ab" * 32)}
    )
    assert [(s.id, s.name, s.role) for s in doc.speakers] == [
        ("S1", "Eva de Vries", "seller"),
        ("S2", "Pieter van Dam", "customer"),
    ]
    assert [(s.speaker, s.text) for s in doc.segments] == [
        ("S1", "Goedemorgen Pieter, fijn dat je tijd hebt."),
        ("S2", "Goedemorgen Eva. De prijs is te hoog."),
        ("S1", "Dat begrijp ik."),
    ]
    words = [w for s in doc.segments for w in s.words]
    assert all(w.estimated for w in words)
    assert words[0].start == 0.6 and doc.segments[0].end == 4.0
    assert doc.duration_s == 12.0 and doc.language == "nl"
    assert doc.models["transcript"].source == "teams:transcript"
    assert ESTIMATED_TIMINGS in doc.warnings


def heard(text: str, start: float, step: float = 0.4) -> list[TimedWord]:
    return [
        TimedWord(start + i * step, start + i * step + 0.3, f" {t}", 0.8, "nl")
        for i, t in enumerate(text.split())
    ]


def test_retiming_takes_asr_times_for_matched_words_and_places_the_rest_between() -> None:
    reference = spread(
        ["De", "prijs", "is", "echt", "te", "hoog."], 4.5, 8.0, speaker=1, language="nl", probability=1
    )
    # The ASR missed "echt" and heard the rest 0.7 s later than Teams' cue start.
    asr = heard("de prijs is te hoog", 5.2)
    out = retime(reference, [(4.5, 8.0)] * len(reference), asr)
    assert [w.text for w in out] == [w.text for w in reference]
    assert [w.estimated for w in out] == [False, False, False, True, False, False]
    assert out[0].start == 5.2 and out[-1].end == pytest.approx(5.2 + 4 * 0.4 + 0.3)
    assert asr[2].end <= out[3].start <= out[3].end <= asr[3].start
    assert all(w.probability == 0.8 for w in out if not w.estimated)


def test_a_common_word_far_outside_its_cue_is_not_a_match() -> None:
    reference = spread(["ja"], 10.0, 10.5, speaker=0, language="nl", probability=1)
    out = retime(reference, [(10.0, 10.5)], heard("ja", 60.0))
    assert out[0].estimated and out[0].start == 10.0


_word = st.sampled_from(["ja", "nee", "de", "prijs", "offerte", "Eva", "morgen", "te", "hoog"])


@given(st.lists(_word, min_size=1, max_size=25), st.lists(_word, max_size=25), st.floats(0, 5))
def test_retimed_words_keep_the_text_and_have_ordered_times(
    ref: list[str], said: list[str], shift: float
) -> None:
    reference = spread(ref, 1.0, 1.0 + len(ref) * 0.5, speaker=0, language="nl", probability=1)
    out = retime(
        reference,
        [(1.0, 1.0 + len(ref) * 0.5)] * len(ref),
        heard(" ".join(said), 1.0 + shift) if said else [],
    )
    assert [w.text for w in out] == ref
    assert all(w.start <= w.end for w in out)
    assert all(a.start <= b.start + 1e-9 for a, b in itertools.pairwise(out))
    assert sum(not w.estimated for w in out) <= len(said)


def test_tokens_compare_without_case_and_punctuation() -> None:
    assert normalise_token(" Eva,") == normalise_token("eva") == "eva"
