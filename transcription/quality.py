"""How well each stretch of a call was heard, from Whisper's own scores: for transcripts and the insights on them.

Whisper base on generated Dutch produces fluent-looking nonsense ("het budget mogen faciliteren diemsten")
with low scores: a mean word probability around 0.5 and a mean token log-probability around -0.8. A segment's
``SegmentQuality.score`` combines both with the no-speech probability into one figure from 0 (heard badly) to 1
(heard clearly); ``bench/speech_quality.py`` shows that segments with low scores are the ones with high word
error rates. Insights quoting a segment take its score into account with ``discounted_confidence``.

Usage (insight stage)::

    confidence = discounted_confidence(confidence, evidence_quality(transcript.segments[risk.segment_index]))
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from dealtalk.contracts.documents import SegmentDoc, SegmentQuality, TranscriptDoc
from dealtalk.transcription.assign import TimedWord

__all__ = [
    "BADLY_HEARD",
    "CLEARLY_HEARD",
    "discounted_confidence",
    "evidence_quality",
    "quality_score",
    "segment_quality",
    "speaker_quality",
]

# Below this score a segment counts as badly heard (reports mark it; its insights lose confidence).
BADLY_HEARD = 0.5
# At or above this score a segment counts as clearly heard: insights keep their confidence.
CLEARLY_HEARD = 0.7


def quality_score(avg_logprob: float, no_speech_prob: float, word_probability: float) -> float:
    """Geometric mean of the mean word probability and the mean token probability, times P(speech)."""
    token_probability = math.exp(min(0.0, avg_logprob))
    score = math.sqrt(max(0.0, word_probability) * token_probability) * (1.0 - no_speech_prob)
    return min(1.0, max(0.0, score))


def segment_quality(words: Sequence[TimedWord]) -> SegmentQuality | None:
    """A segment's scores from its words (duration-weighted decoding scores); None without ASR scores."""
    if not words:
        return None
    logprobs: list[tuple[float, float, float]] = []
    for word in words:
        if word.avg_logprob is None or word.no_speech_prob is None:
            return None
        logprobs.append((max(word.end - word.start, 0.01), word.avg_logprob, word.no_speech_prob))
    weight = sum(w for w, _, _ in logprobs)
    avg_logprob = sum(w * lp for w, lp, _ in logprobs) / weight
    no_speech = min(1.0, max(0.0, sum(w * ns for w, _, ns in logprobs) / weight))
    word_probability = min(1.0, max(0.0, sum(word.probability for word in words) / len(words)))
    return SegmentQuality(
        avg_logprob=round(avg_logprob, 4),
        no_speech_prob=round(no_speech, 4),
        word_probability=round(word_probability, 4),
        score=round(quality_score(avg_logprob, no_speech, word_probability), 4),
    )


def evidence_quality(segment: SegmentDoc) -> float:
    """How well ``segment`` was heard, 0..1.

    A segment without ASR scores (a Teams transcript taken as is) gets the mean probability of its words
    that were measured, or 1.0 (not discounted) when there are none.
    """
    if segment.quality is not None:
        return segment.quality.score
    measured = [word.probability for word in segment.words if not word.estimated]
    return sum(measured) / len(measured) if measured else 1.0


def discounted_confidence(confidence: float, quality: float) -> float:
    """An insight's confidence lowered for the quality of the audio it came from.

    Clearly heard segments (``quality >= CLEARLY_HEARD``) keep it; below, it shrinks in proportion.
    """
    return confidence * min(1.0, max(0.0, quality) / CLEARLY_HEARD)


def speaker_quality(doc: TranscriptDoc) -> dict[str, float]:
    """Per speaker id, the quality of their transcript: ``evidence_quality`` weighted by segment duration."""
    totals: dict[str, tuple[float, float]] = {}
    for segment in doc.segments:
        weight = max(segment.end - segment.start, 0.01)
        score, seen = totals.get(segment.speaker, (0.0, 0.0))
        totals[segment.speaker] = (score + weight * evidence_quality(segment), seen + weight)
    return {speaker: round(score / seen, 4) for speaker, (score, seen) in totals.items()}
