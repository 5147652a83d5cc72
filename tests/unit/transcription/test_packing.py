"""Speech packed back to back for Whisper: the chunk plan and the way back to recording time."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dealtalk.transcription.audio import SAMPLE_RATE
from dealtalk.transcription.packing import pack_speech, plan_chunks
from dealtalk.transcription.types import AsrChunk, SpeechRegion


def test_chunks_hold_at_most_thirty_seconds_of_speech_and_a_long_silence_starts_a_new_one() -> None:
    regions = [
        SpeechRegion(0.0, 10.0),
        SpeechRegion(11.0, 21.0),
        SpeechRegion(22.5, 31.5),
        SpeechRegion(32.0, 37.0),
        SpeechRegion(40.0, 45.0),
    ]
    chunks = plan_chunks(regions)
    assert [chunk.regions for chunk in chunks] == [tuple(regions[:3]), (regions[3],), (regions[4],)]
    assert chunks[0].speech_s == 29.0 and (chunks[0].start, chunks[0].end) == (0.0, 31.5)
    assert len(plan_chunks(regions, max_gap_s=10.0)) == 2


def test_a_region_longer_than_the_budget_is_a_chunk_of_its_own() -> None:
    regions = [SpeechRegion(0.0, 5.0), SpeechRegion(6.0, 40.0), SpeechRegion(41.0, 42.0)]
    assert [len(chunk.regions) for chunk in plan_chunks(regions)] == [1, 1, 1]
    assert plan_chunks([]) == []


def test_packed_audio_is_the_speech_back_to_back_and_times_map_back() -> None:
    samples = np.arange(10 * SAMPLE_RATE, dtype=np.float32)
    chunks = [AsrChunk((SpeechRegion(1.0, 2.0), SpeechRegion(5.0, 5.5))), AsrChunk((SpeechRegion(8.0, 9.0),))]
    packed = pack_speech(samples, chunks)
    assert len(packed.audio) == int(2.5 * SAMPLE_RATE)
    assert packed.audio[0] == SAMPLE_RATE and packed.audio[SAMPLE_RATE] == 5 * SAMPLE_RATE
    assert packed.clips == ((0.0, 1.5), (1.5, 2.5))
    assert packed.recording_time(0.25) == 1.25
    assert packed.recording_time(1.2) == 5.2
    assert packed.recording_time(2.0) == 8.5
    # A word that ends at the seam ends where its region ends, not where the next one starts.
    assert packed.recording_time(1.0, is_end=True) == 2.0
    assert packed.recording_time(1.0) == 5.0


@given(
    st.lists(st.tuples(st.floats(0.05, 20.0), st.floats(0.3, 12.0)), min_size=1, max_size=12),
    st.floats(0.0, 1.0),
)
def test_every_packed_time_lands_inside_the_speech_it_came_from(
    spans: list[tuple[float, float]], fraction: float
) -> None:
    regions, at = [], 0.0
    for gap, length in spans:
        regions.append(SpeechRegion(round(at + gap, 3), round(at + gap + length, 3)))
        at = regions[-1].end
    samples = np.zeros(int((at + 1.0) * SAMPLE_RATE), dtype=np.float32)
    chunks = plan_chunks(regions)
    packed = pack_speech(samples, chunks)
    assert sum(chunk.speech_s for chunk in chunks) == pytest.approx(
        sum(region.duration for region in regions)
    )
    clip_start, clip_end = packed.clips[-1]
    time = packed.recording_time(clip_start + fraction * (clip_end - clip_start))
    assert any(region.start - 1e-3 <= time <= region.end + 1e-3 for region in chunks[-1].regions)
    times = [packed.recording_time(t / 10) for t in range(int(packed.clips[-1][1] * 10))]
    assert times == sorted(times)
