"""The insight engine on real models: sample calls, every risk label through the union, bad input."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from dealtalk.contracts.config import Settings
from dealtalk.contracts.documents import CallResult, SegmentDoc, SpeakerDoc, TranscriptDoc
from dealtalk.contracts.errors import InvalidInput
from dealtalk.nlp.engine import DealtalkInsightEngine
from dealtalk.nlp.evaluation import evaluate
from dealtalk.nlp.protocols import InsightContext
from dealtalk.samples import CALLS_DIR

pytestmark = pytest.mark.models

ROOT = Path(__file__).resolve().parents[3]
CALLS = CALLS_DIR
SELLER_DOMAIN = "schoonenberg.nl"


def sample_transcript(name: str) -> TranscriptDoc:
    """A sample call's reference script as a transcript (roles from the meeting's e-mail domains)."""
    ref = json.loads((CALLS / f"{name}.ref.json").read_text(encoding="utf-8"))
    meeting = json.loads((CALLS / f"{name}.meeting.json").read_text(encoding="utf-8"))
    people = [meeting.get("organizer") or {}, *meeting.get("attendees", [])]
    sellers = {p["name"] for p in people if p and p.get("email", "").endswith(SELLER_DOMAIN)}
    ids: dict[str, str] = {}
    speakers = []
    for turn in ref["turns"]:
        if turn["speaker"] not in ids:
            ids[turn["speaker"]] = f"S{len(ids) + 1}"
            role = "seller" if turn["name"] in sellers else "customer"
            speakers.append(SpeakerDoc(id=ids[turn["speaker"]], name=turn["name"], role=role))
    role_of = {s.id: s.role for s in speakers}
    segments = tuple(
        SegmentDoc(
            start=t["start"],
            end=t["end"],
            speaker=ids[t["speaker"]],
            role=role_of[ids[t["speaker"]]],
            language=t["language"],
            text=t["text"],
        )
        for t in ref["turns"]
    )
    return TranscriptDoc(
        call_id=name, language=segments[0].language, duration_s=ref["duration_s"], speakers=tuple(speakers),
        segments=segments,
    )  # fmt: skip


def transcript(texts: list[tuple[str, str]], *, language: str = "nl") -> TranscriptDoc:
    roles = {"S1": "seller", "S2": "customer"}
    segments = tuple(
        SegmentDoc(
            start=i * 4.0,
            end=i * 4.0 + 3.5,
            speaker=s,
            role=roles.get(s, "unknown"),
            language=language,
            text=t,
        )
        for i, (s, t) in enumerate(texts)
    )
    speakers = tuple(
        SpeakerDoc(id=s, name=s, role=roles.get(s, "unknown")) for s in dict.fromkeys(x for x, _ in texts)
    )
    return TranscriptDoc(
        call_id="t", language=language, duration_s=len(texts) * 4.0, speakers=speakers, segments=segments
    )


@pytest.mark.parametrize("name", ["call-nl-zuidhaven", "call-en-northwind", "call-mixed-brightlab"])
def test_sample_calls_give_complete_insights(engine: DealtalkInsightEngine, name: str) -> None:
    doc = sample_transcript(name)
    insights = engine.analyze(doc, InsightContext(call_date=date(2026, 11, 16)))
    result = CallResult.join(doc, insights)  # sentiments align 1:1 with segments
    assert len(result.segments) == len(doc.segments)
    assert insights.risks, "a sales call with objections yields risk signals"
    for risk in insights.risks:
        segment = doc.segments[risk.segment_index]
        assert risk.quote and risk.quote in segment.text
        assert segment.start - 1e-6 <= risk.start <= risk.end <= segment.end + 1e-6
        assert segment.role != "seller" or risk.type in {
            "timeline_slip", "decision_maker_absent", "stakeholder_change", "procurement_tender",
        }  # fmt: skip
    assert all(item.owner in {s.id for s in doc.speakers} for item in insights.action_items)
    assert insights.kpis.per_speaker and 0 <= insights.health.score <= 100
    assert insights.models["nlp"].sha256
    language_words = {"call-nl-zuidhaven": "Risico's", "call-en-northwind": "Risks"}
    if name in language_words:
        assert language_words[name] in insights.summary


CASES = [
    # (label, positive, hard negative); one Dutch and one English pair per label
    (
        "competitor_mention",
        "Facilicom heeft ons ook een voorstel gestuurd.",
        "Vroeger hadden we Facilicom, al lang voorbij.",
    ),
    (
        "competitor_mention",
        "We've got a proposal from Asito as well.",
        "Asito was our previous supplier until 2021.",
    ),
    ("price_objection", "Dat tarief is echt te duur voor ons.", "Dat tarief is heel redelijk."),
    ("price_objection", "That rate is far too expensive for us.", "That rate is very reasonable."),
    ("procurement_tender", "We moeten dit Europees aanbesteden.", "De aanbesteding is al gegund aan jullie."),
    ("procurement_tender", "This has to go out to tender next year.", "You were awarded the tender already."),
    (
        "contract_termination_threat",
        "We gaan het contract opzeggen als dit zo blijft.",
        "Opzeggen is niet aan de orde.",
    ),
    (
        "contract_termination_threat",
        "We'll terminate the contract if this continues.",
        "We want to renew for three years.",
    ),
    ("budget_constraint", "Het budget is bevroren tot april.", "Het budget is goedgekeurd."),
    ("budget_constraint", "Our budget has been cut for next year.", "The budget is approved and secured."),
]


@pytest.mark.parametrize(("label", "positive", "negative"), CASES)
def test_union_positive_and_hard_negative(
    engine: DealtalkInsightEngine, label: str, positive: str, negative: str
) -> None:
    doc = transcript([("S1", "Hoe staat het ervoor?"), ("S2", positive), ("S1", "Oké."), ("S2", negative)])
    insights = engine.analyze(doc, InsightContext())
    raised = {(r.type, r.segment_index) for r in insights.risks}
    assert (label, 1) in raised
    assert (label, 3) not in raised


def test_seller_echo_is_not_a_customer_risk(engine: DealtalkInsightEngine) -> None:
    doc = transcript([("S1", "Ik begrijp dat u de prijs te duur vindt."), ("S2", "Ja, klopt.")])
    assert not [r for r in engine.analyze(doc, InsightContext()).risks if r.type == "price_objection"]


def test_action_items_with_owner_and_due_date(engine: DealtalkInsightEngine) -> None:
    doc = transcript([("S2", "Prima."), ("S1", "Ik stuur u volgende week vrijdag de aangepaste offerte.")])
    items = engine.analyze(doc, InsightContext(call_date=date(2026, 11, 16))).action_items
    assert [(i.owner, i.due, i.segment_index) for i in items] == [("S1", date(2026, 11, 27), 1)]


@pytest.mark.parametrize(
    "texts",
    [
        [],  # empty transcript
        [("S2", "Goedemorgen, ik ben de enige spreker vandaag.")],  # one speaker
        [("S9", "Wie ben ik eigenlijk?"), ("S8", "Geen idee, geen rollen bekend.")],  # no roles known
        [("S2", "[muziek] 🎵🎵 (gelach) 😂"), ("S1", "…")],  # emoji and noise tokens only
        [
            ("S2", "Das ist ein ganz anderer Text auf Deutsch."),
            ("S1", "これは日本語です。"),
        ],  # unknown languages
        [("S2", "Het is te duur. " * 1500)],  # a very long monologue
    ],
)
def test_bad_input_gives_a_valid_result(engine: DealtalkInsightEngine, texts: list[tuple[str, str]]) -> None:
    doc = transcript(texts, language="und")
    insights = engine.analyze(doc, InsightContext())
    assert len(insights.sentiments) == len(doc.segments)
    CallResult.join(doc, insights)
    if not texts:
        assert insights.summary == "" and insights.risks == ()


def test_ten_thousand_segments(engine: DealtalkInsightEngine) -> None:
    lines = [
        ("S1", f"Punt {i % 40}: hoe kijkt u daar tegenaan?")
        if i % 2
        else ("S2", f"Onderwerp {i % 40} is prima zo.")
        for i in range(10_000)
    ]
    # Throughput is measured by bench/nlp_speed.py (timings live in bench/, not in test assertions); this
    # checks that a call of this size is analysed whole.
    insights = engine.analyze(transcript(lines), InsightContext())
    assert len(insights.sentiments) == 10_000


def test_backwards_segment_is_refused(engine: DealtalkInsightEngine) -> None:
    doc = transcript([("S1", "Hallo")])
    broken = doc.model_copy(
        update={"segments": (doc.segments[0].model_copy(update={"start": 5.0, "end": 1.0}),)}
    )
    with pytest.raises(InvalidInput, match="ends before it starts"):
        engine.analyze(broken, InsightContext())


def test_dev_set_meets_the_targets() -> None:
    report = evaluate(ROOT / "nlp" / "data" / "dev.jsonl", variant="union", settings=Settings.load())
    scores = report.to_json()
    assert scores["sentiment"]["macro_f1"] >= 0.80
    assert scores["risk"]["micro_f1"] >= 0.85
    assert scores["action_items"]["f1"] >= 0.85
    assert set(scores["risk"]["per_label"]) == set(report.risk_per_label)


def test_crm_competitor_from_the_context(engine: DealtalkInsightEngine) -> None:
    doc = transcript([("S1", "Hoe kijkt u ertegenaan?"), ("S2", "Glansrijk Facility heeft ons benaderd.")])
    with_crm = engine.analyze(doc, InsightContext(competitors=("Glansrijk Facility",)))
    # The name itself is the evidence: a rule fired on it (a head alone would say "model").
    assert any(r.type == "competitor_mention" and r.source.startswith("rule") for r in with_crm.risks)
    assert any(e.type == "competitor" and e.value == "Glansrijk Facility" for e in with_crm.entities)
