"""Who spoke when: pyannote.audio 4 building blocks around local weights, tuned for CPU.

Composed here because pyannote's ``SpeakerDiarization`` pipeline always fetches PLDA files from the hub and
embeds every (chunk, speaker) pair:

1. segmentation-3.0 on 10 s windows (``step`` of the window, 50 % by default instead of 90 % overlap), which
   gives where anyone speaks, where two do, and where one local speaker hands over to another;
2. CAM++ embeddings (``CamppEmbedder``): by default of 1.5 s windows every 0.75 s of speech, cut at those
   handovers (``windows.py``); or of the active local speakers of each chunk (``embedding="chunks"``);
3. clustering bounded by the speaker count Teams gives us: spectral for windows (``clustering.py``),
   pyannote's agglomerative (centroid linkage) or spectral for chunks;
4. turns: windows speak for the middle of their span, overlap added where the segmentation hears two voices;
   chunks go through pyannote's reconstruction. Both give overlap-aware turns and an exclusive (one speaker
   per instant) version that words are assigned against.
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from dealtalk.transcription.audio import SAMPLE_RATE
from dealtalk.transcription.diarization_types import (
    CHUNK_DIARIZATION,
    WINDOW_DIARIZATION,
    Diarization,
    DiarizationOptions,
    SegmentedSpeech,
    speaker_bounds,
)
from dealtalk.transcription.embedding import CamppEmbedder
from dealtalk.transcription.types import SpeakerTurn
from dealtalk.transcription.windows import (
    active_regions,
    cut_regions,
    local_speaker_changes,
    speech_windows,
    window_turns,
    with_overlap,
)

__all__ = [
    "CHUNK_DIARIZATION",
    "WINDOW_DIARIZATION",
    "Diarization",
    "DiarizationOptions",
    "Diarizer",
    "SegmentedSpeech",
    "reconstruct_clusters",
    "speaker_bounds",
]

logger = logging.getLogger(__name__)


def reconstruct_clusters(
    segmentations: npt.NDArray[np.float32], hard_clusters: npt.NDArray[np.int64], num_clusters: int
) -> npt.NDArray[np.float64]:
    """Map local speakers of every chunk onto global clusters.

    Args:
        segmentations: shape (num_chunks, num_frames, local_speakers), activations in [0, 1].
        hard_clusters: shape (num_chunks, local_speakers); a cluster index, or -2 for inactive speakers.
        num_clusters: number of global clusters.

    Returns:
        shape (num_chunks, num_frames, num_clusters); a cluster's activation is the max over the local
        speakers assigned to it, NaN where no local speaker of the chunk is assigned to it.
    """
    num_chunks, num_frames, _ = segmentations.shape
    out = np.full((num_chunks, num_frames, num_clusters), np.nan)
    for c in range(num_chunks):
        for k in np.unique(hard_clusters[c]):
            if k < 0:
                continue
            out[c, :, k] = np.max(segmentations[c][:, hard_clusters[c] == k], axis=1)
    return out


def _count_regions(count: Any, above: int) -> list[tuple[float, float]]:
    """Stretches where more than ``above`` speakers talk, from pyannote's per-frame speaker count."""
    frames = count.sliding_window
    starts = frames.start + np.arange(count.data.shape[0]) * frames.step
    return active_regions(count.data[:, 0] > above, starts, float(frames.step))


class Diarizer:
    """Segmentation + CAM++ + clustering on an in-memory recording.

    Args:
        segmentation: the loaded pyannote segmentation model (``pyannote.audio.Model``).
        embedder: CAM++ wrapper.
        opts: step, clustering threshold and sizes.
        device: torch device string for segmentation.
    """

    def __init__(
        self, segmentation: Any, embedder: CamppEmbedder, opts: DiarizationOptions, device: str = "cpu"
    ) -> None:
        import torch
        from pyannote.audio import Inference
        from pyannote.audio.pipelines.clustering import AgglomerativeClustering

        from dealtalk.transcription.clustering import SpectralClustering

        self.opts = opts
        self.embedder = embedder
        self.model = segmentation
        duration = float(segmentation.specifications.duration)
        self.chunk_s = duration
        self._inference = Inference(
            segmentation,
            duration=duration,
            step=opts.step * duration,
            skip_aggregation=True,
            batch_size=opts.batch_size,
            device=torch.device(device),
        )
        # Constrained: two local speakers of one chunk never land in the same cluster, and a speaker too
        # short to embed (NaN) takes the best cluster not used by the others in its chunk.
        self._clustering: Any
        if opts.clustering == "spectral":
            self._clustering = SpectralClustering(neighbours=opts.neighbours)
        else:
            self._clustering = AgglomerativeClustering(metric="cosine", constrained_assignment=True)
            self._clustering.instantiate(
                {"method": "centroid", "min_cluster_size": opts.min_cluster_size, "threshold": opts.threshold}
            )

    @property
    def batch_size(self) -> int:
        """Segmentation windows per forward pass (the GPU path halves it after out-of-memory)."""
        return int(self._inference.batch_size)

    @batch_size.setter
    def batch_size(self, value: int) -> None:
        self._inference.batch_size = max(1, value)

    def __call__(
        self,
        samples: npt.NDArray[np.float32],
        *,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
        progress: Callable[[str, float, float], None] | None = None,
    ) -> Diarization:
        """Diarize a 16 kHz mono recording.

        Args:
            samples: the recording.
            num_speakers / min_speakers / max_speakers: speaker-count hints (Teams attendee count).
            progress: called as ``progress(step, completed, total)``.

        Returns:
            Overlap-aware and exclusive turns with one centroid per speaker.
        """
        prepared = self.prepare(samples, progress=progress)
        if prepared is None:
            return self.empty()
        return self.finish(
            prepared, num_speakers=num_speakers, min_speakers=min_speakers, max_speakers=max_speakers
        )

    def empty(self) -> Diarization:
        return Diarization((), (), np.zeros((0, self.embedder.dimension), dtype=np.float32))

    def prepare(
        self,
        samples: npt.NDArray[np.float32],
        *,
        progress: Callable[[str, float, float], None] | None = None,
    ) -> SegmentedSpeech | None:
        """Segmentation and embeddings (the costly part); None when there is no speech to diarize."""
        import torch
        from pyannote.audio.pipelines.utils import SpeakerDiarizationMixin

        if len(samples) < SAMPLE_RATE // 2:
            return None
        waveform = torch.from_numpy(samples)[None]

        def hook(completed: int, total: int) -> None:
            if progress is not None:
                progress("segmentation", float(min(completed, total)), float(total))

        # shape: (num_chunks, num_frames, local_speakers), binary (powerset model)
        segmentations: Any = self._inference({"waveform": waveform, "sample_rate": SAMPLE_RATE}, hook=hook)
        frames = self.model.receptive_field
        count = SpeakerDiarizationMixin.speaker_count(segmentations, frames, warm_up=(0.0, 0.0))
        if float(np.nanmax(count.data)) == 0.0:
            return None
        chunk_at = segmentations.sliding_window
        chunk_starts = np.array([chunk_at[c].start for c in range(segmentations.data.shape[0])])
        if self.opts.embedding == "windows":
            regions = _count_regions(count, above=0)
            if self.opts.windows.cut_at_changes:
                changes = local_speaker_changes(
                    segmentations.data,
                    chunk_starts,
                    float(frames.step),
                    float(frames.start + frames.duration / 2 - frames.step / 2),
                )
                regions = cut_regions(regions, changes, self.opts.windows.min_piece_s)
            windows = speech_windows(regions, self.opts.windows)
            if len(windows) == 0:
                return None
            vectors = self.embedder.embed_windows(samples, windows)
            if progress is not None:
                progress("embeddings", 1.0, 1.0)
            return SegmentedSpeech(segmentations, count, vectors, windows)
        embeddings = self.embedder.embed_chunks(
            samples,
            segmentations.data.astype(np.float32),
            chunk_starts,
            self.chunk_s,
            (float(frames.start), float(frames.step), float(frames.duration)),
        )
        if progress is not None:
            progress("embeddings", 1.0, 1.0)
        return SegmentedSpeech(segmentations, count, embeddings)

    def finish(
        self,
        prepared: SegmentedSpeech,
        *,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
    ) -> Diarization:
        """Cluster the embeddings and build the turns (cheap; the tuning benchmark re-runs only this)."""
        if (prepared.windows is not None) != (self.opts.embedding == "windows"):
            raise ValueError(f"prepared for other embeddings than this diarizer's ({self.opts.embedding})")
        if prepared.windows is not None:
            return self._finish_windows(prepared, num_speakers, min_speakers, max_speakers)
        hard_clusters, centroids = self._cluster(
            prepared.embeddings, prepared.segmentations, num_speakers, min_speakers, max_speakers
        )
        _, _, most = speaker_bounds(num_speakers, min_speakers, max_speakers)
        return self.reconstruct(prepared, hard_clusters, centroids, most)

    def _finish_windows(
        self, prepared: SegmentedSpeech, num: int | None, low: int | None, high: int | None
    ) -> Diarization:
        from dealtalk.transcription.clustering import spectral_labels_bounded

        assert prepared.windows is not None
        num_clusters, min_clusters, max_clusters = speaker_bounds(num, low, high)
        labels = spectral_labels_bounded(
            prepared.embeddings.astype(np.float64),
            num_clusters=num_clusters,
            min_clusters=min_clusters,
            max_clusters=max_clusters,
            neighbours=self.opts.neighbours,
        )
        centroids = np.stack(
            [prepared.embeddings[labels == k].mean(axis=0) for k in range(int(labels.max()) + 1)]
        )
        exclusive = window_turns(prepared.windows, labels, self.opts.min_duration_off)
        turns = (
            with_overlap(exclusive, _count_regions(prepared.count, above=1))
            if self.opts.windows.overlap
            else exclusive
        )
        return Diarization(turns=turns, exclusive=exclusive, centroids=centroids.astype(np.float32))

    def reconstruct(
        self,
        prepared: SegmentedSpeech,
        hard_clusters: npt.NDArray[np.int64],
        centroids: npt.NDArray[np.float32],
        most_speakers: int,
    ) -> Diarization:
        """Turns from a cluster per (chunk, local speaker), at most ``most_speakers`` at one instant."""
        from pyannote.audio.pipelines.utils import SpeakerDiarizationMixin
        from pyannote.core import SlidingWindowFeature

        segmentations = prepared.segmentations
        hard_clusters = hard_clusters.copy()
        num_clusters = int(hard_clusters.max()) + 1 if hard_clusters.size and hard_clusters.max() >= 0 else 0
        if num_clusters == 0:
            return self.empty()
        count = copy.deepcopy(prepared.count)
        count.data = np.minimum(count.data, most_speakers).astype(np.int8)
        inactive = np.sum(segmentations.data, axis=1) == 0  # shape: (num_chunks, local_speakers)
        hard_clusters[inactive] = -2
        clustered = SlidingWindowFeature(
            reconstruct_clusters(segmentations.data, hard_clusters, num_clusters),
            segmentations.sliding_window,
        )
        turns = self._turns(SpeakerDiarizationMixin.to_diarization(clustered, count))
        count.data = np.minimum(count.data, 1).astype(np.int8)
        exclusive = self._turns(SpeakerDiarizationMixin.to_diarization(clustered, count))
        return Diarization(turns=turns, exclusive=exclusive, centroids=centroids.astype(np.float32))

    def _cluster(
        self,
        embeddings: npt.NDArray[np.float32],
        binarized: Any,
        num: int | None,
        low: int | None,
        high: int | None,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        dimension = embeddings.shape[2]
        valid = ~np.any(np.isnan(embeddings), axis=2)
        if not valid.any():
            # Speech, but no stretch long enough to embed (a few short words): one speaker.
            hard = np.where(np.sum(binarized.data, axis=1) > 0, 0, -2).astype(np.int64)
            return hard, np.zeros((1, dimension), dtype=np.float32)
        num_clusters, min_clusters, max_clusters = speaker_bounds(num, low, high)
        # pyannote's clustering prints a hint to stdout when it cannot reach the requested count;
        # stdout belongs to the CLI's output, so keep it and log it instead.
        captured = io.StringIO()
        with contextlib.redirect_stdout(captured):
            hard, _soft, centroids = self._clustering(
                embeddings=embeddings,
                segmentations=binarized,
                num_clusters=num_clusters,
                min_clusters=min_clusters,
                max_clusters=max_clusters,
            )
        if captured.getvalue().strip():
            logger.debug("clustering: %s", captured.getvalue().strip())
        return np.asarray(hard, dtype=np.int64), np.asarray(centroids, dtype=np.float32)

    def _turns(self, discrete: Any) -> tuple[SpeakerTurn, ...]:
        from pyannote.audio.pipelines.utils import SpeakerDiarizationMixin

        annotation = SpeakerDiarizationMixin.to_annotation(
            discrete, min_duration_on=0.0, min_duration_off=self.opts.min_duration_off
        )
        turns = [
            SpeakerTurn(start=float(segment.start), end=float(segment.end), speaker=int(label))
            for segment, _, label in annotation.itertracks(yield_label=True)
        ]
        return tuple(sorted(turns, key=lambda turn: (turn.start, turn.end)))
