"""Voice activity: Silero VAD (the ONNX model faster-whisper ships) in bounded windows, then pure maths.

faster-whisper's ``get_speech_timestamps`` pads and copies the whole recording (two extra copies of a 3-hour
file); here the model sees one window at a time and only the per-frame probabilities (one float per 32 ms)
are kept. Turning probabilities into regions is a pure function, tested alone (regions become ASR chunks in
``packing``).
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
FRAME_S = FRAME_SAMPLES / SAMPLE_RATE
_WINDOW_FRAMES = 1875  # 60 s of audio per model call


@dataclass(frozen=True, slots=True)
class VadOptions:
    """How speech probabilities become speech regions.

    Attributes:
        threshold: a frame at or above this starts speech.
        neg_threshold: speech ends after ``min_silence_s`` below this (hysteresis against flicker).
        min_speech_s: shorter bursts (clicks, a cough) are dropped.
        min_silence_s: shorter pauses do not split a region.
        pad_s: each region grows by this on both sides, so word onsets are not cut.
        max_region_s: longer regions are cut at their least speech-like frame (Whisper's window is 30 s).
    """

    threshold: float = 0.5
    neg_threshold: float = 0.35
    min_speech_s: float = 0.25
    # Pauses and padding as faster-whisper's batched pipeline sets them (160 ms, 400 ms): the ASR chunks pack
    # these regions back to back, and Whisper decodes them best with the margins it is used to.
    min_silence_s: float = 0.16
    pad_s: float = 0.4
    max_region_s: float = 30.0


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
        """Speech probability per 32 ms frame.

        Returns:
            shape (ceil(len(samples) / 512),), values in [0, 1].
        """
        num_frames = -(-len(samples) // FRAME_SAMPLES)
        probs = np.zeros(num_frames, dtype=np.float32)
        window = _WINDOW_FRAMES * FRAME_SAMPLES
        for first in range(0, len(samples), window):
            piece = samples[first : first + window]
            if len(piece) % FRAME_SAMPLES:
                piece = np.pad(piece, (0, FRAME_SAMPLES - len(piece) % FRAME_SAMPLES))
            out = np.asarray(self._model(np.ascontiguousarray(piece, dtype=np.float32))).reshape(-1)
            start = first // FRAME_SAMPLES
            probs[start : start + len(out)] = out[: num_frames - start]
        return probs


def speech_regions(
    probs: npt.NDArray[np.float32], duration_s: float, opts: VadOptions = VadOptions()
) -> list[SpeechRegion]:
    """Turn per-frame speech probabilities into padded, merged speech regions.

    Args:
        probs: one probability per 32 ms frame.
        duration_s: the recording's length (regions are clamped to it).
        opts: thresholds and durations.

    Returns:
        Sorted, non-overlapping regions, each at most ``opts.max_region_s`` long.
    """
    raw: list[tuple[int, int]] = []  # frame index ranges [start, end)
    in_speech = False
    start = 0
    silent_since: int | None = None
    min_silence = max(1, round(opts.min_silence_s / FRAME_S))
    for i, p in enumerate(probs.tolist()):
        if not in_speech:
            if p >= opts.threshold:
                in_speech, start, silent_since = True, i, None
            continue
        if p >= opts.neg_threshold:
            silent_since = None
        elif silent_since is None:
            silent_since = i
        elif i - silent_since >= min_silence:
            raw.append((start, silent_since))
            in_speech = False
    if in_speech:
        raw.append((start, silent_since if silent_since is not None else len(probs)))
    min_frames = opts.min_speech_s / FRAME_S
    regions: list[SpeechRegion] = []
    for first, last in raw:
        if last - first < min_frames:
            continue
        begin = max(0.0, first * FRAME_S - opts.pad_s)
        end = min(duration_s, last * FRAME_S + opts.pad_s)
        if regions and begin <= regions[-1].end:
            regions[-1] = SpeechRegion(regions[-1].start, max(end, regions[-1].end))
        else:
            regions.append(SpeechRegion(begin, end))
    return [piece for region in regions for piece in _split_long(region, probs, opts.max_region_s)]


def _split_long(region: SpeechRegion, probs: npt.NDArray[np.float32], max_s: float) -> list[SpeechRegion]:
    pieces: list[SpeechRegion] = []
    start = region.start
    while region.end - start > max_s:
        # Cut at the least speech-like frame in the last third of the allowed span (a breath, a pause).
        lo = int((start + max_s * 2 / 3) / FRAME_S)
        hi = max(lo + 1, int((start + max_s) / FRAME_S))
        cut = (lo + int(np.argmin(probs[lo:hi]))) * FRAME_S if hi <= len(probs) else start + max_s
        cut = min(cut, start + max_s)
        pieces.append(SpeechRegion(start, cut))
        start = cut
    pieces.append(SpeechRegion(start, region.end))
    return pieces
