"""Detection over windows of turns: what one segment alone cannot show.

Per-segment findings (``Detector.detect``) are refined with the turns around them, for whole calls only:

* **a question and its answer**: "Is de directeur er volgende week bij?" - "Nee." is an absent decision maker,
  said by the customer in one word; the seller's question patterns and the answer's polarity come from
  ``lexicons/context.json``;
* **a thought over two turns of one speaker**: ASR cuts "dan houd ik nog een gat" | "van twintig mille over"
  in two segments; the rules also run on the two joined, and a match across the cut counts for the later one;
* **engagement from the call** (``nlp/engagement.py``): a head's low-engagement guess on a short turn stands
  only when the customer's pattern over the call is disengaged; then minimal answers to questions count too;
* **a former supplier stays former**: a name said once with "vroeger / used to / ons vorige bedrijf" is no
  current rival when it comes back later in the call;
* **a rival named earlier is "they" later**: "ze zitten vier euro per uur onder uw tarief", a few turns after
  the customer named the rival, is a competitor mention without the name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any

from dealtalk.nlp.detect import Detector, Finding, RiskFinding
from dealtalk.nlp.engagement import EngagementOptions, customer_engagement, evasive_turns
from dealtalk.nlp.rules import COMPETITOR, compile_pattern
from dealtalk.nlp.suppliers import BUYING_CONTEXT
from dealtalk.nlp.text import is_question, sentences, word_count

__all__ = ["ContextOptions", "QuestionAnswers", "load_question_answers", "refine_call"]

_ENGAGEMENT = "low_engagement"


@dataclass(frozen=True, slots=True)
class ContextOptions:
    engagement: EngagementOptions = field(default_factory=EngagementOptions)
    # Confidence of a risk read from a question and its answer, from a match across two turns, and of a
    # minimal answer in a disengaged call (below a rule on one sentence: the evidence is less direct).
    answer_confidence: float = 0.7
    across_confidence: float = 0.7
    engagement_confidence: float = 0.6
    # How many turns after a named rival "they" still means the rival (chosen on the blind training calls).
    rival_window: int = 6
    rival_confidence: float = 0.6


# "They" and "their" (Dutch "ze/zij/hun"; a sentence that opens with "die" points back too).
_PRONOUN = re.compile(
    r"\b(?:ze|zij|hun|hen|they|their|theirs|them|they'(?:d|re|ve|ll))\b|^die\b", re.IGNORECASE
)
# What a rival is talked about for: buying words, money, or a comparison with the seller.
_RIVAL_TALK = re.compile(
    rf"{BUYING_CONTEXT.pattern}|\b(?:euros?|dollars?|pounds?|grand|per (?:uur|hour|maand|month|jaar|year)|"
    r"dan (?:jullie|u)|than (?:you|yours)|as yours|als (?:jullie|bij u)|(?:onder|boven) (?:uw|jullie)|"
    r"(?:under|below|above) your)\b",
    re.IGNORECASE,
)


class QuestionAnswers:
    """The question-and-answer rules (``lexicons/context.json``), compiled."""

    def __init__(self, spec: dict[str, Any]) -> None:
        import spacy
        from spacy.matcher import Matcher

        self._nlp = spacy.blank("xx")
        self.max_answer_words = int(spec["max_answer_words"])
        self._answers = Matcher(self._nlp.vocab)
        for polarity, patterns in spec["answers"].items():
            self._answers.add(polarity, [compile_pattern(p) for p in patterns])
        self._questions = Matcher(self._nlp.vocab)
        self._rules: list[tuple[str, str]] = []
        for index, rule in enumerate(spec["rules"]):
            self._questions.add(str(index), [compile_pattern(p) for p in rule["question"]])
            self._rules.append((str(rule["label"]), str(rule["answer"])))

    def polarity(self, answer: str) -> str | None:
        """ "yes", "no" or None: the polarity said first in the answer."""
        matches = sorted(self._answers(self._nlp(answer.lower().replace("’", "'"))), key=lambda m: m[1])
        return self._nlp.vocab.strings[matches[0][0]] if matches else None

    def labels(self, question: str, answer: str) -> list[str]:
        """Risk labels that the answer raises, given the question before it."""
        if not 0 < word_count(answer) <= self.max_answer_words:
            return []
        polarity = self.polarity(answer)
        if polarity is None:
            return []
        doc = self._nlp(question.replace("’", "'"))
        fired = {int(self._nlp.vocab.strings[match_id]) for match_id, _, _ in self._questions(doc)}
        return list(dict.fromkeys(self._rules[i][0] for i in sorted(fired) if self._rules[i][1] == polarity))


def load_question_answers() -> QuestionAnswers:
    """The bundled question-and-answer rules."""
    raw = resources.files("dealtalk.nlp.lexicons").joinpath("context.json").read_text(encoding="utf-8")
    spec: dict[str, Any] = json.loads(raw)
    return QuestionAnswers(spec)


def _asks(text: str) -> bool:
    parts = sentences(text)
    return bool(parts) and is_question(parts[-1].text)


def _add(finding: Finding, risk: RiskFinding, detector: Detector, role: str) -> Finding:
    if any(r.label == risk.label for r in finding.risks):
        return finding
    sentiment, score = finding.sentiment, finding.sentiment_score
    if role != "seller" and risk.label in detector.options.negative_risk_labels:
        # The guidelines: a customer turn carrying a deal-negative risk is negative, whatever its tone.
        sentiment, score = "negative", max(score, 0.5) if sentiment == "negative" else 0.5
    return replace(finding, risks=(*finding.risks, risk), sentiment=sentiment, sentiment_score=score)


def _answers(
    found: list[Finding],
    texts: Sequence[str],
    roles: Sequence[str],
    detector: Detector,
    qa: QuestionAnswers,
    options: ContextOptions,
) -> None:
    for index in range(1, len(texts)):
        if roles[index] == "seller" or roles[index - 1] != "seller" or not _asks(texts[index - 1]):
            continue
        for label in qa.labels(texts[index - 1], texts[index]):
            if detector.in_scope(label, roles[index], False):
                risk = RiskFinding(
                    label, None, options.answer_confidence, "context", "answer to the seller's question"
                )
                found[index] = _add(found[index], risk, detector, roles[index])


def _across(
    found: list[Finding],
    texts: Sequence[str],
    roles: Sequence[str],
    speakers: Sequence[str],
    detector: Detector,
    options: ContextOptions,
) -> None:
    for index in range(1, len(texts)):
        if speakers[index] != speakers[index - 1] or not word_count(texts[index]):
            continue
        first = texts[index - 1].rstrip()
        joined = f"{first} {texts[index].lstrip()}"
        cut = len(first)
        matched = detector.rules.match(joined, sentences(joined))
        for hit in matched.risks:
            if not hit.start_char < cut < hit.end_char or not detector.in_scope(
                hit.label, roles[index], False
            ):
                continue
            evidence = f"rule matched '{hit.matched}' across two turns"
            risk = RiskFinding(hit.label, None, options.across_confidence, "rule", evidence)
            found[index] = _add(found[index], risk, detector, roles[index])


def _engagement(
    found: list[Finding],
    texts: Sequence[str],
    roles: Sequence[str],
    detector: Detector,
    options: ContextOptions,
) -> None:
    explicit = [
        any(r.label == _ENGAGEMENT and r.source in ("rule", "rule+model") for r in f.risks) for f in found
    ]
    commitments = [finding.action for finding in found]
    verdict = customer_engagement(texts, roles, explicit, options.engagement, commitments=commitments)
    if not verdict.disengaged:
        # A head's guess from one short turn is no engagement pattern: it goes when the call says otherwise.
        for index, finding in enumerate(found):
            kept = tuple(r for r in finding.risks if not (r.label == _ENGAGEMENT and r.source == "model"))
            if len(kept) != len(finding.risks):
                found[index] = replace(finding, risks=kept)
        return
    evidence = (
        f"evasive turn; over the call the customer said {verdict.customer_talk_share:.0%} of the words, "
        f"median turn {verdict.median_customer_words:.0f} words"
    )
    for index in evasive_turns(texts, roles, options.engagement):
        # A turn with another risk can be evasive too ("not really my call, ask procurement"): both labels.
        if any(r.label == _ENGAGEMENT for r in found[index].risks) or (
            _ENGAGEMENT in detector.rules.match(texts[index], sentences(texts[index])).vetoed
        ):
            continue
        risk = RiskFinding(_ENGAGEMENT, None, options.engagement_confidence, "call", evidence)
        found[index] = _add(found[index], risk, detector, roles[index])


def _former(found: list[Finding], texts: Sequence[str], roles: Sequence[str], detector: Detector) -> None:
    former: set[str] = set()
    for index, text in enumerate(texts):
        if roles[index] == "seller":
            continue
        finding = found[index]
        if COMPETITOR in finding.vetoed:
            # A name said in a former-supplier sentence ("ons vorige bedrijf was Glansrijk") stays former.
            former |= {name.lower() for name in detector.names_in(text)}
            continue
        kept = tuple(r for r in finding.risks if not (r.label == COMPETITOR and r.matched.lower() in former))
        if len(kept) != len(finding.risks):
            found[index] = replace(finding, risks=kept)


def _rival_followups(
    found: list[Finding], texts: Sequence[str], roles: Sequence[str], options: ContextOptions
) -> None:
    named: int | None = None  # the last turn with a current rival
    for index, text in enumerate(texts):
        finding = found[index]
        if any(r.label == COMPETITOR for r in finding.risks):
            named = index
            continue
        if named is None or index - named > options.rival_window or roles[index] == "seller":
            continue
        if COMPETITOR in finding.vetoed or not _RIVAL_TALK.search(text):
            continue
        if not any(_PRONOUN.search(part.text.strip()) for part in sentences(text)):
            continue
        evidence = "a rival named earlier in the call, referred to again"
        found[index] = replace(
            finding,
            risks=(
                *finding.risks,
                RiskFinding(COMPETITOR, None, options.rival_confidence, "context", evidence),
            ),
        )
        named = index


def refine_call(
    findings: Sequence[Finding],
    texts: Sequence[str],
    roles: Sequence[str],
    speakers: Sequence[str],
    detector: Detector,
    qa: QuestionAnswers,
    options: ContextOptions | None = None,
) -> list[Finding]:
    """The findings of a whole call, refined with the turns around each segment (same order, same length)."""
    options = options or ContextOptions()
    found = list(findings)
    _former(found, texts, roles, detector)
    _rival_followups(found, texts, roles, options)
    _answers(found, texts, roles, detector, qa, options)
    _across(found, texts, roles, speakers, detector, options)
    _engagement(found, texts, roles, detector, options)
    return found
