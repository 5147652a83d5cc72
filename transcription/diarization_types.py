"""The diarization's options and results (kept apart so ``diarization.py`` holds only the recipe)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from dealtalk.transcription.types import SpeakerTurn
from dealtalk.transcription.windows import WindowOptions

__all__ = [
    "CHUNK_DIARIZATION",
    "WINDOW_DIARIZATION",
    "Diarization",
    "DiarizationOptions",
    "SegmentedSpeech",
    "speaker_bounds",
]


@dataclass(frozen=True, slots=True)
class DiarizationOptions:
    """Attributes:
    step: segmentation window step as a fraction of the 10 s window.
    embedding: "windows" (a CAM++ embedding every 0.75 s of speech, ``windows.py``) or "chunks" (one per
        local speaker of each segmentation chunk, pyannote's way).
    windows: window length and step for "windows".
    clustering: "spectral" (3D-Speaker's method for CAM++, ``clustering.py``) or "agglomerative" (pyannote's).
    neighbours: spectral: share of the other embeddings each one keeps in the affinity.
    threshold: agglomerative: distance threshold (unit-normalised embeddings, centroid linkage).
    min_cluster_size: agglomerative: smaller clusters are merged into the nearest large one.
    min_duration_off: shorter pauses inside one speaker's turn are filled.
    batch_size: segmentation windows per forward pass.
    """

    step: float = 0.5
    embedding: Literal["windows", "chunks"] = "chunks"
    windows: WindowOptions = field(default_factory=WindowOptions)
    clustering: Literal["spectral", "agglomerative"] = "agglomerative"
    neighbours: float = 0.2
    threshold: float = 0.6
    min_cluster_size: int = 3
    min_duration_off: float = 0.0
    batch_size: int = 16

    def __post_init__(self) -> None:
        # Window embeddings are clustered spectrally only (pyannote's clustering works on chunk pairs).
        if self.embedding == "windows" and self.clustering != "spectral":
            raise ValueError("window embeddings are clustered with clustering='spectral'")


# The product's diarization (``speech.speaker_embedding``), as chosen by ``bench/diarization_tuning.py`` on its
# own tuning calls (``bench/results/diarization_tuning.md``); pauses under 0.5 s inside a turn are filled.
WINDOW_DIARIZATION = DiarizationOptions(
    embedding="windows",
    windows=WindowOptions(cut_at_changes=True, overlap=True),
    clustering="spectral",
    neighbours=0.3,
    min_duration_off=0.5,
)
# Before issue 18's clustering work: pyannote's per-chunk embeddings, agglomerative clustering.
CHUNK_DIARIZATION = DiarizationOptions(
    embedding="chunks", clustering="agglomerative", threshold=0.5, min_duration_off=0.5
)


@dataclass(frozen=True, slots=True)
class SegmentedSpeech:
    """What clustering starts from.

    Attributes:
        segmentations: pyannote ``SlidingWindowFeature``, (num_chunks, num_frames, local_speakers), binary.
        count: speakers active per frame (``SlidingWindowFeature``).
        embeddings: "chunks": shape (num_chunks, local_speakers, 192), NaN rows for speakers too short to
            embed; "windows": shape (num_windows, 192).
        windows: "windows" only: shape (num_windows, 2), start and end seconds.
    """

    segmentations: Any
    count: Any
    embeddings: npt.NDArray[np.float32]
    windows: npt.NDArray[np.float64] | None = None


@dataclass(frozen=True, slots=True)
class Diarization:
    """Speaker turns of a recording.

    Attributes:
        turns: overlap-aware turns (two speakers may talk at once).
        exclusive: one speaker per instant (for word assignment).
        centroids: shape (num_speakers, 192); row k is speaker k's mean embedding (voiceprint matching).
    """

    turns: tuple[SpeakerTurn, ...]
    exclusive: tuple[SpeakerTurn, ...]
    centroids: npt.NDArray[np.float32]

    @property
    def speakers(self) -> tuple[int, ...]:
        return tuple(sorted({turn.speaker for turn in self.turns}))


def speaker_bounds(num: int | None, low: int | None, high: int | None) -> tuple[int | None, int, int]:
    """Normalise speaker-count hints: ``num`` wins; else ``[low, high]`` with defaults 1 and unbounded.

    Returns:
        (num_clusters or None, min_clusters, max_clusters); max is a large number when unbounded.
    """
    if num is not None and num >= 1:
        return num, num, num
    lo = max(1, low or 1)
    hi = high if high is not None and high >= 1 else 1_000
    if lo > hi:
        lo = hi
    return (lo if lo == hi else None), lo, hi
