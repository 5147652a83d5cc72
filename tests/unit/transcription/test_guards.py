"""The hallucination guards on hand-built ASR output: loops, n-grams, compression ratio, no-speech, time limits."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from dealtalk.transcription.assign import TimedWord
from dealtalk.transcription.guards import (
    GuardOptions,
    clamp_words,
    collapse_repetitions,
    compression_ratio,
    guarded_words,
    is_known_hallucination,
    is_unlikely_speech,
    keep_audible_words,
    keep_words_in_speech,
    speech_spans,
)
from dealtalk.transcription.types import AsrChunk, AsrSegment, AsrWord, SpeakerTurn, SpeechRegion


def words_of(text: str, start: float = 0.0, step: float = 0.3) -> tuple[AsrWord, ...]:
    return tuple(
        AsrWord(start + i * step, start + i * step + step * 0.8, f" {token}", 0.9)
        for i, token in enumerate(text.split())
    )


def segment(
    text: str,
    *,
    start: float = 0.0,
    no_speech: float = 0.1,
    logprob: float = -0.3,
    chunk: int = 0,
    language: str = "en",
) -> AsrSegment:
    words = words_of(text, start)
    return AsrSegment(
        start=start,
        end=words[-1].end if words else start,
        text=text,
        language=language,
        words=words,
        avg_logprob=logprob,
        language_probability=0.95,
        no_speech_prob=no_speech,
        compression_ratio=compression_ratio(text),
        chunk=chunk,
    )


def texts(words: list[AsrWord]) -> list[str]:
    return [w.text.strip() for w in words]


def test_a_repetition_loop_of_one_word_keeps_three_copies() -> None:
    kept = collapse_repetitions(words_of("thank you " + "bye " * 20 + "see you"))
    assert texts(kept) == ["thank", "you", "bye", "bye", "bye", "see", "you"]


def test_a_repeated_ngram_keeps_two_copies_and_punctuation_does_not_hide_it() -> None:
    kept = collapse_repetitions(words_of("we can do that, we can do that. we can do that we can do that ok"))
    assert texts(kept) == ["we", "can", "do", "that,", "we", "can", "do", "that.", "ok"]


def test_genuine_repeats_below_the_limit_stay() -> None:
    original = words_of("nee nee nee dat klopt niet, dat klopt niet")
    assert collapse_repetitions(original) == list(original)


_tokens = st.lists(st.sampled_from(["ja", "nee", "de", "prijs", "is", "te", "hoog"]), max_size=40)


@given(_tokens)
def test_collapse_keeps_order_and_never_leaves_a_long_run(tokens: list[str]) -> None:
    original = words_of(" ".join(tokens)) if tokens else ()
    kept = collapse_repetitions(original)
    # A subsequence of the input, in order.
    it = iter(original)
    assert all(any(word is other for other in it) for word in kept)
    keys = [w.text.strip() for w in kept]
    for n in range(1, 9):
        limit = 3 if n == 1 else 2
        for i in range(len(keys)):
            run = 1
            while keys[i + run * n : i + (run + 1) * n] == keys[i : i + n] and len(keys[i : i + n]) == n:
                run += 1
            assert run <= limit, (n, keys)
    assert collapse_repetitions(kept) == kept  # idempotent


def test_compression_ratio_of_a_loop_is_high_and_of_speech_low() -> None:
    assert compression_ratio("ha" * 200) > 10
    assert compression_ratio("Goedemorgen Pieter, fijn dat je tijd hebt vandaag.") < 1.5
    assert compression_ratio("") == 0.0


def test_a_segment_that_still_compresses_like_a_loop_is_dropped() -> None:
    # One token repeated inside a single "word" is invisible to the n-gram cut; the gzip ratio catches it.
    looped = AsrSegment(
        start=0.0,
        end=5.0,
        text="a" * 300,
        language="en",
        words=(AsrWord(0.0, 5.0, " " + "la" * 150, 0.5),),
        avg_logprob=-0.2,
        language_probability=0.9,
        no_speech_prob=0.0,
        compression_ratio=30.0,
    )
    speech = [SpeechRegion(0.0, 10.0)]
    assert guarded_words([looped], [AsrChunk((SpeechRegion(0.0, 10.0),))], speech, 10.0) == []
    loose = GuardOptions(compression_ratio_threshold=1000.0)
    assert len(guarded_words([looped], [AsrChunk((SpeechRegion(0.0, 10.0),))], speech, 10.0, loose)) == 1


def test_no_speech_rule_needs_both_signals() -> None:
    assert is_unlikely_speech(segment("hello", no_speech=0.9, logprob=-1.5))
    assert not is_unlikely_speech(segment("hello", no_speech=0.9, logprob=-0.2))
    assert not is_unlikely_speech(segment("hello", no_speech=0.2, logprob=-1.5))


def test_known_hallucinations_are_recognised_whole_only() -> None:
    assert is_known_hallucination("Thanks for watching!")
    assert is_known_hallucination("Ondertiteling door de Amara.org gemeenschap")
    assert not is_known_hallucination("Thanks for watching the demo with us, shall we plan the next step?")
    assert not is_known_hallucination("")


def test_clamp_drops_words_past_the_end_and_clamps_the_rest() -> None:
    words = [AsrWord(1.0, 2.0, "a", 1), AsrWord(1.5, 9.0, "b", 1), AsrWord(10.0, 11.0, "c", 1)]
    clamped = clamp_words(words, 0.0, 5.0)
    assert [(w.text, w.start, w.end) for w in clamped] == [("a", 1.0, 2.0), ("b", 1.5, 5.0)]


@given(
    st.lists(st.tuples(st.floats(-5, 50), st.floats(0, 5)), max_size=30),
    st.floats(0, 20),
    st.floats(0.1, 30),
)
def test_clamped_words_lie_inside_and_are_ordered(
    spans: list[tuple[float, float]], lo: float, length: float
) -> None:
    hi = lo + length
    words = [AsrWord(s, s + d, "w", 1.0) for s, d in spans]
    clamped = clamp_words(words, lo, hi)
    assert all(lo <= w.start <= w.end <= hi for w in clamped)
    assert all(a.start <= b.start for a, b in itertools.pairwise(clamped))
    assert len(clamped) == sum(1 for s, _ in spans if s < hi)


def test_words_outside_speech_are_dropped_with_tolerance() -> None:
    words = [AsrWord(0.0, 0.5, "in", 1), AsrWord(3.1, 3.4, "near", 1), AsrWord(6.0, 6.5, "out", 1)]
    kept = keep_words_in_speech(words, [SpeechRegion(0.2, 2.9)], tolerance_s=0.25)
    assert texts(kept) == ["in", "near"]


def test_speech_spans_merge_overlapping_turns() -> None:
    turns = [SpeakerTurn(0, 2, 0), SpeakerTurn(1.5, 3, 1), SpeakerTurn(5, 6, 0)]
    assert speech_spans(turns, []) == [SpeechRegion(0, 3), SpeechRegion(5, 6)]
    assert speech_spans(None, [SpeechRegion(1, 2)]) == [SpeechRegion(1, 2)]


def test_guarded_words_applies_every_guard() -> None:
    speech = [SpeechRegion(0.0, 4.0), SpeechRegion(5.0, 8.0)]
    chunks = [AsrChunk((region,)) for region in speech]
    segments = [
        segment("the price is too high", start=0.5),
        segment("thanks for watching", start=5.0, chunk=1),
        segment("uh uh", start=5.5, no_speech=0.95, logprob=-1.6, chunk=1),
        # Whisper's timestamps run past the chunk's end: the late words go.
        segment("we will send the offer tomorrow morning early", start=6.0, chunk=1),
    ]
    words = guarded_words(segments, chunks, speech, 8.0)
    assert [w.text.strip() for w in words] == [
        *("the", "price", "is", "too", "high"),
        *("we", "will", "send", "the", "offer", "tomorrow", "morning"),
    ]
    assert all(w.end <= 8.0 for w in words)
    assert [w.start for w in words] == sorted(w.start for w in words)


def test_a_word_without_duration_in_speech_is_kept_and_one_on_digital_silence_is_not() -> None:
    rate = 16_000
    t = np.arange(2 * rate) / rate
    samples = np.zeros(2 * rate, dtype=np.float32)
    samples[rate:] = (0.1 * np.sin(2 * np.pi * 220 * t[rate:])).astype(np.float32)
    # 1.0 s exactly: the tone starts at a zero crossing, so one sample alone would read as silence.
    spoken = TimedWord(1.0, 1.0, " I", 0.99, "en")
    silent = TimedWord(0.5, 0.5, " I", 0.99, "en")
    assert keep_audible_words([spoken, silent], samples) == [spoken]
