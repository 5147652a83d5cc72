"""Language choice: allowed languages, the call's prior, locales, majorities, and which chunks to re-decode."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dealtalk.transcription.language import (
    TextLanguageId,
    choose_language,
    language_from_locale,
    majority_language,
)
from dealtalk.transcription.recognise import chunks_to_redo
from dealtalk.transcription.types import AsrSegment


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


def seg(language: str, probability: float, chunk: int) -> AsrSegment:
    return AsrSegment(0, 1, "x", language, (), -0.2, probability, 0.0, 1.0, chunk)


def test_only_unsure_chunks_in_another_language_are_redone() -> None:
    segments = [
        seg("nl", 0.99, 0),
        seg("en", 0.6, 1),
        seg("en", 0.95, 2),
        seg("en", 0.5, 1),
        seg("nl", 0.3, 3),
    ]
    assert chunks_to_redo(segments, "nl") == [1]
    assert chunks_to_redo(segments, "en") == [3]


def test_text_language_id_tells_dutch_from_english_and_refuses_short_text() -> None:
    lid = TextLanguageId(("nl", "en"))
    nl = lid.classify("Eerlijk gezegd vinden we de prijs per vierkante meter te hoog.")
    en = lid.classify("Honestly, we think the price per square metre is too high.")
    assert nl is not None and nl[0] == "nl" and nl[1] > 0.9
    assert en is not None and en[0] == "en" and en[1] > 0.9
    assert lid.classify("ja") is None
