"""Segment quality from Whisper's scores, per speaker, and the confidence discount for insights."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dealtalk.contracts.documents import SegmentDoc, SegmentQuality, TranscriptDoc, WordDoc
from dealtalk.contracts.evidence import (
    CLEARLY_HEARD,
    discounted_confidence,
    evidence_quality,
    speaker_quality,
)
from dealtalk.transcription.assign import TimedWord
from dealtalk.transcription.attendee_matching import SpeakerIdentity
from dealtalk.transcription.compose import build_transcript
from dealtalk.transcription.quality import quality_score, segment_quality


def word(start: float, text: str, p: float, logprob: float | None = -0.2, speaker: int = 0) -> TimedWord:
    return TimedWord(
        start, start + 0.4, f" {text}", p, "nl", speaker, avg_logprob=logprob, no_speech_prob=0.02
    )


def test_clear_and_garbled_speech_fall_on_either_side_of_the_thresholds() -> None:
    # Measured on the bundled calls: clean English words ~0.9 at -0.17 nats/token; generated Dutch ~0.5 at -0.8.
    assert quality_score(-0.17, 0.02, 0.9) >= CLEARLY_HEARD
    assert quality_score(-0.8, 0.02, 0.45) < 0.5
    assert quality_score(-0.2, 0.9, 0.9) < 0.5  # Whisper thought there was no speech at all
    assert quality_score(0.3, 0.0, 1.0) == 1.0  # a positive log-probability (never seen) is capped


@given(st.floats(-10, 1), st.floats(0, 1), st.floats(0, 1))
def test_the_score_is_a_probability(logprob: float, no_speech: float, word_probability: float) -> None:
    assert 0.0 <= quality_score(logprob, no_speech, word_probability) <= 1.0


def test_segment_quality_weights_the_decoding_scores_by_word_duration() -> None:
    words = [word(0.0, "goed", 0.9, -0.1), TimedWord(0.5, 2.1, " budget", 0.3, "nl", 0, False, -0.9, 0.1)]
    quality = segment_quality(words)
    assert quality is not None
    assert quality.avg_logprob == pytest.approx((0.4 * -0.1 + 1.6 * -0.9) / 2.0, abs=1e-4)
    assert quality.no_speech_prob == pytest.approx((0.4 * 0.02 + 1.6 * 0.1) / 2.0, abs=1e-4)
    assert quality.word_probability == pytest.approx(0.6)
    assert quality.score == pytest.approx(
        math.sqrt(0.6 * math.exp(quality.avg_logprob)) * (1 - quality.no_speech_prob), abs=1e-3
    )


def test_words_without_asr_scores_give_no_segment_quality() -> None:
    assert segment_quality([word(0.0, "ja", 0.9), word(0.5, "nee", 1.0, logprob=None)]) is None
    assert segment_quality([]) is None


def _segment(
    quality: SegmentQuality | None, words: tuple[WordDoc, ...] = (), *, speaker: str = "S1"
) -> SegmentDoc:
    return SegmentDoc(
        start=0.0,
        end=2.0,
        speaker=speaker,
        role="seller",
        language="nl",
        text="x",
        words=words,
        quality=quality,
    )


def test_evidence_quality_of_segments_with_and_without_scores() -> None:
    scored = SegmentQuality(avg_logprob=-0.8, no_speech_prob=0.05, word_probability=0.4, score=0.33)
    assert evidence_quality(_segment(scored)) == 0.33
    teams = WordDoc(start=0, end=1, word="ja", speaker="S1", probability=1.0, estimated=True)
    heard = WordDoc(start=1, end=2, word="nee", speaker="S1", probability=0.6)
    assert evidence_quality(_segment(None, (teams, heard))) == pytest.approx(0.6)
    assert evidence_quality(_segment(None, (teams,))) == 1.0


def test_insights_from_badly_heard_segments_lose_confidence() -> None:
    assert discounted_confidence(0.9, 0.95) == pytest.approx(0.9)
    assert discounted_confidence(0.9, CLEARLY_HEARD) == pytest.approx(0.9)
    assert discounted_confidence(0.9, 0.35) == pytest.approx(0.45)
    assert discounted_confidence(0.9, -1.0) == 0.0


def test_the_transcript_carries_segment_quality_and_a_figure_per_speaker() -> None:
    words = [word(0.0, "Goedemorgen", 0.95, -0.1), word(0.5, "Pieter.", 0.9, -0.1)]
    words += [word(3.0, "diemsten", 0.3, -1.1, speaker=1), word(3.5, "belogen", 0.2, -1.1, speaker=1)]
    identities = {label: SpeakerIdentity(f"Speaker {label}", None, "unknown", "unnamed") for label in (0, 1)}
    doc = build_transcript(
        call_id="rec-1",
        language="nl",
        duration_s=5.0,
        words=words,
        order=[0, 1],
        identities=identities,
        models={},
        warnings=(),
    )
    assert [s.quality is not None for s in doc.segments] == [True, True]
    again = TranscriptDoc.model_validate_json(doc.model_dump_json())
    assert again == doc
    per_speaker = speaker_quality(doc.segments)
    assert per_speaker["S1"] >= CLEARLY_HEARD and per_speaker["S2"] < 0.5
