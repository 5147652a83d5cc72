"""The lexicon baseline of the evaluation report: what a keyword list and VADER alone would give.

Sentiment from VADER's English lexicon (on Dutch it sees little), risks and action items from a flat keyword
list matched anywhere in the text: no sentences, no roles, no vetoes. It exists to show what the rules and
the trained heads add; the product never uses it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LexiconBaseline"]

_KEYWORDS: dict[str, tuple[str, ...]] = {
    "competitor_mention": ("concurrent", "competitor", "andere partij", "other supplier", "another provider"),
    "price_objection": ("te duur", "te hoog", "too expensive", "too high", "expensive"),
    "discount_request": ("korting", "discount", "rebate"),
    "budget_constraint": ("budget", "begroting", "bezuinig"),
    "timeline_slip": ("uitstel", "uitgesteld", "delay", "postpone", "later"),
    "decision_maker_absent": ("directie", "manager", "boss", "director", "board"),
    "stakeholder_change": ("nieuwe", "new ", "vertrek", "leaving", "successor", "opvolger"),
    "contract_termination_threat": ("opzeggen", "beëindigen", "terminate", "cancel", "not renew"),
    "procurement_tender": ("aanbested", "tender", "rfp"),
    "legal_or_compliance_concern": ("jurist", "juridisch", "legal", "gdpr", "avg", "cao", "liability"),
    "low_engagement": ("geen idee", "whatever", "not sure", "weet niet"),
    "scope_reduction": ("minder", "reduce", "fewer", "less"),
}
_ACTION_KEYWORDS = (
    "ik stuur",
    "we sturen",
    "i'll",
    "we'll",
    "i will",
    "we will",
    "ik zal",
    "laten we",
    "let's",
)


class LexiconBaseline:
    """Keyword risks and action items, VADER sentiment."""

    def __init__(self) -> None:
        from vader import SentimentIntensityAnalyzer

        self._vader: Any = SentimentIntensityAnalyzer()

    def sentiment(self, text: str) -> tuple[str, float]:
        """VADER's usual cut-offs on the compound score (±0.05)."""
        compound = float(self._vader.polarity_scores(text)["compound"])
        if compound >= 0.05:
            return "positive", min(1.0, 0.5 + compound / 2)
        if compound <= -0.05:
            return "negative", min(1.0, 0.5 - compound / 2)
        return "neutral", 1.0 - abs(compound)

    def risks(self, text: str) -> set[str]:
        lowered = text.lower()
        return {label for label, words in _KEYWORDS.items() if any(word in lowered for word in words)}

    def action(self, text: str) -> bool:
        lowered = text.lower().replace("’", "'")
        return any(word in lowered for word in _ACTION_KEYWORDS)
