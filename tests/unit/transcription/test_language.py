"""Language choice: allowed languages, the call's prior, locales, majorities, and the call's audio decision."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dealtalk.transcription.language import (
    CLEAR_SWITCH_RATIO,
    TextLanguageId,
    choose_language,
    decide_language,
    hint_prior,
    language_from_locale,
    majority_language,
    needs_decoding,
)
from dealtalk.transcription.spoken_language import spread_windows
from dealtalk.transcription.types import AsrChunk, SpeechRegion


def test_only_allowed_languages_are_chosen() -> None:
    # Whisper's argmax over 99 languages says German for short Dutch; among nl/en, Dutch wins.
    language, probability = choose_language({"de": 0.6, "nl": 0.3, "en": 0.1}, ("nl", "en"))
    assert language == "nl" and probability == pytest.approx(0.75)


def test_the_prior_holds_unless_another_language_is_much_more_likely() -> None:
    assert choose_language({"nl": 0.3, "en": 0.6}, ("nl", "en"), prior="nl")[0] == "nl"
    assert choose_language({"nl": 0.1, "en": 0.8}, ("nl", "en"), prior="nl")[0] == "en"
    assert choose_language({"nl": 0.3, "en": 0.6}, ("nl", "en"))[0] == "en"


def test_no_evidence_falls_back_to_the_prior_then_the_first_allowed() -> None:
    assert choose_language({"fr": 1.0}, ("nl", "en"), prior="en") == ("en", 0.5)
    assert choose_language({}, ("nl", "en")) == ("nl", 0.5)
    with pytest.raises(ValueError, match="must not be empty"):
        choose_language({"nl": 1.0}, ())


@given(
    st.dictionaries(st.sampled_from(["nl", "en", "de", "fr", "cy"]), st.floats(0, 1), max_size=5),
    st.sampled_from([None, "nl", "en"]),
    st.floats(1.0, 10.0),
)
def test_choice_is_allowed_and_a_probability(
    probs: dict[str, float], prior: str | None, ratio: float
) -> None:
    language, p = choose_language(probs, ("nl", "en"), prior=prior, switch_ratio=ratio)
    assert language in ("nl", "en")
    assert 0.0 <= p <= 1.0


def test_locales() -> None:
    assert language_from_locale("nl-NL", ("nl", "en")) == "nl"
    assert language_from_locale("nl_BE", ("nl", "en")) == "nl"
    assert language_from_locale("EN-gb", ("nl", "en")) == "en"
    assert language_from_locale("de-DE", ("nl", "en")) is None
    assert language_from_locale(None, ("nl", "en")) is None


def test_majority_by_weight() -> None:
    assert majority_language([("nl", 5.0), ("en", 3.0), ("en", 3.0)], "nl") == "en"
    assert majority_language([], "nl") == "nl"


def test_a_forced_language_leaves_only_for_clearly_other_audio() -> None:
    # Generated Dutch that Whisper scores 95 % English stays Dutch; real English (>= 99 %) switches.
    assert (
        choose_language(
            {"nl": 0.009, "en": 0.176}, ("nl", "en"), prior="nl", switch_ratio=CLEAR_SWITCH_RATIO
        )[0]
        == "nl"
    )
    assert (
        choose_language({"nl": 0.001, "en": 0.95}, ("nl", "en"), prior="nl", switch_ratio=CLEAR_SWITCH_RATIO)[
            0
        ]
        == "en"
    )


def test_hints_are_a_weak_prior_over_the_allowed_languages() -> None:
    assert hint_prior((), ("nl", "en")) == {"nl": 0.5, "en": 0.5}
    assert hint_prior([("nl", "organizer.preferredLanguage"), ("de", "attendee")], ("nl", "en")) == {
        "nl": pytest.approx(2 / 3),
        "en": pytest.approx(1 / 3),
    }
    # A tie between hinted languages is no preference.
    assert hint_prior([("nl", "a"), ("en", "b")], ("nl", "en")) == {"nl": 0.5, "en": 0.5}


ENGLISH_WINDOWS = [
    {"en": 0.83, "nl": 0.0004, "fi": 0.06},
    {"en": 0.97, "nl": 0.0001},
    {"en": 0.88, "nl": 0.001},
]
UNCLEAR_WINDOWS = [{"nl": 0.39, "en": 0.22, "af": 0.12}, {"nl": 0.12, "en": 0.32}, {"nl": 0.10, "en": 0.09}]


def test_clear_audio_overrules_the_hints() -> None:
    decision = decide_language(ENGLISH_WINDOWS, ("nl", "en"), hints=[("nl", "organizer.preferredLanguage")])
    assert decision.language == "en"
    assert (
        decision.evidence == "audio: en 1.00 vs nl 0.00 over 3 windows; hints organizer.preferredLanguage=nl"
    )
    assert not needs_decoding(ENGLISH_WINDOWS, ("nl", "en"), [("nl", "organizer.preferredLanguage")])


def test_unclear_scores_ask_for_decoding_and_the_better_fit_wins() -> None:
    assert needs_decoding(UNCLEAR_WINDOWS, ("nl", "en"))
    # The scores lean English (0.52), but decoding in Dutch explains two of three windows far better; the
    # third (English decoding looping on a phrase) cannot outvote them, although it tips the mean.
    fits = [{"nl": -0.70, "en": -0.98}, {"nl": -0.81, "en": -0.98}, {"nl": -1.05, "en": -0.52}]
    decision = decide_language(UNCLEAR_WINDOWS, ("nl", "en"), window_logprobs=fits)
    assert decision.language == "nl"
    assert decision.evidence == (
        "audio decoded: nl 0.66 vs en 0.34 over 3 windows (mean log-prob en -0.827 vs nl -0.853); "
        "language scores en 0.52 vs nl 0.48 over 3 windows, unclear"
    )


def test_a_hint_decides_only_when_the_audio_barely_differs() -> None:
    close = [{"nl": -0.800, "en": -0.790}]
    assert decide_language(UNCLEAR_WINDOWS, ("nl", "en"), window_logprobs=close).language == "en"
    hinted = decide_language(
        UNCLEAR_WINDOWS,
        ("nl", "en"),
        window_logprobs=close,
        hints=[("nl", "organizer.preferredLanguage")] * 3,
    )
    assert hinted.language == "nl" and hinted.evidence.endswith("hints organizer.preferredLanguage=nl x3")
    clear = [{"nl": -0.90, "en": -0.60}]
    assert (
        decide_language(UNCLEAR_WINDOWS, ("nl", "en"), window_logprobs=clear, hints=[("nl", "x")]).language
        == "en"
    )


def test_no_audio_evidence_falls_back_to_hints_then_the_first_allowed() -> None:
    assert decide_language((), ("nl", "en")).language == "nl"
    assert decide_language((), ("nl", "en"), hints=[("en", "meeting.attendee")]).language == "en"
    with pytest.raises(ValueError, match="must not be empty"):
        decide_language((), ())


@given(
    st.lists(st.dictionaries(st.sampled_from(["nl", "en", "de"]), st.floats(0, 1), max_size=3), max_size=6),
    st.lists(st.tuples(st.sampled_from(["nl", "en", "fr"]), st.sampled_from(["a", "b"])), max_size=4),
)
def test_the_decision_is_always_an_allowed_language(
    windows: list[dict[str, float]], hints: list[tuple[str, str]]
) -> None:
    decision = decide_language(windows, ("nl", "en"), hints=hints)
    assert decision.language in ("nl", "en") and decision.evidence


def _chunk(start: float, end: float) -> AsrChunk:
    return AsrChunk((SpeechRegion(start, end),))


def test_windows_are_spread_over_the_whole_call() -> None:
    chunks = [_chunk(30.0 * i, 30.0 * i + 25.0) for i in range(40)] + [_chunk(1200.5, 1201.5)]
    picked = spread_windows(chunks, 8)
    assert len(picked) == 8 and picked[0].start < 150 and picked[-1].start > 1000
    assert all(chunk.speech_s >= 3.0 for chunk in picked)
    assert spread_windows(chunks[:3], 8) == chunks[:3]
    assert spread_windows([_chunk(0.0, 1.0)], 8) == [_chunk(0.0, 1.0)]


def test_a_window_counts_its_speech_not_the_silence_it_spans() -> None:
    sparse = AsrChunk((SpeechRegion(0.0, 1.0), SpeechRegion(20.0, 21.0)))
    assert spread_windows([sparse, _chunk(40.0, 44.0)], 8) == [_chunk(40.0, 44.0)]


def test_text_language_id_tells_dutch_from_english_and_refuses_short_text() -> None:
    lid = TextLanguageId(("nl", "en"))
    nl = lid.classify("Eerlijk gezegd vinden we de prijs per vierkante meter te hoog.")
    en = lid.classify("Honestly, we think the price per square metre is too high.")
    assert nl is not None and nl[0] == "nl" and nl[1] > 0.9
    assert en is not None and en[0] == "en" and en[1] > 0.9
    assert lid.classify("ja") is None
