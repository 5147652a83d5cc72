"""KPI maths: hand-checked values and properties (shares sum to 1, invariance under a time shift)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dealtalk.contracts.documents import SegmentDoc
from dealtalk.nlp.kpis import compute_kpis, turns_of


def seg(speaker: str, start: float, end: float, text: str = "een twee drie vier") -> SegmentDoc:
    return SegmentDoc(start=start, end=end, speaker=speaker, role="unknown", language="nl", text=text)


ROLES = {"S1": "seller", "S2": "customer", "S3": "customer"}


def test_hand_checked_call() -> None:
    segments = [
        seg("S1", 0.0, 10.0, "Goedemorgen, hoe gaat het? Wat vindt u van de offerte?"),
        seg("S2", 11.0, 31.0, "Te duur. " * 10),
        seg("S1", 30.5, 40.0, "Dat begrijp ik."),
        seg("S1", 41.0, 45.0, "Zullen we volgende week verder praten?"),
    ]
    kpis = compute_kpis(segments, duration_s=50.0, roles=ROLES)
    s1, s2 = kpis.per_speaker["S1"], kpis.per_speaker["S2"]
    assert s1.talk_time_s == pytest.approx(23.5)
    assert s2.talk_time_s == pytest.approx(20.0)
    assert s1.talk_ratio == pytest.approx(23.5 / 43.5)
    assert s2.longest_monologue_ms == pytest.approx(20_000)
    assert s1.longest_monologue_ms == pytest.approx(14_500)  # 30.5 -> 45.0 is one turn
    assert s2.avg_pause_before_speaking_ms == pytest.approx(1000)
    assert s1.avg_pause_before_speaking_ms == pytest.approx(0)  # it overlapped
    assert s1.interruptions == 1
    assert kpis.call.switch_count == 2
    assert s1.questions == 3 and s2.questions == 0
    assert kpis.call.questions_seller == 3 and kpis.call.questions_others == 0
    assert kpis.call.customer_longest_monologue_ms == pytest.approx(20_000)
    assert s2.words_per_minute == pytest.approx(20 / (20 / 60))
    assert kpis.call.overlap_share == pytest.approx(0.5 / 50)
    assert kpis.call.silence_share == pytest.approx(1 - 43.0 / 50)


def test_empty_transcript_gives_zeros() -> None:
    kpis = compute_kpis([], duration_s=0.0, roles={})
    assert kpis.per_speaker == {}
    assert kpis.call.switch_count == 0 and kpis.call.duration_s == 0.0


def test_noise_only_segment_counts_no_words() -> None:
    kpis = compute_kpis([seg("S1", 0, 6, "[muziek] 🎵 (gelach) eh")], duration_s=6.0, roles=ROLES)
    assert kpis.per_speaker["S1"].words_per_minute == 0.0
    assert kpis.per_speaker["S1"].talk_ratio == 1.0


segment_lists = st.lists(
    st.tuples(
        st.sampled_from(["S1", "S2", "S3"]),
        st.floats(min_value=0, max_value=500, allow_nan=False),
        st.floats(min_value=0.01, max_value=60, allow_nan=False),
    ),
    min_size=1,
    max_size=25,
).map(
    # ASR timestamps have 10 ms resolution; rounding keeps ties exact under a shift, as they are in real data.
    lambda items: [seg(s, round(start, 2), round(start, 2) + round(length, 2)) for s, start, length in items]
)


@settings(max_examples=150, deadline=None)
@given(segment_lists)
def test_talk_ratios_sum_to_one(segments: list[SegmentDoc]) -> None:
    kpis = compute_kpis(segments, duration_s=0.0, roles=ROLES)
    assert sum(k.talk_ratio for k in kpis.per_speaker.values()) == pytest.approx(1.0)
    assert 0.0 <= kpis.call.silence_share <= 1.0
    assert 0.0 <= kpis.call.overlap_share <= 1.0


@settings(max_examples=150, deadline=None)
@given(segment_lists, st.integers(min_value=0, max_value=1_000_000).map(lambda ms: ms / 100))
def test_invariant_under_time_shift(segments: list[SegmentDoc], shift: float) -> None:
    duration = max(s.end for s in segments) + 5.0
    moved = [s.model_copy(update={"start": s.start + shift, "end": s.end + shift}) for s in segments]
    before = compute_kpis(segments, duration_s=duration, roles=ROLES)
    after = compute_kpis(moved, duration_s=duration + shift, roles=ROLES)
    for speaker, kpi in before.per_speaker.items():
        other = after.per_speaker[speaker]
        assert other.talk_ratio == pytest.approx(kpi.talk_ratio, abs=1e-6)
        assert other.longest_monologue_ms == pytest.approx(kpi.longest_monologue_ms, abs=1e-3)
        assert other.avg_pause_before_speaking_ms == pytest.approx(kpi.avg_pause_before_speaking_ms, abs=1e-3)
        assert other.switch_count == kpi.switch_count
    assert after.call.switch_count == before.call.switch_count


@settings(max_examples=100, deadline=None)
@given(segment_lists)
def test_switches_and_turns_agree(segments: list[SegmentDoc]) -> None:
    kpis = compute_kpis(segments, duration_s=0.0, roles=ROLES)
    turns = turns_of(segments)
    assert kpis.call.switch_count == len(turns) - 1
    assert sum(k.switch_count for k in kpis.per_speaker.values()) == len(turns) - 1
    assert all(a.speaker != b.speaker for a, b in itertools.pairwise(turns))


@settings(max_examples=100, deadline=None)
@given(segment_lists)
def test_order_of_segments_does_not_matter(segments: list[SegmentDoc]) -> None:
    forward = compute_kpis(segments, duration_s=0.0, roles=ROLES)
    backward = compute_kpis(list(reversed(segments)), duration_s=0.0, roles=ROLES)
    for speaker, kpi in forward.per_speaker.items():
        assert backward.per_speaker[speaker].talk_time_s == pytest.approx(kpi.talk_time_s)
