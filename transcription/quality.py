"""How well each stretch of a call was heard, from Whisper's own scores: for transcripts and the insights on them.

Whisper base on generated Dutch produces fluent-looking nonsense ("het budget mogen faciliteren diemsten")
with low scores: a mean word probability around 0.5 and a mean token log-probability around -0.8. A segment's
``SegmentQuality.score`` combines both with the no-speech probability into one figure from 0 (heard badly) to 1
(heard clearly). What the score does downstream (evidence quality of insights, per-speaker quality, the
badly-heard mark) is in ``contracts/evidence.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from dealtalk.contracts.documents import SegmentQuality
from dealtalk.transcription.assign import TimedWord

__all__ = ["quality_score", "segment_quality"]


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
