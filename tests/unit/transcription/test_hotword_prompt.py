"""Whisper's hotwords: whole names in priority order, within the prompt's token budget."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dealtalk.transcription.whisper_decoder import hotword_prompt


def _words(text: str) -> int:
    # A stand-in tokenizer: one token per word (the real one is Whisper's BPE, see bench/speech_vocabulary.py).
    return len(text.split())


def test_names_are_kept_whole_in_the_given_order() -> None:
    names = ["Marieke Verhoeven", "glasbewassing", "Glansrijk", "BrightOps"]
    assert hotword_prompt(names, _words, 10) == "Marieke Verhoeven glasbewassing Glansrijk BrightOps"


def test_a_name_that_does_not_fit_is_dropped_whole_and_a_shorter_later_one_still_fits() -> None:
    names = ["Marieke Verhoeven", "Schoonmaakbedrijf Van Der Linden En Zonen", "Hago"]
    assert hotword_prompt(names, _words, 4) == "Marieke Verhoeven Hago"


def test_duplicates_blanks_and_spacing_are_cleaned() -> None:
    assert hotword_prompt(["  Hago ", "hago", "", "Gom  Schoonhouden"], _words, 10) == "Hago Gom Schoonhouden"
    assert hotword_prompt(["", "  "], _words, 10) is None
    assert hotword_prompt(["Marieke Verhoeven"], _words, 1) is None


@given(
    names=st.lists(st.text(alphabet="abcdefgh ", min_size=0, max_size=20), max_size=40),
    budget=st.integers(min_value=0, max_value=30),
)
def test_the_prompt_stays_in_budget_and_starts_with_the_first_name_that_fits(
    names: list[str], budget: int
) -> None:
    prompt = hotword_prompt(names, _words, budget)
    cleaned = [" ".join(n.split()) for n in names if n.split()]
    fitting = [n for n in cleaned if _words(n) <= budget]
    if not fitting:
        assert prompt is None
        return
    assert prompt is not None and _words(prompt) <= budget
    assert prompt == fitting[0] or prompt.startswith(fitting[0] + " ")
