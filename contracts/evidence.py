"""How well the evidence of an insight was heard: one score per segment, per speaker, and its effect on confidence.

A segment's ``SegmentQuality.score`` (from Whisper's own scores, ``transcription/quality.py``) goes from 0 (heard
badly) to 1 (heard clearly); ``bench/speech_quality.py`` shows that segments with low scores are the ones with
high word error rates. Insights quoting a segment carry its score (``evidence_quality``); below
``CLEARLY_HEARD`` they lose confidence in proportion and reports and the Dynamics activity mark them as heard
badly (``heard_badly``).

Usage (insight stage)::

    quality = evidence_quality(transcript.segments[risk.segment_index])
    confidence = discounted_confidence(confidence, quality)
"""

from __future__ import annotations

from collections.abc import Sequence

from dealtalk.contracts.documents import SegmentDoc

__all__ = ["CLEARLY_HEARD", "discounted_confidence", "evidence_quality", "heard_badly", "speaker_quality"]

# At or above this score a segment counts as clearly heard. Below it, it was heard badly: in the speech
# benchmark (bench/results/speech_quality.md) segments scored 0.5-0.7 had 26-69 % wrong words, as many as those
# below 0.5, against 6-8 % at 0.7 and above; so one line, not two.
CLEARLY_HEARD = 0.7


def heard_badly(quality: float) -> bool:
    """Whether evidence of this quality should be marked "heard badly: listen to the recording"."""
    return quality < CLEARLY_HEARD


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


def speaker_quality(segments: Sequence[SegmentDoc]) -> dict[str, float]:
    """Per speaker id, the quality of their transcript: ``evidence_quality`` weighted by segment duration."""
    totals: dict[str, tuple[float, float]] = {}
    for segment in segments:
        weight = max(segment.end - segment.start, 0.01)
        score, seen = totals.get(segment.speaker, (0.0, 0.0))
        totals[segment.speaker] = (score + weight * evidence_quality(segment), seen + weight)
    return {speaker: round(score / seen, 4) for speaker, (score, seen) in totals.items()}
