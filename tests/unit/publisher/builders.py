"""Hand-built inputs of the publish stage, shared by unit and integration tests."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from dealtalk.contracts.documents import (
    ActionItemDoc,
    CallKpisDoc,
    CallResult,
    HealthDoc,
    KpisDoc,
    MeetingInfo,
    Participant,
    RiskDoc,
    SegmentDoc,
    SentimentDoc,
    SpeakerDoc,
    SpeakerKpisDoc,
)
from dealtalk.samples import CALLS_DIR

SAMPLES = CALLS_DIR


def meeting_from_sidecar(path: Path) -> MeetingInfo:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return MeetingInfo(
        subject=raw["subject"],
        organizer=Participant(**raw["organizer"], role="seller", is_organizer=True),
        attendees=tuple(Participant(**a) for a in raw["attendees"]),
        start_time=raw["start_time"],
        join_url=raw["join_url"],
        online_meeting_id=raw["online_meeting_id"],
        locale=raw["locale"],
    )


def sample_meetings() -> dict[str, MeetingInfo]:
    """The three sample calls' meetings, keyed northwind / brightlab / zuidhaven."""
    return {
        p.name.split("-")[-1].split(".")[0]: meeting_from_sidecar(p) for p in SAMPLES.glob("*.meeting.json")
    }


def _segment(start: float, end: float, speaker: str, role: str, label: str, score: float) -> SegmentDoc:
    return SegmentDoc(
        start=start,
        end=end,
        speaker=speaker,
        role=role,
        language="nl",
        text="…",
        sentiment=SentimentDoc(label=label, score=score),
    )


def build_result(
    *, call_id: str = "rec-2026-11-16-zuidhaven", summary: str = "Prijs per m² besproken."
) -> CallResult:
    speakers = (
        SpeakerDoc(id="S1", name="Eva de Vries", email="eva.devries@schoonenberg.nl", role="seller"),
        SpeakerDoc(id="S2", name="Pieter van Dam", email="p.vandam@zuidhaven.nl", role="customer"),
    )
    segments = (
        _segment(0.6, 10.4, "S1", "seller", "positive", 0.9),
        _segment(11.2, 18.9, "S2", "customer", "neutral", 0.8),
        _segment(23.2, 30.2, "S2", "customer", "negative", 0.9),
    )
    per_speaker = {
        "S1": SpeakerKpisDoc(
            talk_ratio=0.58,
            words_per_minute=140,
            avg_pause_before_speaking_ms=400,
            longest_monologue_ms=9800,
            switch_count=2,
            questions=1,
        ),
        "S2": SpeakerKpisDoc(
            talk_ratio=0.42,
            words_per_minute=120,
            avg_pause_before_speaking_ms=700,
            longest_monologue_ms=7700,
            switch_count=2,
            questions=0,
        ),
    }
    return CallResult(
        call_id=call_id,
        language="nl",
        duration_s=121.9,
        models={},
        speakers=speakers,
        segments=segments,
        kpis=KpisDoc(
            call=CallKpisDoc(duration_s=121.9, switch_count=2, customer_longest_monologue_ms=7700),
            per_speaker=per_speaker,
        ),
        risks=(
            RiskDoc(
                type="competitor_mention",
                severity="medium",
                confidence=0.7,
                speaker="S2",
                start=40.0,
                end=44.0,
                quote="Hago heeft ook een offerte gestuurd.",
                segment_index=2,
            ),
            RiskDoc(
                type="price_objection",
                severity="high",
                confidence=0.91,
                speaker="S2",
                start=23.2,
                end=30.2,
                quote="we vinden de prijs per vierkante meter te hoog",
                segment_index=2,
            ),
        ),
        action_items=(
            ActionItemDoc(
                text="Herziene offerte sturen",
                owner="S1",
                due=date(2026, 11, 27),
                start=100.0,
                segment_index=2,
            ),
        ),
        summary=summary,
        health=HealthDoc(score=58),
    )
