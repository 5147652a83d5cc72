"""The speech benchmark's metric helpers on hand-made inputs."""

from __future__ import annotations

import pytest

from bench.speech_metrics import (
    TimedWord,
    Turn,
    diarization_error_rate,
    normalise,
    number_words,
    word_errors,
    word_speaker_accuracy,
)


def test_normalise_spells_numbers_and_drops_punctuation() -> None:
    assert normalise("Press 1, then the pound-key!") == ["press", "one", "then", "the", "pound", "key"]
    assert normalise("Poseidon 737.", "nl") == ["poseidon", "zevenhonderdzevenendertig"]
    assert normalise("It's 2,500 euros") == ["it's", "two", "thousand", "five", "hundred", "euros"]


@pytest.mark.parametrize(
    ("n", "language", "words"),
    [
        (0, "en", ["zero"]),
        (42, "en", ["forty", "two"]),
        (100, "en", ["one", "hundred"]),
        (22, "nl", ["tweeëntwintig"]),
        (1100, "nl", ["duizendhonderd"]),
    ],
)
def test_number_words(n: int, language: str, words: list[str]) -> None:
    assert number_words(n, language) == words


def test_word_errors_counts_each_edit_kind() -> None:
    errors = word_errors(["a", "b", "c", "d"], ["a", "x", "c", "d", "e"])
    assert (errors.substitutions, errors.deletions, errors.insertions) == (1, 0, 1)
    assert errors.wer == 0.5
    assert word_errors(["a", "b", "c"], []).deletions == 3


def test_der_is_zero_for_a_relabelled_copy_and_counts_misses() -> None:
    reference = [Turn(0.0, 4.0, "A"), Turn(4.0, 10.0, "B")]
    assert diarization_error_rate(reference, [Turn(0.0, 4.0, "1"), Turn(4.0, 10.0, "0")], 10.0) == 0.0
    assert diarization_error_rate(
        reference, [Turn(0.0, 4.0, "1"), Turn(4.0, 9.0, "0")], 10.0
    ) == pytest.approx(0.1)


def test_word_speaker_accuracy_maps_labels_and_skips_gaps() -> None:
    reference = [Turn(0.0, 4.0, "A"), Turn(5.0, 10.0, "B")]
    segments = [Turn(0.0, 4.0, "S2"), Turn(5.0, 10.0, "S1")]
    words = [
        TimedWord(0.5, 0.9, "S2"),
        TimedWord(6.0, 6.4, "S1"),
        TimedWord(7.0, 7.4, "S2"),  # wrong speaker
        TimedWord(4.3, 4.6, "S1"),  # in the gap: not scored
    ]
    accuracy, scored = word_speaker_accuracy(reference, segments, words, 10.0)
    assert scored == 3
    assert accuracy == pytest.approx(2 / 3)
