"""Speech regions by faster-whisper's own rules: the same probabilities give the same regions, sample for sample."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dealtalk.transcription.vad import FRAME_SAMPLES, VadOptions, speech_regions


def _faster_whisper_regions(probs: np.ndarray[Any, Any], num_samples: int) -> list[tuple[int, int]]:
    """faster-whisper's get_speech_timestamps with the batched pipeline's options, fed ``probs``."""
    import faster_whisper.vad as fw_vad

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fw_vad, "get_vad_model", lambda: lambda audio: probs.reshape(-1, 1))
        options = fw_vad.VadOptions(max_speech_duration_s=30, min_silence_duration_ms=160)
        found = fw_vad.get_speech_timestamps(np.zeros(num_samples, dtype=np.float32), options)
    return [(int(t["start"]), int(t["end"])) for t in found]


def _ours(probs: np.ndarray[Any, Any], num_samples: int) -> list[tuple[int, int]]:
    return [(round(r.start * 16000), round(r.end * 16000)) for r in speech_regions(probs, num_samples)]


# Runs of speech-like and silence-like frames, long enough to cross every rule (30 s cut, 160 ms pause).
_runs = st.lists(
    st.tuples(
        st.sampled_from([0.05, 0.2, 0.4, 0.6, 0.9]), st.one_of(st.integers(1, 16), st.integers(16, 1200))
    ),
    min_size=1,
    max_size=16,
)


@settings(max_examples=150, deadline=None)
@given(runs=_runs, extra=st.integers(0, FRAME_SAMPLES - 1))
def test_regions_equal_faster_whispers_on_any_probabilities(
    runs: list[tuple[float, int]], extra: int
) -> None:
    probs = np.concatenate([np.full(frames, p, dtype=np.float32) for p, frames in runs])
    num_samples = (len(probs) - 1) * FRAME_SAMPLES + extra
    assert _ours(probs, num_samples) == _faster_whisper_regions(probs, num_samples)


def test_a_monologue_is_cut_before_thirty_seconds_at_a_pause() -> None:
    frames_per_s = 16000 / FRAME_SAMPLES
    probs = np.full(int(70 * frames_per_s), 0.9, dtype=np.float32)
    probs[int(20 * frames_per_s) : int(20.2 * frames_per_s)] = 0.1  # a 200 ms breath at 20 s
    regions = speech_regions(probs, len(probs) * FRAME_SAMPLES)
    assert len(regions) >= 3 and all(r.duration <= 30.0 for r in regions)
    assert abs(regions[0].end - 20.0) < 0.5
    assert speech_regions(np.zeros(100, dtype=np.float32), 100 * FRAME_SAMPLES) == []


def test_short_pauses_do_not_split_and_padding_is_shared() -> None:
    frames_per_s = 16000 / FRAME_SAMPLES
    probs = np.zeros(int(10 * frames_per_s), dtype=np.float32)
    probs[int(1 * frames_per_s) : int(3 * frames_per_s)] = 0.9
    probs[int(3.1 * frames_per_s) : int(4 * frames_per_s)] = 0.9  # 100 ms pause: one region
    probs[int(4.5 * frames_per_s) : int(6 * frames_per_s)] = 0.9  # 500 ms pause: two, the silence split
    probs[int(6.25 * frames_per_s) : int(7 * frames_per_s)] = 0.9  # 250 ms pause: a third
    regions = speech_regions(probs, len(probs) * FRAME_SAMPLES, VadOptions())
    assert len(regions) == 3
    assert regions[0].end == regions[1].start and regions[1].end == regions[2].start
