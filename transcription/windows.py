"""Short-window speaker embeddings: the 3D-Speaker recipe CAM++ was made for.

pyannote's segmentation separates at most three local speakers in each 10 s chunk, and similar voices in
one chunk come out as one local speaker; no clustering of per-chunk embeddings can split them again
(``bench/results/diarization_tuning.md``: even the reference clustering of those local speakers leaves a fifth
of the single-speaker time on the wrong voice). 3D-Speaker, whose CAM++ weights we use, embeds every 1.5 s of
speech every 0.75 s instead, clusters those embeddings, and lets each window speak for the middle of its span.
Speech is where the segmentation model hears anyone, so overlap and silence handling stay its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dealtalk.transcription.types import SpeakerTurn

__all__ = [
    "WindowOptions",
    "active_regions",
    "cut_regions",
    "local_speaker_changes",
    "speech_windows",
    "window_turns",
    "with_overlap",
]


@dataclass(frozen=True, slots=True)
class WindowOptions:
    """Attributes:
    length_s: window length (3D-Speaker: 1.5 s).
    shift_s: window step (3D-Speaker: 0.75 s).
    min_region_s: shorter stretches of speech get no window (they take the nearest window's speaker).
    cut_at_changes: split speech where the segmentation model hears one local speaker hand over to
        another, so that no window spans a change it heard (fast turn-taking keeps its boundaries).
    min_piece_s: a cut that would leave less speech than this on one side is not made.
    overlap: where the segmentation model hears two voices, add the nearest other speaker's turn.
    """

    length_s: float = 1.5
    shift_s: float = 0.75
    min_region_s: float = 0.25
    cut_at_changes: bool = False
    min_piece_s: float = 0.5
    overlap: bool = False


def active_regions(
    active: npt.NDArray[np.bool_], starts: npt.NDArray[np.float64], step: float
) -> list[tuple[float, float]]:
    """Runs of active frames as (start, end) seconds; frame i spans [starts[i], starts[i] + step)."""
    regions: list[tuple[float, float]] = []
    padded = np.concatenate([[False], active, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    for first, last in zip(edges[0::2], edges[1::2], strict=True):
        regions.append((float(starts[first]), float(starts[last - 1] + step)))
    return regions


def speech_windows(
    regions: Sequence[tuple[float, float]], opts: WindowOptions = WindowOptions()
) -> npt.NDArray[np.float64]:
    """Windows of ``length_s`` every ``shift_s`` inside each region, the last one flush with its end; a
    region shorter than one window is one window.

    Returns:
        shape (n, 2): start and end seconds, in time order, never crossing a region's edge.
    """
    windows: list[tuple[float, float]] = []
    for start, end in regions:
        if end - start < opts.min_region_s:
            continue
        if end - start <= opts.length_s:
            windows.append((start, end))
            continue
        position = start
        while position + opts.length_s < end:
            windows.append((position, position + opts.length_s))
            position += opts.shift_s
        windows.append((end - opts.length_s, end))
    return np.asarray(windows, dtype=np.float64).reshape(-1, 2)


def window_turns(
    windows: npt.NDArray[np.float64], labels: npt.NDArray[np.int64], min_duration_off: float = 0.0
) -> tuple[SpeakerTurn, ...]:
    """One speaker per instant: each window speaks for its span up to the middle of its overlap with the
    windows before and after it; same-speaker spans closer than ``min_duration_off`` are joined."""
    turns: list[SpeakerTurn] = []
    count = len(windows)
    for i in range(count):
        start, end = float(windows[i, 0]), float(windows[i, 1])
        if i > 0 and windows[i - 1, 1] > start:
            start = (start + float(windows[i - 1, 1])) / 2
        if i + 1 < count and windows[i + 1, 0] < end:
            end = (end + float(windows[i + 1, 0])) / 2
        if end <= start:
            continue
        speaker = int(labels[i])
        if turns and turns[-1].speaker == speaker and start - turns[-1].end <= min_duration_off:
            turns[-1] = SpeakerTurn(start=turns[-1].start, end=max(turns[-1].end, end), speaker=speaker)
        else:
            turns.append(SpeakerTurn(start=start, end=end, speaker=speaker))
    return tuple(turns)


def local_speaker_changes(
    segmentations: npt.NDArray[np.float32],
    chunk_starts: npt.NDArray[np.float64],
    frame_step: float,
    frame_start: float = 0.0,
) -> npt.NDArray[np.float64]:
    """Times where the segmentation model hears one local speaker hand over to another inside a chunk.

    Args:
        segmentations: binary, shape (num_chunks, num_frames, local_speakers).
        chunk_starts: shape (num_chunks,), seconds.
        frame_step: seconds between frames; ``frame_start`` the first frame's offset in its chunk.

    Returns:
        sorted change times in seconds (a voice change the model heard even when it could not tell the
        voices apart well enough to keep them in separate local speakers is not among them).
    """
    times: list[float] = []
    for chunk, start in zip(segmentations, chunk_starts, strict=True):
        active = chunk.sum(axis=1) > 0
        speaker = np.argmax(chunk, axis=1)
        change = np.flatnonzero(active[1:] & active[:-1] & (speaker[1:] != speaker[:-1])) + 1
        times.extend(float(start) + frame_start + frame * frame_step for frame in change)
    return np.asarray(sorted(times), dtype=np.float64)


def cut_regions(
    regions: Sequence[tuple[float, float]], cuts: npt.NDArray[np.float64], min_piece_s: float
) -> list[tuple[float, float]]:
    """Regions split at ``cuts``; a cut that would leave a piece shorter than ``min_piece_s`` is skipped."""
    pieces: list[tuple[float, float]] = []
    for start, end in regions:
        left = start
        for cut in cuts[(cuts > start) & (cuts < end)]:
            if cut - left >= min_piece_s and end - cut >= min_piece_s:
                pieces.append((left, float(cut)))
                left = float(cut)
        pieces.append((left, end))
    return pieces


def with_overlap(
    exclusive: Sequence[SpeakerTurn], overlaps: Sequence[tuple[float, float]]
) -> tuple[SpeakerTurn, ...]:
    """Overlap-aware turns: where the segmentation model hears two voices at once, the speakers of the
    exclusive turns there talk throughout it; when only one does, so does the nearest other speaker (overlap
    happens at handovers: one starts before the other ends)."""
    added: list[SpeakerTurn] = []
    for start, end in overlaps:
        inside = [t for t in exclusive if t.start < end and t.end > start]
        speakers = {t.speaker for t in inside}
        if len(speakers) == 1:
            others = [t for t in exclusive if t.speaker not in speakers]
            if others:
                nearest = min(others, key=lambda t: max(t.start - end, start - t.end, 0.0))
                speakers.add(nearest.speaker)
        if len(speakers) >= 2:
            added += [SpeakerTurn(start=start, end=end, speaker=speaker) for speaker in speakers]
    merged: list[SpeakerTurn] = []
    for turn in sorted([*exclusive, *added], key=lambda t: (t.speaker, t.start)):
        if merged and merged[-1].speaker == turn.speaker and turn.start <= merged[-1].end:
            merged[-1] = SpeakerTurn(
                start=merged[-1].start, end=max(merged[-1].end, turn.end), speaker=turn.speaker
            )
        else:
            merged.append(turn)
    return tuple(sorted(merged, key=lambda t: (t.start, t.end)))
