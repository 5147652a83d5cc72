"""Word-to-speaker assignment and the turn-edge fixes, on hand-built words and turns."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dealtalk.transcription.assign import TimedWord, assign_speakers, group_segments, smooth_turn_edges
from dealtalk.transcription.types import SpeakerTurn


def w(start: float, end: float, text: str, speaker: int = -1, language: str = "nl") -> TimedWord:
    return TimedWord(start, end, f" {text}", 0.9, language, speaker)


def test_each_word_gets_the_turn_it_overlaps_most() -> None:
    turns = [SpeakerTurn(0.0, 2.0, 0), SpeakerTurn(2.0, 4.0, 1)]
    words = [w(0.1, 0.5, "a"), w(1.6, 2.2, "b"), w(1.9, 2.6, "c"), w(3.0, 3.5, "d")]
    assert assign_speakers(words, turns) == [0, 0, 1, 1]


def test_a_word_in_a_pause_goes_to_the_nearest_turn() -> None:
    turns = [SpeakerTurn(0.0, 1.0, 0), SpeakerTurn(3.0, 4.0, 1)]
    assert assign_speakers([w(1.2, 1.4, "x"), w(2.6, 2.8, "y"), w(5.0, 5.2, "z")], turns) == [0, 1, 1]


def test_without_turns_every_word_gets_the_default_speaker() -> None:
    assert assign_speakers([w(0, 1, "a"), w(1, 2, "b")], [], default_speaker=3) == [3, 3]


def test_an_island_without_pauses_is_absorbed() -> None:
    words = [
        w(0.0, 0.3, "ik"),
        w(0.3, 0.6, "denk"),
        w(0.6, 0.9, "dat"),
        w(0.9, 1.2, "het"),
        w(1.2, 1.5, "kan."),
    ]
    assert smooth_turn_edges(words, [0, 0, 1, 0, 0]) == [0, 0, 0, 0, 0]


def test_an_island_with_a_pause_around_it_is_a_real_interjection() -> None:
    words = [
        w(0.0, 0.3, "ik"),
        w(0.3, 0.6, "denk"),
        w(1.5, 1.8, "ja."),
        w(2.8, 3.1, "het"),
        w(3.1, 3.4, "kan."),
    ]
    assert smooth_turn_edges(words, [0, 0, 1, 0, 0]) == [0, 0, 1, 0, 0]


def test_a_sentence_tail_that_crossed_the_boundary_moves_back() -> None:
    # A: "de prijs is te hoog." but the diarization put "te hoog." at B's start; B then keeps talking.
    words = [
        w(0.0, 0.3, "de"),
        w(0.3, 0.6, "prijs"),
        w(0.6, 0.9, "is"),
        w(0.95, 1.2, "te"),
        w(1.2, 1.5, "hoog."),
        w(1.55, 1.8, "Dat"),
        w(1.8, 2.1, "begrijp"),
        w(2.1, 2.4, "ik."),
    ]
    labels = [0, 0, 0, 1, 1, 1, 1, 1]
    assert smooth_turn_edges(words, labels) == [0, 0, 0, 0, 0, 1, 1, 1]


def test_a_sentence_head_that_started_early_moves_forward() -> None:
    words = [
        w(0.0, 0.3, "Klopt."),
        w(0.3, 0.6, "Dat"),
        w(0.6, 0.9, "wil"),
        w(0.95, 1.2, "ik"),
        w(1.2, 1.5, "weten"),
        w(1.5, 1.8, "vandaag"),
    ]
    # A said "Klopt." and B's "Dat wil" was cut into A's turn.
    assert smooth_turn_edges(words, [0, 0, 0, 1, 1, 1]) == [0, 1, 1, 1, 1, 1]


def test_a_boundary_with_a_pause_is_left_alone() -> None:
    words = [
        w(0.0, 0.3, "de"),
        w(0.3, 0.6, "prijs"),
        w(1.5, 1.8, "is"),
        w(1.8, 2.1, "hoog."),
        w(2.1, 2.4, "Ja"),
    ]
    assert smooth_turn_edges(words, [0, 0, 1, 1, 1]) == [0, 0, 1, 1, 1]


@given(st.lists(st.integers(0, 2), min_size=0, max_size=30))
def test_smoothing_keeps_length_and_uses_only_existing_labels(labels: list[int]) -> None:
    words = [w(i * 0.3, i * 0.3 + 0.25, "woord." if i % 4 == 3 else "woord") for i in range(len(labels))]
    out = smooth_turn_edges(words, labels)
    assert len(out) == len(labels)
    assert set(out) <= set(labels)


def test_segments_split_on_speaker_pause_and_language() -> None:
    words = [
        w(0.0, 0.3, "hallo", 0),
        w(0.3, 0.6, "Pieter.", 0),
        w(0.7, 1.0, "Hoi", 1),
        w(3.0, 3.3, "ja", 1),  # after a 2 s pause
        w(3.3, 3.6, "deal", 1, language="en"),
    ]
    groups = group_segments(words)
    assert [[x.text.strip() for x in g] for g in groups] == [["hallo", "Pieter."], ["Hoi"], ["ja"], ["deal"]]
