"""Voice activity: Silero VAD (the ONNX model faster-whisper ships) in bounded windows, then pure maths.

The product's speech regions are exactly those of plain faster-whisper's batched pipeline (its
``get_speech_timestamps`` with the batched defaults: 160 ms pauses, 400 ms padding, 30 s at most), so the ASR
input is the audio plain faster-whisper decodes, sample for sample: the product cannot lose words to the naive
stack by cutting speech differently (our own cut cost 2-7 WER points on the generated English calls). What
differs is memory: faster-whisper pads and copies the whole recording and keeps every probability array; here
the model sees one window at a time with the same frame context and LSTM state carried over, and only one
float per 32 ms frame is kept. Turning probabilities into regions is a pure function, tested alone (regions
become ASR chunks in ``packing``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from dealtalk.transcription.audio import SAMPLE_RATE
from dealtalk.transcription.types import SpeechRegion

__all__ = ["FRAME_SAMPLES", "SileroVad", "VadOptions", "speech_regions"]

FRAME_SAMPLES = 512  # Silero's window at 16 kHz: 32 ms
_CONTEXT_SAMPLES = 64  # each frame also sees the last 64 samples of the one before
_BATCH_FRAMES = (
    10_000  # frames per model call, as faster-whisper runs them (the LSTM state is carried between)
)


@dataclass(frozen=True, slots=True)
class VadOptions:
    """How speech probabilities become speech regions (faster-whisper's ``VadOptions`` as its batched
    pipeline sets them).

    Attributes:
        threshold: a frame at or above this starts speech.
        neg_threshold: speech ends after ``min_silence_s`` below this (hysteresis against flicker).
        min_speech_s: shorter regions are dropped.
        max_speech_s: a region is cut at the last pause of 98 ms or more before it grows past this (Whisper's
            window), else hard.
        min_silence_s: shorter pauses do not end a region.
        pad_s: each region grows by this on both sides; a shorter silence between two is split between them.
    """

    threshold: float = 0.5
    neg_threshold: float = 0.35
    min_speech_s: float = 0.0
    max_speech_s: float = 30.0
    min_silence_s: float = 0.16
    pad_s: float = 0.4


class SileroVad:
    """Silero VAD v6 through onnxruntime, one thread, run window by window.

    Args:
        model_path: the ONNX file; by default the one inside the faster-whisper wheel.
    """

    def __init__(self, model_path: Path | None = None) -> None:
        from faster_whisper.utils import get_assets_path
        from faster_whisper.vad import SileroVADModel

        path = model_path or Path(get_assets_path()) / "silero_vad_v6.onnx"
        self.model_path = path
        self._model: Any = SileroVADModel(str(path))

    def probabilities(self, samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Speech probability per 32 ms frame (the last frame is zero-padded, as faster-whisper pads it).

        Returns:
            shape (len(samples) // 512 + 1,), values in [0, 1].
        """
        num_frames = len(samples) // FRAME_SAMPLES + 1
        probs = np.zeros(num_frames, dtype=np.float32)
        h = np.zeros((1, 1, 128), dtype=np.float32)
        c = np.zeros((1, 1, 128), dtype=np.float32)
        tail = np.zeros(_CONTEXT_SAMPLES, dtype=np.float32)
        for first in range(0, num_frames, _BATCH_FRAMES):
            count = min(_BATCH_FRAMES, num_frames - first)
            rows = np.zeros((count, FRAME_SAMPLES), dtype=np.float32)
            piece = samples[first * FRAME_SAMPLES : (first + count) * FRAME_SAMPLES]
            rows.reshape(-1)[: len(piece)] = piece
            if first + count == num_frames:
                rows[-1, -_CONTEXT_SAMPLES:] = 0.0  # faster-whisper zeroes the last frame's tail too
            context = np.empty((count, _CONTEXT_SAMPLES), dtype=np.float32)
            context[0] = tail
            context[1:] = rows[:-1, -_CONTEXT_SAMPLES:]
            batch = np.concatenate([context, rows], axis=1)
            out, h, c = self._model.session.run(None, {"input": batch, "h": h, "c": c})
            probs[first : first + count] = np.asarray(out).reshape(-1)[:count]
            tail = rows[-1, -_CONTEXT_SAMPLES:].copy()
        return probs


def speech_regions(
    probs: npt.NDArray[np.float32], num_samples: int, opts: VadOptions = VadOptions()
) -> list[SpeechRegion]:
    """Turn per-frame speech probabilities into padded speech regions, by faster-whisper's rules.

    Args:
        probs: one probability per 32 ms frame (``SileroVad.probabilities``).
        num_samples: the recording's length in samples (regions are clamped to it).
        opts: thresholds and durations.

    Returns:
        Sorted, non-overlapping regions at sample precision (seconds = samples / 16 kHz).
    """
    spans = _speech_spans(probs, num_samples, opts)
    pad = int(SAMPLE_RATE * opts.pad_s)
    for i, span in enumerate(spans):
        if i == 0:
            span[0] = max(0, span[0] - pad)
        if i < len(spans) - 1:
            silence = spans[i + 1][0] - span[1]
            if silence < 2 * pad:
                # A short silence is split between the two regions instead of padded twice.
                span[1] += silence // 2
                spans[i + 1][0] = max(0, spans[i + 1][0] - silence // 2)
            else:
                span[1] = min(num_samples, span[1] + pad)
                spans[i + 1][0] = max(0, spans[i + 1][0] - pad)
        else:
            span[1] = min(num_samples, span[1] + pad)
    return [SpeechRegion(start / SAMPLE_RATE, end / SAMPLE_RATE) for start, end in spans]


def _speech_spans(probs: npt.NDArray[np.float32], num_samples: int, opts: VadOptions) -> list[list[int]]:
    """Unpadded speech spans in samples: hysteresis between the thresholds, long spans cut at a pause."""
    min_speech = SAMPLE_RATE * opts.min_speech_s
    max_speech = SAMPLE_RATE * opts.max_speech_s - FRAME_SAMPLES - 2 * SAMPLE_RATE * opts.pad_s
    min_silence = SAMPLE_RATE * opts.min_silence_s
    min_silence_at_max = SAMPLE_RATE * 0.098
    spans: list[list[int]] = []
    start = 0
    triggered = False
    temp_end = prev_end = next_start = 0  # a pause's start; the last usable cut; speech after that cut
    for i, p in enumerate(probs.tolist()):
        at = FRAME_SAMPLES * i
        if p >= opts.threshold and temp_end:
            temp_end = 0
            if next_start < prev_end:
                next_start = at
        if p >= opts.threshold and not triggered:
            triggered, start = True, at
            continue
        if triggered and at - start > max_speech:
            if prev_end:
                spans.append([start, prev_end])
                # Still in the pause at the cut: wait for speech; else speech went on after it.
                triggered = next_start >= prev_end
                start = next_start
                prev_end = next_start = temp_end = 0
            else:
                spans.append([start, at])
                prev_end = next_start = temp_end = 0
                triggered = False
                continue
        if p < opts.neg_threshold and triggered:
            if not temp_end:
                temp_end = at
            if at - temp_end > min_silence_at_max:
                prev_end = temp_end
            if at - temp_end < min_silence:
                continue
            if temp_end - start > min_speech:
                spans.append([start, temp_end])
            prev_end = next_start = temp_end = 0
            triggered = False
    if triggered and num_samples - start > min_speech:
        spans.append([start, num_samples])
    return spans
