"""Frozen values passed between the steps of the speech stage (pydantic only at the stage's boundary).

Times are seconds from the start of the recording.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AsrChunk", "AsrSegment", "AsrWord", "SpeakerTurn", "SpeechRegion"]


@dataclass(frozen=True, slots=True)
class SpeechRegion:
    """A stretch of audio that the VAD thinks holds speech."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class AsrChunk:
    """Speech regions Whisper decodes as one input of at most 30 s: their audio back to back, silences cut out.

    Packing the speech gives Whisper up to 30 s of context where contiguous spans broken at pauses gave it a
    few seconds (plain faster-whisper packs the same way; on the generated English calls our spans cost 2-7
    WER points against it). ``start`` and ``end`` span the first to the last region, silences included.
    """

    regions: tuple[SpeechRegion, ...]

    @property
    def start(self) -> float:
        return self.regions[0].start

    @property
    def end(self) -> float:
        return self.regions[-1].end

    @property
    def speech_s(self) -> float:
        return sum(region.duration for region in self.regions)


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
