"""Speech packed back to back for Whisper, and the way back from packed time to recording time (pure).

Whisper decodes 30-second inputs. Given contiguous spans of the recording, every pause longer than a breath
ends an input and the next turn starts without the words before it; given the speech of several turns with
the silences cut out, it hears up to 30 s of conversation at once. The packed audio is what the decoder reads;
``PackedSpeech.recording_time`` puts its timestamps back where they were said.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dealtalk.transcription.audio import SAMPLE_RATE
from dealtalk.transcription.types import AsrChunk, SpeechRegion

__all__ = ["PackedSpeech", "pack_speech", "plan_chunks"]


def plan_chunks(
    regions: Sequence[SpeechRegion], *, max_speech_s: float = 30.0, max_gap_s: float = 2.0
) -> list[AsrChunk]:
    """Group speech regions, in time order, into ASR chunks of at most ``max_speech_s`` of speech each.

    Within a stretch of conversation the regions are packed as faster-whisper's ``collect_chunks`` packs them.
    A silence longer than ``max_gap_s`` starts a new chunk: each chunk gets one language, and after a long
    pause the next speaker may well speak the other one (a Dutch turn packed with an English one is heard as
    English). A region longer than ``max_speech_s`` (the VAD cuts regions at 30 s) is a chunk of its own.
    """
    budget = round(max_speech_s * SAMPLE_RATE)
    chunks: list[list[SpeechRegion]] = []
    speech = 0  # samples, as faster-whisper's collect_chunks counts them
    for region in regions:
        length = _sample(region.end) - _sample(region.start)
        paused = bool(chunks) and region.start - chunks[-1][-1].end > max_gap_s
        if not chunks or paused or speech + length > budget:
            chunks.append([])
            speech = 0
        chunks[-1].append(region)
        speech += length
    return [AsrChunk(tuple(group)) for group in chunks]


def _sample(seconds: float) -> int:
    # Regions are sample-exact (samples / 16 kHz): rounding gets the sample back where int() could lose one.
    return round(seconds * SAMPLE_RATE)


@dataclass(frozen=True, slots=True)
class PackedSpeech:
    """The audio of some chunks back to back.

    Attributes:
        audio: 16 kHz mono float32, the chunks' regions concatenated in order.
        clips: each chunk's ``(start, end)`` in seconds of ``audio``.
    """

    audio: npt.NDArray[np.float32]
    clips: tuple[tuple[float, float], ...]
    region_starts: tuple[float, ...]  # where each region starts in ``audio`` (seconds)
    regions: tuple[SpeechRegion, ...]  # the regions, in recording time

    def recording_time(self, packed_s: float, *, is_end: bool = False) -> float:
        """The recording time of ``packed_s``; at a seam between two regions an end belongs to the first."""
        if not self.regions:
            return packed_s
        find = bisect.bisect_left if is_end else bisect.bisect_right
        index = min(max(find(self.region_starts, packed_s) - 1, 0), len(self.regions) - 1)
        region = self.regions[index]
        return min(max(region.start + packed_s - self.region_starts[index], region.start), region.end)


def pack_speech(samples: npt.NDArray[np.float32], chunks: Sequence[AsrChunk]) -> PackedSpeech:
    """Concatenate the regions of ``chunks`` (at sample precision) and remember where each came from."""
    pieces: list[npt.NDArray[np.float32]] = []
    clips: list[tuple[float, float]] = []
    starts: list[float] = []
    regions: list[SpeechRegion] = []
    at = 0
    for chunk in chunks:
        clip_start = at
        for region in chunk.regions:
            first = max(0, _sample(region.start))
            last = min(len(samples), _sample(region.end))
            if last <= first:
                continue
            pieces.append(samples[first:last])
            starts.append(at / SAMPLE_RATE)
            regions.append(SpeechRegion(first / SAMPLE_RATE, last / SAMPLE_RATE))
            at += last - first
        clips.append((clip_start / SAMPLE_RATE, at / SAMPLE_RATE))
    audio = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
    return PackedSpeech(audio.astype(np.float32, copy=False), tuple(clips), tuple(starts), tuple(regions))
