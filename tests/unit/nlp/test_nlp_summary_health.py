"""Summary in the call's language, call health with reasons, and the opportunity trend."""

from __future__ import annotations

from datetime import date

import pytest

from dealtalk.contracts.documents import (
    ActionItemDoc,
    HealthDoc,
    RiskDoc,
    SegmentDoc,
    SentimentDoc,
)
from dealtalk.nlp.health import call_health, health_trend
from dealtalk.nlp.kpis import compute_kpis
from dealtalk.nlp.summary import SummaryFacts, TemplateSummary, summary_language

ROLES = {"S1": "seller", "S2": "customer"}


def segments(lang: str) -> list[SegmentDoc]:
    texts = {
        "nl": ["Hoe bevalt de schoonmaak?", "De prijs is te hoog.", "Ik stuur u vrijdag een nieuwe offerte."],
        "en": [
            "How is the cleaning going?",
            "The price is too high.",
            "I'll send you a new quote on Friday.",
        ],
    }[lang]
    speakers = ["S1", "S2", "S1"]
    return [
        SegmentDoc(start=i * 5.0, end=i * 5.0 + 4.0, speaker=s, role=ROLES[s], language=lang, text=t)
        for i, (s, t) in enumerate(zip(speakers, texts, strict=True))
    ]


def facts(lang: str) -> SummaryFacts:
    segs = segments(lang)
    risk = RiskDoc(
        type="price_objection", severity="high", confidence=0.9, speaker="S2", start=5.0, end=9.0,
        quote=segs[1].text, segment_index=1, source="rule",
    )  # fmt: skip
    item = ActionItemDoc(text=segs[2].text, owner="S1", due=date(2026, 11, 20), start=10.0, segment_index=2)
    sentiments = [SentimentDoc(label=label, score=0.9) for label in ("neutral", "negative", "neutral")]
    kpis = compute_kpis(segs, duration_s=15.0, roles=ROLES)
    health = call_health(
        risks=[risk],
        sentiments=sentiments,
        customer_segments=[1],
        kpis=kpis,
        action_items=[item],
        seller_ids=["S1"],
    )
    return SummaryFacts(
        lang, 15.0, segs, sentiments, ROLES, {"S1": "Eva", "S2": "Pieter"}, [risk], [item], kpis, health
    )


def test_dutch_summary() -> None:
    text = TemplateSummary().summarize(facts("nl"))
    assert "Risico's: prijsbezwaar (hoog, 00:05)" in text
    assert 'Klant: "De prijs is te hoog."' in text
    assert "Eva: Ik stuur u vrijdag een nieuwe offerte. (uiterlijk 2026-11-20)" in text
    assert "Gezondheid" in text and "Health" not in text


def test_english_summary() -> None:
    text = TemplateSummary().summarize(facts("en"))
    assert "Risks: price objection (high, 00:05)" in text
    assert 'Customer: "The price is too high."' in text
    assert "Next steps: Eva: I'll send you a new quote on Friday. (due 2026-11-20)" in text
    assert "Risico" not in text


def test_summary_language_follows_the_words() -> None:
    mixed = [*segments("nl")[:2], segments("en")[2]]
    assert summary_language(mixed, "und") == "nl"
    assert summary_language(segments("en"), "nl") == "en"
    undetermined = [s.model_copy(update={"language": "und"}) for s in segments("en")]
    assert summary_language(undetermined, "und") == "en"


def test_health_explains_itself() -> None:
    health = facts("nl").health
    assert 0 <= health.score <= 100
    reasons = {r.reason: r.delta for r in health.reasons}
    assert reasons["high risk: price_objection"] < 0
    assert reasons["next steps agreed (1)"] > 0
    assert health.score == round(70 + sum(reasons.values()))


def test_trend_directions() -> None:
    rising = [(date(2026, 9, 1), HealthDoc(score=40)), (date(2026, 10, 1), HealthDoc(score=60))]
    trend = health_trend(list(reversed(rising)))
    assert trend.direction == "improving" and trend.latest == 60 and trend.change == 20
    assert [p.score for p in trend.points] == [40, 60]
    assert trend.slope_per_30d == pytest.approx(20.0, abs=1.0)
    falling = [(date(2026, 9, 1), HealthDoc(score=80)), (date(2026, 11, 1), HealthDoc(score=50))]
    assert health_trend(falling).direction == "declining"
    flat = [(date(2026, 9, 1), HealthDoc(score=70)), (date(2026, 12, 1), HealthDoc(score=71))]
    assert health_trend(flat).direction == "stable"
    assert health_trend([]).direction == "unknown"
    assert health_trend(rising[:1]).direction == "unknown"
    same_day = [(date(2026, 9, 1), HealthDoc(score=70)), (date(2026, 9, 1), HealthDoc(score=50))]
    assert health_trend(same_day).latest in (50, 70)
