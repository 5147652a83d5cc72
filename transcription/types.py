"""Frozen values passed between the steps of the speech stage (pydantic only at the stage's boundary).

Times are seconds from the start of the recording.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AsrSegment", "AsrWord", "SpeakerTurn", "SpeechRegion"]


@dataclass(frozen=True, slots=True)
class SpeechRegion:
    """A stretch of audio that the VAD thinks holds speech."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class AsrWord:
    """A recognised word with its timing and Whisper's probability."""

    start: float
    end: float
    text: str
    probability: float


@dataclass(frozen=True, slots=True)
class AsrSegment:
    """What Whisper said for one stretch of audio, with the decoding scores the guards look at."""

    start: float
    end: float
    text: str
    language: str
    words: tuple[AsrWord, ...]
    avg_logprob: float
    language_probability: float
    no_speech_prob: float
    compression_ratio: float
    # Index of the ASR chunk the segment came from (chunks are re-run by index when the language changes).
    chunk: int = 0


@dataclass(frozen=True, slots=True)
class SpeakerTurn:
    """One speaker talking from ``start`` to ``end`` (``speaker`` is a diarization label like ``0``)."""

    start: float
    end: float
    speaker: int

    @property
    def duration(self) -> float:
        return self.end - self.start
