"""A summary a sales manager reads in 20 seconds, in the call's language.

Extractive: the customer's and the seller's most telling sentences (risk evidence and strong sentiment first
for the customer, a commitment first for the seller), then a template of risks, next steps and KPIs. A
``SummaryGenerator`` can replace the template (a local LLM later); none is required.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from dealtalk.contracts.documents import ActionItemDoc, HealthDoc, KpisDoc, RiskDoc, SegmentDoc, SentimentDoc

__all__ = ["SummaryFacts", "SummaryGenerator", "TemplateSummary", "summary_language"]

_NAMES = {
    "nl": {
        "competitor_mention": "concurrent genoemd",
        "price_objection": "prijsbezwaar",
        "discount_request": "kortingsverzoek",
        "budget_constraint": "budgetbeperking",
        "timeline_slip": "vertraging",
        "decision_maker_absent": "beslisser niet betrokken",
        "stakeholder_change": "wisseling contactpersoon",
        "contract_termination_threat": "dreigende opzegging",
        "procurement_tender": "aanbesteding",
        "legal_or_compliance_concern": "juridische/compliance-zorg",
        "low_engagement": "weinig betrokkenheid",
        "scope_reduction": "kleinere scope",
    },
    "en": {
        "competitor_mention": "competitor mentioned",
        "price_objection": "price objection",
        "discount_request": "discount request",
        "budget_constraint": "budget constraint",
        "timeline_slip": "timeline slip",
        "decision_maker_absent": "decision maker absent",
        "stakeholder_change": "stakeholder change",
        "contract_termination_threat": "termination threat",
        "procurement_tender": "tender",
        "legal_or_compliance_concern": "legal/compliance concern",
        "low_engagement": "low engagement",
        "scope_reduction": "scope reduction",
    },
}
_WORDS: dict[str, dict[str, Any]] = {
    "nl": {
        "call": "Gesprek van {minutes} min met {speakers} sprekers.",
        "customer": "Klant",
        "seller": "Verkoper",
        "risks": "Risico's",
        "no_risks": "Geen risico's gevonden.",
        "next": "Volgende stappen",
        "no_next": "Geen volgende stap afgesproken.",
        "kpis": "Spreektijd verkoper {seller:.0%}, klant {customer:.0%}; vragen verkoper {questions}.",
        "health": "Gezondheid {score}/100.",
        "severity": {"high": "hoog", "medium": "middel", "low": "laag"},
        "due": "uiterlijk",
    },
    "en": {
        "call": "Call of {minutes} min with {speakers} speakers.",
        "customer": "Customer",
        "seller": "Seller",
        "risks": "Risks",
        "no_risks": "No risks found.",
        "next": "Next steps",
        "no_next": "No next step agreed.",
        "kpis": "Seller talk time {seller:.0%}, customer {customer:.0%}; seller questions {questions}.",
        "health": "Health {score}/100.",
        "severity": {"high": "high", "medium": "medium", "low": "low"},
        "due": "due",
    },
}


@dataclass(frozen=True, slots=True)
class SummaryFacts:
    """Everything a summary may draw on."""

    language: str
    duration_s: float
    segments: Sequence[SegmentDoc]
    sentiments: Sequence[SentimentDoc]
    roles: dict[str, str]
    names: dict[str, str]
    risks: Sequence[RiskDoc]
    action_items: Sequence[ActionItemDoc]
    kpis: KpisDoc
    health: HealthDoc


class SummaryGenerator(Protocol):
    """Writes a summary from the facts (the template below, or a local LLM plugged in later)."""

    def summarize(self, facts: SummaryFacts) -> str: ...


def summary_language(segments: Sequence[SegmentDoc], declared: str) -> str:
    """The call's language for the summary: "nl" or "en" (the majority of words; English when unknown)."""
    counts = {"nl": 0, "en": 0}
    for segment in segments:
        if segment.language in counts:
            counts[segment.language] += len(segment.text.split())
    if counts["nl"] or counts["en"]:
        return "nl" if counts["nl"] >= counts["en"] else "en"
    return declared if declared in counts else "en"


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60):02d}:{int(seconds % 60):02d}"


def _best_sentence(facts: SummaryFacts, role: str) -> str | None:
    """The most telling sentence of one side: risk evidence, then commitment, then strongest sentiment."""
    quotes = {risk.segment_index: risk.quote for risk in facts.risks}
    actions = {item.segment_index: item.text for item in facts.action_items}
    best: tuple[float, str] | None = None
    for index, segment in enumerate(facts.segments):
        if facts.roles.get(segment.speaker, "unknown") != role or not segment.text.strip():
            continue
        sentiment = facts.sentiments[index] if index < len(facts.sentiments) else None
        strength = sentiment.score if sentiment and sentiment.label != "neutral" else 0.0
        if index in quotes:
            score, text = 3.0 + strength, quotes[index]
        elif index in actions:
            score, text = 2.0 + strength, actions[index]
        else:
            score, text = strength, segment.text.strip()
        if len(text) > 220:
            text = text[:217].rsplit(" ", 1)[0] + "…"
        if best is None or score > best[0]:
            best = (score, text)
    return best[1] if best else None


class TemplateSummary:
    """The default summary: extractive quotes plus a template of risks, next steps and KPIs."""

    def summarize(self, facts: SummaryFacts) -> str:
        lang = facts.language if facts.language in _WORDS else "en"
        words, names = _WORDS[lang], _NAMES[lang]
        speakers = len({s.speaker for s in facts.segments})
        lines = [words["call"].format(minutes=round(facts.duration_s / 60.0, 1), speakers=speakers)]
        for role in ("customer", "seller"):
            sentence = _best_sentence(facts, role)
            if sentence:
                lines.append(f'{words[role]}: "{sentence}"')
        if facts.risks:
            listed = [
                f"{names[r.type]} ({words['severity'][r.severity]}, {_clock(r.start)})"
                for r in sorted(facts.risks, key=lambda r: ("high", "medium", "low").index(r.severity))[:5]
            ]
            lines.append(f"{words['risks']}: " + "; ".join(listed) + ".")
        else:
            lines.append(words["no_risks"])
        if facts.action_items:
            steps = []
            for item in facts.action_items[:4]:
                who = facts.names.get(item.owner or "", item.owner or "?")
                due = f" ({words['due']} {item.due.isoformat()})" if item.due else ""
                steps.append(f"{who}: {item.text.strip()}{due}")
            lines.append(f"{words['next']}: " + " | ".join(steps))
        else:
            lines.append(words["no_next"])
        per = facts.kpis.per_speaker
        seller = sum(k.talk_ratio for s, k in per.items() if facts.roles.get(s) == "seller")
        customer = sum(k.talk_ratio for s, k in per.items() if facts.roles.get(s) != "seller")
        if per:
            lines.append(
                words["kpis"].format(
                    seller=seller, customer=customer, questions=facts.kpis.call.questions_seller
                )
            )
        lines.append(words["health"].format(score=facts.health.score))
        return "\n".join(lines)
