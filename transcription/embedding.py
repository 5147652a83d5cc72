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
        """One embedding per (start, end) window of ``samples``, shape (num_windows, 192).

        Full-length windows go through the network ``batch`` at a time; shorter ones (a short reply) one by
        one. Only one batch of features is held at a time, so a 3-hour call costs no more memory than a short one.
        """
        import torch

        out = np.zeros((len(windows), self.dimension), dtype=np.float32)
        longest = max((round((end - start) * SAMPLE_RATE) for start, end in windows), default=0)
        full_frames = 1 + (longest - round(FBANK_WINDOW_S * SAMPLE_RATE)) // round(
            FBANK_SHIFT_S * SAMPLE_RATE
        )
        pending: list[tuple[int, Any]] = []

        def flush() -> None:
            with torch.inference_mode():
                stacked = torch.stack([feats - feats.mean(dim=0, keepdim=True) for _, feats in pending])
                vectors = self.model(stacked.to(self.device)).float().cpu().numpy()
            for (i, _), vector in zip(pending, vectors, strict=True):
                out[i] = vector
            pending.clear()

        for i, (start, end) in enumerate(windows):
            feats = self.fbank(samples[round(start * SAMPLE_RATE) : round(end * SAMPLE_RATE)])
            if feats.shape[0] == full_frames:
                pending.append((i, feats))
                if len(pending) == batch:
                    flush()
            else:
                out[i] = self.embed(feats)
        if pending:
            flush()
        return out
