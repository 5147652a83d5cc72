"""Speaker embeddings with CAM++ on the frames where one local speaker talks.

pyannote's pipeline embeds every (chunk, local speaker) pair, active or not, re-reading the audio for
each. Here each 10 s chunk's filterbanks are computed once, only speakers with enough speech are embedded,
and only their own frames go through the network (overlap excluded when enough clean speech remains).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from dealtalk.transcription.audio import SAMPLE_RATE

__all__ = ["CamppEmbedder", "EmbeddingOptions", "fbank_frame_index"]

FBANK_SHIFT_S = 0.010
FBANK_WINDOW_S = 0.025
EMBEDDING_DIM = 192


@dataclass(frozen=True, slots=True)
class EmbeddingOptions:
    """Attributes:
    min_speech_s: a local speaker with less speech in a chunk gets no embedding (NaN).
    min_clean_s: below this much overlap-free speech, overlapped frames are used too.
    """

    min_speech_s: float = 0.6
    min_clean_s: float = 1.5


def fbank_frame_index(
    num_fbank_frames: int, seg_start: float, seg_step: float, seg_duration: float, num_seg_frames: int
) -> npt.NDArray[np.int64]:
    """For each filterbank frame (10 ms), the segmentation frame whose centre is nearest.

    Returns:
        shape (num_fbank_frames,), indices in [0, num_seg_frames).
    """
    centres = np.arange(num_fbank_frames) * FBANK_SHIFT_S + FBANK_WINDOW_S / 2
    index = np.rint((centres - seg_start - seg_duration / 2) / seg_step).astype(np.int64)
    return np.asarray(np.clip(index, 0, num_seg_frames - 1), dtype=np.int64)


class CamppEmbedder:
    """CAM++ embeddings of the active speakers of segmentation chunks.

    Args:
        model: the loaded CAM++ ``torch.nn.Module`` ((batch, frames, 80) -> (batch, 192)).
        device: torch device string.
        opts: speech-length thresholds.
    """

    dimension = EMBEDDING_DIM

    def __init__(self, model: Any, device: str = "cpu", opts: EmbeddingOptions = EmbeddingOptions()) -> None:
        self.model = model
        self.device = device
        self.opts = opts

    def fbank(self, waveform: npt.NDArray[np.float32]) -> Any:
        """80 log-mel filterbanks (Kaldi style, 25 ms povey window, 10 ms shift), shape (frames, 80)."""
        import torch
        from torchaudio.compliance import kaldi

        tensor = torch.from_numpy(np.ascontiguousarray(waveform, dtype=np.float32))[None]
        return kaldi.fbank(
            tensor,
            num_mel_bins=80,
            frame_length=25.0,
            frame_shift=10.0,
            dither=0.0,
            sample_frequency=SAMPLE_RATE,
            window_type="povey",
        )

    def embed(self, features: Any) -> npt.NDArray[np.float32]:
        """One embedding for ``features`` (frames, 80), mean-normalised over those frames; shape (192,)."""
        import torch

        with torch.inference_mode():
            x = (features - features.mean(dim=0, keepdim=True))[None].to(self.device)
            return np.asarray(self.model(x)[0].float().cpu().numpy(), dtype=np.float32)

    def embed_chunks(
        self,
        samples: npt.NDArray[np.float32],
        masks: npt.NDArray[np.float32],
        chunk_starts: npt.NDArray[np.float64],
        chunk_s: float,
        frames: tuple[float, float, float],
    ) -> npt.NDArray[np.float32]:
        """Embed each active local speaker of each chunk.

        Args:
            samples: the whole recording.
            masks: binarised segmentation, shape (num_chunks, num_seg_frames, local_speakers).
            chunk_starts: start time of each chunk in seconds.
            chunk_s: chunk duration in seconds (10 s for segmentation-3.0).
            frames: the segmentation frames' (start, step, duration) in seconds, relative to the chunk.

        Returns:
            shape (num_chunks, local_speakers, 192); NaN rows for speakers with too little speech.
        """
        import torch

        num_chunks, num_seg_frames, local_speakers = masks.shape
        out = np.full((num_chunks, local_speakers, self.dimension), np.nan, dtype=np.float32)
        chunk_len = round(chunk_s * SAMPLE_RATE)
        min_frames = self.opts.min_speech_s / FBANK_SHIFT_S
        min_clean = self.opts.min_clean_s / FBANK_SHIFT_S
        index: npt.NDArray[np.int64] | None = None
        for c in range(num_chunks):
            active = masks[c].sum(axis=0) * (frames[1] / FBANK_SHIFT_S)  # fbank frames of speech per speaker
            if not np.any(active >= min_frames):
                continue
            first = round(float(chunk_starts[c]) * SAMPLE_RATE)
            piece = samples[first : first + chunk_len]
            if len(piece) < chunk_len:
                piece = np.pad(piece, (0, chunk_len - len(piece)))
            feats = self.fbank(piece)
            if index is None or len(index) != feats.shape[0]:
                index = fbank_frame_index(feats.shape[0], frames[0], frames[1], frames[2], num_seg_frames)
            chunk_masks = masks[c][index] > 0.5  # shape: (fbank_frames, local_speakers)
            clean = chunk_masks & (chunk_masks.sum(axis=1, keepdims=True) == 1)
            for s in range(local_speakers):
                use = clean[:, s] if clean[:, s].sum() >= min_clean else chunk_masks[:, s]
                if use.sum() < min_frames:
                    continue
                out[c, s] = self.embed(feats[torch.from_numpy(use)])
        return out

    def embed_windows(
        self, samples: npt.NDArray[np.float32], windows: npt.NDArray[np.float64], batch: int = 32
    ) -> npt.NDArray[np.float32]:
        """One embedding per (start, end) window of ``samples``; windows of equal length go through the
        network together. Returns shape (num_windows, 192)."""
        import torch

        out = np.zeros((len(windows), self.dimension), dtype=np.float32)
        features: dict[int, list[tuple[int, Any]]] = {}
        for i, (start, end) in enumerate(windows):
            piece = samples[round(start * SAMPLE_RATE) : round(end * SAMPLE_RATE)]
            feats = self.fbank(piece)
            features.setdefault(int(feats.shape[0]), []).append((i, feats - feats.mean(dim=0, keepdim=True)))
        with torch.inference_mode():
            for group in features.values():
                for first in range(0, len(group), batch):
                    part = group[first : first + batch]
                    stacked = torch.stack([feats for _, feats in part]).to(self.device)
                    vectors = self.model(stacked).float().cpu().numpy()
                    for (i, _), vector in zip(part, vectors, strict=True):
                        out[i] = vector
        return out
