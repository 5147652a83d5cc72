"""The report page's content without a browser: Dutch or English UI, escaping, KPI verdicts, risk markers."""

from __future__ import annotations

import re

from dealtalk.api.report_html import render_report
from dealtalk.contracts.documents import (
    CallKpisDoc,
    CallResult,
    HealthDoc,
    KpisDoc,
    ModelRef,
    RiskDoc,
    SegmentDoc,
    SentimentDoc,
    SpeakerDoc,
    SpeakerKpisDoc,
)


def _kpis(ratio: float) -> SpeakerKpisDoc:
    return SpeakerKpisDoc(
        talk_ratio=ratio,
        words_per_minute=150,
        avg_pause_before_speaking_ms=300,
        longest_monologue_ms=30_000,
        switch_count=3,
        questions=2,
        talk_time_s=60 * ratio,
    )


def _call(language: str, quote: str = "Te duur <script>alert(1)</script>") -> CallResult:
    segments = (
        SegmentDoc(
            start=0,
            end=20,
            speaker="S1",
            role="seller",
            language=language,
            text="Welkom",
            sentiment=SentimentDoc(label="positive", score=0.9),
        ),
        SegmentDoc(
            start=20,
            end=60,
            speaker="S2",
            role="customer",
            language=language,
            text=quote,
            sentiment=SentimentDoc(label="negative", score=0.8),
        ),
    )
    return CallResult(
        call_id="rec-1",
        language=language,
        duration_s=60,
        models={"asr": ModelRef(name="whisper-base", sha256="ab" * 32)},
        speakers=(
            SpeakerDoc(id="S1", name="Eva", role="seller"),
            SpeakerDoc(id="S2", name="Piet & Co", role="customer"),
        ),
        segments=segments,
        kpis=KpisDoc(
            call=CallKpisDoc(
                duration_s=60, switch_count=1, customer_longest_monologue_ms=40_000, questions_seller=1
            ),
            per_speaker={"S1": _kpis(0.33), "S2": _kpis(0.67)},
        ),
        risks=(
            RiskDoc(
                type="price_objection",
                severity="high",
                confidence=0.9,
                speaker="S2",
                start=20,
                end=60,
                quote=quote,
                segment_index=1,
            ),
        ),
        action_items=(),
        summary="Samenvatting <b>",
        health=HealthDoc(score=40),
    )


def test_a_dutch_call_gets_dutch_ui_text() -> None:
    page = render_report(_call("nl"))
    assert "<html lang='nl'>" in page
    for words in (
        "Wie sprak wanneer",
        "Sentiment in de tijd",
        "Spreektijd en KPI's",
        "Risico's (1)",
        "prijsbezwaar",
        "hoog (0.90)",
        "Gebruikte modellen",
        "Geen actiepunten gevonden.",
    ):
        assert words in page, words
    english = render_report(_call("en"))
    assert "<html lang='en'>" in english and "Who spoke when" in english and "price objection" in english
    assert "<html lang='en'>" in render_report(_call("nl"), lang="en")


def test_text_from_the_call_is_escaped_everywhere() -> None:
    page = render_report(_call("nl"), subject="<i>Deal</i>")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<b>" not in page.replace("<b>Eva</b>", "").replace("<b>Piet &amp; Co</b>", "")
    assert "&lt;i&gt;Deal&lt;/i&gt;" in page


def test_kpis_are_judged_against_their_targets() -> None:
    page = render_report(_call("en"))
    kpis = page[page.index("<table id='kpis'>") :]
    rows = re.findall(
        r"<tr><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td><td><span class='(met|missed)'", kpis
    )
    verdicts = {name: (value, target, verdict) for name, value, target, verdict in rows}
    assert verdicts["Seller talk share"] == ("33 %", "≈ 43 % (35 %–50 %)", "missed")
    assert verdicts["Customer's longest monologue"] == ("40 s", "≥ 20 s", "met")
    assert verdicts["Questions by the seller"] == ("1", "≥ 3", "missed")


def test_each_risk_is_a_marker_on_the_timeline_linking_to_its_moment() -> None:
    page = render_report(_call("en"))
    markers = re.findall(r"<a href='(#s\d+)' class='risk-marker'", page)
    assert markers == ["#s1"]
    assert "id='s1'" in page and "<p class='seg hl' id='s1'>" in page


def test_a_badly_heard_quote_and_speaker_are_marked() -> None:
    from dealtalk.publisher.report_text import describe_call

    call = _call("nl")
    badly = call.model_copy(
        update={
            "risks": (call.risks[0].model_copy(update={"evidence_quality": 0.3, "confidence": 0.39}),),
            "kpis": call.kpis.model_copy(
                update={
                    "per_speaker": {
                        "S1": _kpis(0.33),
                        "S2": _kpis(0.67).model_copy(update={"transcript_quality": 0.41}),
                    }
                }
            ),
        }
    )
    page = render_report(badly)
    assert "slecht verstaan: luister de opname terug" in page and "class='badly-heard'>0.41" in page
    assert "slecht verstaan" not in render_report(call) and "heard badly" in render_report(badly, lang="en")
    card = describe_call(badly, report_url=None, limit=4000)
    assert "[heard badly: audio quality 0.30, listen to the recording]" in card
    assert "Transcript quality: Eva 1.00, Piet & Co 0.41 (heard badly)" in card
    assert "heard badly" not in describe_call(call, report_url=None, limit=4000)


def test_the_cli_report_marks_a_badly_heard_quote_and_speaker() -> None:
    from rich.console import Console

    from dealtalk.pipeline.report import render_call

    call = _call("nl")
    badly = call.model_copy(update={"risks": (call.risks[0].model_copy(update={"evidence_quality": 0.3}),)})
    for result, marked in ((badly, True), (call, False)):
        console = Console(record=True, width=160)
        render_call(console, result)
        text = console.export_text()
        assert ("heard badly, 0.30: listen" in text) is marked
        assert "heard" in text  # the speakers table's column
