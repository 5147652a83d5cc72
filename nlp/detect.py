"""Per-utterance detection: sentiment, risk labels and action items, by rules, heads, or their union.

One place decides, for the engine (segments of a call) and for the evaluation (labelled utterances) alike,
so that the scores in the report are the scores of the product. Variants:

* ``lexicon``: VADER sentiment and flat keywords (the baseline; never used by the product);
* ``rules``: spaCy matcher rules with vetoes and role scopes; sentiment from VADER (rules have none);
* ``heads``: the trained e5 heads only;
* ``union``: heads for sentiment, rules united with heads for risks and action items (the product).

Customer-side labels count on customer turns only (a seller repeating "te duur" is no objection); when no
role is known, a turn counts as the customer's, since missing a signal costs more than a false one here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from dealtalk.nlp.baseline import LexiconBaseline
from dealtalk.nlp.embedder import Embedder
from dealtalk.nlp.heads import SENTIMENTS, Heads, HeadScores
from dealtalk.nlp.rules import RuleHit, RuleSet
from dealtalk.nlp.text import Sentence, clean_text, is_question, sentences, word_count

__all__ = ["VARIANTS", "Detector", "Finding", "RiskFinding", "Variant"]

Variant = Literal["lexicon", "rules", "heads", "union"]
VARIANTS: tuple[str, ...] = get_args(Variant)


@dataclass(frozen=True, slots=True)
class RiskFinding:
    label: str
    # The sentence that carries the evidence (index into Finding.sentences); None: the whole utterance.
    sentence: int | None
    confidence: float
    source: str
    evidence: str


@dataclass(frozen=True, slots=True)
class Finding:
    sentiment: str
    sentiment_score: float
    risks: tuple[RiskFinding, ...]
    action: bool
    action_sentence: int | None
    sentences: tuple[Sentence, ...]


class Detector:
    """Runs the chosen variant over a batch of utterances.

    Args:
        rules: the compiled lexicons.
        embedder, heads: e5 and the trained heads (needed by ``heads`` and ``union``).
        baseline: VADER + keywords (needed by ``lexicon`` and ``rules``).
    """

    def __init__(
        self,
        rules: RuleSet,
        embedder: Embedder | None = None,
        heads: Heads | None = None,
        baseline: LexiconBaseline | None = None,
    ) -> None:
        self.rules = rules
        self.embedder = embedder
        self.heads = heads
        self.baseline = baseline

    def detect(self, texts: Sequence[str], roles: Sequence[str], variant: Variant = "union") -> list[Finding]:
        """Findings for each text (same order). ``roles``: "customer" | "seller" | "unknown" per text."""
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; accepted: {', '.join(VARIANTS)}")
        cleaned = [clean_text(text) for text in texts]
        spoken = [i for i, text in enumerate(cleaned) if word_count(text)]
        scores = self._scores([cleaned[i] for i in spoken]) if variant in ("heads", "union") else None
        row_of = {index: row for row, index in enumerate(spoken)}
        findings: list[Finding] = []
        for index, text in enumerate(texts):
            if index not in row_of:
                # Noise tags, emoji or silence: nothing was said, so there is nothing to feel or to risk.
                findings.append(Finding("neutral", 1.0, (), False, None, ()))
                continue
            findings.append(self._one(text, roles[index], variant, scores, row_of[index]))
        return findings

    def _scores(self, texts: list[str]) -> HeadScores | None:
        if not texts:
            return None
        if self.embedder is None or self.heads is None:
            raise ValueError("the heads and union variants need the e5 embedder and the trained heads")
        return self.heads.score(self.embedder.embed(texts))

    def _one(self, text: str, role: str, variant: Variant, scores: HeadScores | None, row: int) -> Finding:
        parts = sentences(text)
        if variant == "lexicon":
            assert self.baseline is not None
            label, score = self.baseline.sentiment(text)
            risks = tuple(RiskFinding(r, None, 0.5, "lexicon", "") for r in sorted(self.baseline.risks(text)))
            return Finding(label, score, risks, self.baseline.action(text), None, tuple(parts))
        matched = self.rules.match(text, parts)
        risk_hits, action_hits = matched.risks, matched.actions
        questions = {i for i, sentence in enumerate(parts) if is_question(sentence.text)}
        risk_hits = [hit for hit in risk_hits if self._in_scope(hit.label, role, hit.sentence in questions)]
        vetoed = matched.vetoed
        if variant == "rules" or scores is None:
            assert self.baseline is not None or variant != "rules"
            label, score = self.baseline.sentiment(text) if self.baseline else ("neutral", 1.0)
            risks = tuple(_from_rule(hit, None) for hit in risk_hits) if variant != "heads" else ()
            action_sentence = action_hits[0].sentence if action_hits and variant != "heads" else None
            return Finding(label, score, risks, action_sentence is not None, action_sentence, tuple(parts))
        assert self.heads is not None
        probabilities = scores.sentiment[row]
        best = int(np.argmax(probabilities))
        by_rule = {hit.label: hit for hit in risk_hits} if variant == "union" else {}
        risks_found: list[RiskFinding] = []
        whole_question = bool(parts) and len(questions) == len(parts)
        for column, label in enumerate(self.heads.risk_labels):
            p = float(scores.risk[row, column])
            model_says = (
                p >= float(self.heads.risk_threshold[column])
                and label not in vetoed
                and self._in_scope(label, role, whole_question)
            )
            if label in by_rule:
                risks_found.append(_from_rule(by_rule[label], p if model_says else None))
            elif model_says:
                risks_found.append(RiskFinding(label, None, p, "model", f"model p={p:.2f}"))
        p_action = float(scores.action[row])
        model_action = p_action >= self.heads.action_threshold and "action_item" not in vetoed
        action_sentence = action_hits[0].sentence if action_hits and variant == "union" else None
        action = action_sentence is not None or model_action
        return Finding(
            SENTIMENTS[best],
            float(probabilities[best]),
            tuple(risks_found),
            action,
            action_sentence,
            tuple(parts),
        )

    def _in_scope(self, label: str, role: str, is_question: bool) -> bool:
        rules = self.rules.labels.get(label)
        if rules is None:
            return False
        if role == "seller":
            # Sellers state situation facts ("the decision moved to March"); their questions are no signal.
            return rules.scope == "any" and not is_question
        return True


def _from_rule(hit: RuleHit, p: float | None) -> RiskFinding:
    if p is None:
        return RiskFinding(hit.label, hit.sentence, 0.7, "rule", f"rule matched '{hit.matched}'")
    return RiskFinding(
        hit.label,
        hit.sentence,
        min(0.99, 0.8 + 0.2 * p),
        "rule+model",
        f"rule matched '{hit.matched}', model p={p:.2f}",
    )
