"""Conversation KPIs with the definitions Dynamics 365 conversation intelligence uses.

Per participant: talk-to-listen ratio, talking speed, average pause before speaking, longest monologue, switch
count, questions; per call: duration, switch count, the customer's longest monologue, questions by the seller
and by others, plus silence and overlap shares and interruptions. Pure functions over segment intervals.

Definitions (our reading of D365's, made exact):

* a *turn* is a run of consecutive segments (in start order) of one speaker; a monologue is a turn's span;
* talk time is the union of a speaker's segment intervals; talk ratios are shares of the summed talk time, so
  they add up to 1 over the speakers who spoke;
* the pause before speaking is the gap between the previous turn's end and this turn's start (0 when they
  overlap), averaged over the speaker's turns that follow another speaker's turn;
* a switch is a turn change; a speaker's switch count is how often they took the floor;
* an interruption is a turn that starts more than ``interrupt_tolerance_s`` before the previous turn ended;
* silence and overlap shares are fractions of the call's duration with no one, or two or more, speaking.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dealtalk.contracts.documents import CallKpisDoc, KpisDoc, SegmentDoc, SpeakerKpisDoc
from dealtalk.contracts.evidence import speaker_quality
from dealtalk.nlp.text import is_question, sentences, word_count

__all__ = ["KpiOptions", "Turn", "compute_kpis", "turns_of"]


@dataclass(frozen=True, slots=True)
class KpiOptions:
    # Overlaps shorter than this are backchannel or diarization jitter, not interruptions.
    interrupt_tolerance_s: float = 0.3


@dataclass(frozen=True, slots=True)
class Turn:
    speaker: str
    start: float
    end: float


def turns_of(segments: Sequence[SegmentDoc]) -> list[Turn]:
    """Merge consecutive segments of one speaker (in start order) into turns."""
    turns: list[Turn] = []
    for segment in sorted(segments, key=lambda s: (s.start, s.end)):
        if turns and turns[-1].speaker == segment.speaker:
            last = turns[-1]
            turns[-1] = Turn(last.speaker, last.start, max(last.end, segment.end))
        else:
            turns.append(Turn(segment.speaker, segment.start, max(segment.start, segment.end)))
    return turns


def _merge(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sorted, non-overlapping intervals covering the same time."""
    merged: list[tuple[float, float]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _union_length(intervals: list[tuple[float, float]]) -> float:
    return sum(end - start for start, end in _merge(intervals))


def _coverage(intervals: list[tuple[float, float]], at_least: int) -> float:
    """Total time covered by at least ``at_least`` of the intervals (a sweep over start/end events)."""
    events = sorted([(s, 1) for s, e in intervals if e > s] + [(e, -1) for s, e in intervals if e > s])
    covered, depth, previous = 0.0, 0, 0.0
    for time, step in events:
        if depth >= at_least:
            covered += time - previous
        depth += step
        previous = time
    return covered


def compute_kpis(
    segments: Sequence[SegmentDoc],
    *,
    duration_s: float,
    roles: dict[str, str],
    options: KpiOptions | None = None,
) -> KpisDoc:
    """KPIs for one call.

    Args:
        segments: the transcript's segments (any order).
        duration_s: the recording's duration; 0 or less means "until the last segment ends".
        roles: speaker id -> "seller" | "customer" | "unknown".
        options: tolerances.

    Returns:
        call-level and per-speaker KPIs; an empty transcript gives zeros and no speakers.
    """
    options = options or KpiOptions()
    spoken = [s for s in segments if s.end > s.start]
    last_end = max((s.end for s in spoken), default=0.0)
    first_start = min((s.start for s in spoken), default=0.0)
    duration = duration_s if duration_s > 0 else max(0.0, last_end - min(first_start, 0.0))
    duration = max(duration, last_end - min(first_start, 0.0)) if spoken else duration

    by_speaker: dict[str, list[SegmentDoc]] = {}
    for segment in spoken:
        by_speaker.setdefault(segment.speaker, []).append(segment)
    talk = {spk: _union_length([(s.start, s.end) for s in segs]) for spk, segs in by_speaker.items()}
    total_talk = sum(talk.values())

    turns = turns_of(spoken)
    pauses: dict[str, list[float]] = {spk: [] for spk in by_speaker}
    switches = dict.fromkeys(by_speaker, 0)
    interruptions = dict.fromkeys(by_speaker, 0)
    longest = dict.fromkeys(by_speaker, 0.0)
    for index, turn in enumerate(turns):
        longest[turn.speaker] = max(longest[turn.speaker], turn.end - turn.start)
        if index == 0:
            continue
        previous = turns[index - 1]
        switches[turn.speaker] += 1
        pauses[turn.speaker].append(max(0.0, turn.start - previous.end))
        if turn.start < previous.end - options.interrupt_tolerance_s:
            interruptions[turn.speaker] += 1

    questions = {spk: sum(is_question(s.text) for seg in segs for s in sentences(seg.text)) for spk, segs in
                 by_speaker.items()}  # fmt: skip
    heard = speaker_quality(spoken)
    per_speaker: dict[str, SpeakerKpisDoc] = {}
    for spk, segs in by_speaker.items():
        minutes = talk[spk] / 60.0
        words = sum(word_count(s.text) for s in segs)
        per_speaker[spk] = SpeakerKpisDoc(
            talk_ratio=talk[spk] / total_talk if total_talk > 0 else 0.0,
            words_per_minute=words / minutes if minutes > 0 else 0.0,
            avg_pause_before_speaking_ms=1000.0 * sum(pauses[spk]) / len(pauses[spk]) if pauses[spk] else 0.0,
            longest_monologue_ms=1000.0 * longest[spk],
            switch_count=switches[spk],
            questions=questions[spk],
            talk_time_s=talk[spk],
            interruptions=interruptions[spk],
            transcript_quality=heard.get(spk, 1.0),
        )

    intervals = [(s.start, s.end) for s in spoken]
    speech = _union_length(intervals)
    # Overlap between speakers: each speaker's own intervals are merged first, so that two ASR segments of one
    # person that touch do not count as crosstalk.
    own = [i for segs in by_speaker.values() for i in _merge([(s.start, s.end) for s in segs])]
    overlap = _coverage(own, 2)
    customer_longest = max((longest[s] for s in by_speaker if roles.get(s) == "customer"), default=0.0)
    call = CallKpisDoc(
        duration_s=duration,
        switch_count=max(0, len(turns) - 1),
        customer_longest_monologue_ms=1000.0 * customer_longest,
        questions_seller=sum(q for s, q in questions.items() if roles.get(s) == "seller"),
        questions_others=sum(q for s, q in questions.items() if roles.get(s) != "seller"),
        silence_share=_clamp01(1.0 - speech / duration) if duration > 0 else 0.0,
        overlap_share=_clamp01(overlap / duration) if duration > 0 else 0.0,
        interruptions=sum(interruptions.values()),
    )
    return KpisDoc(call=call, per_speaker=per_speaker)


def _clamp01(value: float) -> float:
    return min(1.0, max(0.0, value))
