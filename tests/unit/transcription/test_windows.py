"""Short-window diarization pieces: speech regions, windows, turns from window labels, spectral clustering."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dealtalk.transcription.clustering import spectral_labels, spectral_labels_bounded
from dealtalk.transcription.types import SpeakerTurn
from dealtalk.transcription.windows import (
    WindowOptions,
    active_regions,
    cut_regions,
    local_speaker_changes,
    speech_windows,
    window_turns,
    with_overlap,
)


def test_active_frames_become_regions_with_their_frame_times() -> None:
    active = np.array([False, True, True, False, False, True, False, True, True, True])
    starts = np.arange(10, dtype=np.float64) * 0.5
    assert active_regions(active, starts, 0.5) == [(0.5, 1.5), (2.5, 3.0), (3.5, 5.0)]
    assert active_regions(np.zeros(4, dtype=bool), starts[:4], 0.5) == []


def test_windows_step_through_a_region_and_the_last_one_ends_with_it() -> None:
    windows = speech_windows([(0.0, 4.0), (5.0, 6.0), (7.0, 7.1)])
    assert windows.tolist() == [
        [0.0, 1.5],
        [0.75, 2.25],
        [1.5, 3.0],
        [2.25, 3.75],
        [2.5, 4.0],
        [5.0, 6.0],  # shorter than a window: one window
    ]  # 7.0-7.1 is shorter than min_region_s: no window


@given(
    st.lists(
        st.tuples(st.floats(0.0, 600.0), st.floats(0.05, 40.0)).map(lambda p: (p[0], p[0] + p[1])),
        max_size=12,
    )
)
def test_windows_stay_inside_their_region_and_cover_it(spans: list[tuple[float, float]]) -> None:
    # Disjoint regions in time order.
    regions: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        if not regions or start > regions[-1][1]:
            regions.append((start, end))
    opts = WindowOptions()
    windows = speech_windows(regions, opts)
    for start, end in regions:
        inside = windows[(windows[:, 0] >= start - 1e-9) & (windows[:, 1] <= end + 1e-9)]
        if end - start < opts.min_region_s:
            assert len(inside) == 0
            continue
        assert len(inside) >= 1
        assert inside[0, 0] == pytest.approx(start) and inside[-1, 1] == pytest.approx(end)
        assert np.all(inside[:, 1] - inside[:, 0] <= opts.length_s + 1e-9)
        assert np.all(inside[1:, 0] <= inside[:-1, 1] + 1e-9)  # no hole inside a region
    assert len(windows) == sum(
        0
        if e - s < opts.min_region_s
        else 1
        if e - s <= opts.length_s
        else len(np.arange(s, e - opts.length_s, opts.shift_s)) + 1
        for s, e in regions
    )


def test_a_speaker_change_between_overlapping_windows_falls_in_the_middle_of_their_overlap() -> None:
    windows = np.array([[0.0, 1.5], [0.75, 2.25], [1.5, 3.0], [2.25, 3.75], [6.0, 7.0], [7.2, 8.0]])
    labels = np.array([0, 0, 1, 1, 1, 0])
    turns = window_turns(windows, labels, min_duration_off=0.5)
    assert [(t.start, t.end, t.speaker) for t in turns] == [
        (0.0, 1.875, 0),
        (1.875, 3.75, 1),
        (6.0, 7.0, 1),  # 2.25 s of silence before it: a new turn
        (7.2, 8.0, 0),
    ]
    joined = window_turns(windows[4:], np.array([1, 1]), min_duration_off=0.5)
    assert [(t.start, t.end) for t in joined] == [(6.0, 8.0)]


def test_handovers_between_local_speakers_are_found_in_every_chunk() -> None:
    segmentations = np.zeros((2, 6, 3), dtype=np.float32)
    segmentations[0, 0:3, 0] = 1  # speaker 0, then speaker 1 right after: a handover at frame 3
    segmentations[0, 3:6, 1] = 1
    segmentations[1, 0:2, 2] = 1  # a pause (frame 2) between two speakers is no handover
    segmentations[1, 3:6, 0] = 1
    changes = local_speaker_changes(segmentations, np.array([0.0, 10.0]), frame_step=0.5, frame_start=0.25)
    assert changes.tolist() == [1.75]


def test_regions_are_cut_where_both_pieces_keep_enough_speech() -> None:
    regions = [(0.0, 4.0), (5.0, 6.0)]
    cuts = np.array([0.2, 1.5, 1.7, 3.0, 5.5])
    assert cut_regions(regions, cuts, min_piece_s=0.5) == [
        (0.0, 1.5),
        (1.5, 3.0),
        (3.0, 4.0),
        (5.0, 5.5),
        (5.5, 6.0),
    ]
    assert cut_regions(regions, cuts, min_piece_s=0.6) == [(0.0, 1.5), (1.5, 3.0), (3.0, 4.0), (5.0, 6.0)]


def test_two_voices_at_once_add_the_turn_of_the_nearest_other_speaker() -> None:
    exclusive = (
        SpeakerTurn(start=0.0, end=3.0, speaker=0),
        SpeakerTurn(start=3.0, end=6.0, speaker=1),
        SpeakerTurn(start=9.0, end=10.0, speaker=2),
    )
    turns = with_overlap(exclusive, [(2.6, 3.4), (5.0, 5.6)])
    assert [(t.start, t.end, t.speaker) for t in turns] == [
        (0.0, 3.4, 0),  # speaker 0 goes on while speaker 1 starts
        (2.6, 6.0, 1),  # ... and speaker 1 starts early
        (5.0, 5.6, 0),  # only speaker 1 in the stretch: the nearest other speaker (0, not 2) joins
        (9.0, 10.0, 2),
    ]
    assert with_overlap(exclusive, []) == exclusive
    assert with_overlap(exclusive[:1], [(1.0, 2.0)]) == exclusive[:1]  # nobody else to add


def _voices(
    rng: np.random.Generator, speakers: int, per_speaker: int, noise: float
) -> tuple[np.ndarray, np.ndarray]:
    directions = rng.normal(0.0, 1.0, (speakers, 192))
    truth = np.repeat(np.arange(speakers), per_speaker)
    return directions[truth] + rng.normal(0.0, noise, (len(truth), 192)), truth


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    return all((a[i] == a[j]) == (b[i] == b[j]) for i, j in itertools.combinations(range(len(a)), 2))


@pytest.mark.parametrize("speakers", [2, 3, 4])
def test_spectral_clustering_finds_separated_voices_with_and_without_the_count(speakers: int) -> None:
    embeddings, truth = _voices(np.random.default_rng(speakers), speakers, 30, noise=0.8)
    given_count = spectral_labels(
        embeddings, num_clusters=speakers, min_clusters=speakers, max_clusters=speakers, neighbours=0.1
    )
    assert _same_partition(given_count, truth)
    guessed = spectral_labels(embeddings, num_clusters=None, min_clusters=1, max_clusters=10, neighbours=0.1)
    assert _same_partition(guessed, truth)
    again = spectral_labels(embeddings, num_clusters=None, min_clusters=1, max_clusters=10, neighbours=0.1)
    assert np.array_equal(guessed, again)


def test_spectral_clustering_keeps_a_given_count_and_numbers_clusters_by_first_appearance() -> None:
    embeddings, _ = _voices(np.random.default_rng(7), 2, 20, noise=0.8)
    labels = spectral_labels(embeddings[::-1], num_clusters=3, min_clusters=3, max_clusters=3, neighbours=0.2)
    assert sorted(set(labels.tolist())) == [0, 1, 2] and labels[0] == 0
    first = [int(np.flatnonzero(labels == k)[0]) for k in range(3)]
    assert first == sorted(first)


def test_a_long_call_clusters_a_subset_and_gives_every_window_the_nearest_centroid() -> None:
    embeddings, truth = _voices(np.random.default_rng(5), 3, 200, noise=0.8)
    order = np.random.default_rng(6).permutation(len(truth))
    labels = spectral_labels_bounded(
        embeddings[order], num_clusters=3, min_clusters=3, max_clusters=3, neighbours=0.1, max_points=60
    )
    assert len(labels) == 600 and _same_partition(labels[:80], truth[order][:80])
    assert _same_partition(labels[::7], truth[order][::7])


def test_too_few_embeddings_are_one_speaker() -> None:
    embeddings, _ = _voices(np.random.default_rng(1), 3, 1, noise=0.1)
    assert spectral_labels(
        embeddings, num_clusters=None, min_clusters=1, max_clusters=5, neighbours=0.2
    ).tolist() == [
        0,
        0,
        0,
    ]


def test_window_embeddings_refuse_a_clustering_they_cannot_use() -> None:
    from dealtalk.transcription.diarization_types import DiarizationOptions

    with pytest.raises(ValueError, match="spectral"):
        DiarizationOptions(embedding="windows", clustering="agglomerative")
    assert DiarizationOptions(embedding="chunks", clustering="spectral").clustering == "spectral"
