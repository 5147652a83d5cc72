"""Per-utterance detection in the product: sentiment, risk labels and action items, rules united with heads.

The trained e5 heads give the sentiment (the union head reads the rule and cue features too); risks and action
items are the rules' united with the heads'. One ``Detector`` decides for the engine (segments of a call) and
for the evaluation (labelled utterances) alike, so that the scores in the report are the scores of the
product. The evaluation's ablations (lexicon baseline, rules only, heads only) are detectors of their own in
``nlp/evaluation.py``: they override how an utterance is judged (``_judge``) and whether the heads run
(``_listen``), and never branch in here.

Customer-side labels count on customer turns only (a seller repeating "te duur" is no objection); when no
role is known, a turn counts as the customer's, since missing a signal costs more than a false one here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dealtalk.nlp.embedder import Embedder
from dealtalk.nlp.features import SentimentCues, load_cues, utterance_features
from dealtalk.nlp.heads import SENTIMENTS, Heads, HeadScores
from dealtalk.nlp.rules import RuleHit, RuleMatch, RuleSet, competitor_pattern
from dealtalk.nlp.text import Sentence, clean_text, is_question, sentences, word_count

__all__ = ["DetectOptions", "Detector", "Finding", "RiskFinding", "RuleView"]


@dataclass(frozen=True, slots=True)
class DetectOptions:
    # In the union, a head alone (no rule with the words to show) raises only its utterance's most probable
    # label: heads confuse neighbouring labels (a delay read as a termination threat), and a second label in
    # one utterance is rare and usually has words a rule catches.
    union_model_top_only: bool = True
    # A head alone raises an action item only when this sure: agreement and greetings ("Ja, dat is goed")
    # sit close to commitments in embedding space.
    union_action_min_p: float = 0.8
    # In the union, a head alone (no rule fired for the label) must clear its threshold by this margin. The
    # thresholds are tuned for the head on its own; next to the rules, which already catch the plainly worded
    # cases, the head's extra finds are the doubtful ones. Chosen by 5-fold cross-validation on train (0.10 to
    # 0.15 is a plateau) and checked on dev.
    union_model_margin: float = 0.10
    # The guidelines label a customer turn that carries one of these risks negative, whatever its tone ("Het
    # budget is bevroren." said calmly). In the union, a rule hit for one of them on a customer turn makes the
    # turn negative; a head alone does not (its risk labels are less sure than its sentiment).
    negative_risk_labels: tuple[str, ...] = (
        "price_objection",
        "contract_termination_threat",
        "budget_constraint",
        "scope_reduction",
        "timeline_slip",
    )
    negative_risk_sources: tuple[str, ...] = ("rule", "rule+model")


@dataclass(frozen=True, slots=True)
class RiskFinding:
    label: str
    # The sentence that carries the evidence (index into Finding.sentences); None: the whole utterance.
    sentence: int | None
    confidence: float
    source: str
    evidence: str
    # The words a rule matched (a competitor's name, for instance); empty for a head.
    matched: str = ""

    @classmethod
    def of_rule(cls, hit: RuleHit, p: float | None) -> RiskFinding:
        """A rule's risk; with ``p``, the head agreed with that probability (a surer ``rule+model`` risk)."""
        if p is None:
            return cls(hit.label, hit.sentence, 0.7, "rule", f"rule matched '{hit.matched}'", hit.matched)
        return cls(
            hit.label,
            hit.sentence,
            min(0.99, 0.8 + 0.2 * p),
            "rule+model",
            f"rule matched '{hit.matched}', model p={p:.2f}",
            hit.matched,
        )


@dataclass(frozen=True, slots=True)
class Finding:
    sentiment: str
    sentiment_score: float
    risks: tuple[RiskFinding, ...]
    action: bool
    action_sentence: int | None
    sentences: tuple[Sentence, ...]
    # Labels whose veto fired in the text (a former supplier, a tender already won).
    vetoed: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class RuleView:
    """What the rules see in one utterance.

    Attributes:
        parts: its sentences.
        matched: every rule hit, action hit and veto.
        risks: the risk hits that count on a turn of this role.
        questions: the indexes of the sentences that are questions.
    """

    parts: list[Sentence]
    matched: RuleMatch
    risks: list[RuleHit]
    questions: set[int]

    @property
    def whole_question(self) -> bool:
        """Every sentence is a question (a head's customer label on a seller's question is no signal)."""
        return bool(self.parts) and len(self.questions) == len(self.parts)


class Detector:
    """The product's detection over a batch of utterances: the rules united with the trained heads.

    Args:
        rules: the compiled lexicons.
        embedder, heads: e5 and the trained heads (``detect`` needs them; ``features``, ``in_scope`` and
            ``names_in`` do not).
        options: how the rules and the heads are united.
    """

    def __init__(
        self,
        rules: RuleSet,
        embedder: Embedder | None = None,
        heads: Heads | None = None,
        options: DetectOptions | None = None,
    ) -> None:
        self.rules = rules
        self.embedder = embedder
        self.heads = heads
        self.options = options or DetectOptions()
        self.cues: SentimentCues = load_cues()
        self._known_competitors = {name.lower() for name in rules.competitors}

    def features(
        self, text: str, role: str, parts: list[Sentence], matched: RuleMatch
    ) -> npt.NDArray[np.float32]:
        """The rule and cue features of the union sentiment head for one utterance."""
        questions = {i for i, sentence in enumerate(parts) if is_question(sentence.text)}
        in_scope = {h.label for h in matched.risks if self._in_scope(h.label, role, h.sentence in questions)}
        return utterance_features(text, parts, matched, in_scope, self.cues)

    def detect(
        self,
        texts: Sequence[str],
        roles: Sequence[str],
        *,
        competitors: Sequence[str] = (),
        persons: Sequence[str] = (),
    ) -> list[Finding]:
        """Findings for each text (same order).

        Args:
            texts: the utterances.
            roles: "customer" | "seller" | "unknown" per text.
            competitors: competitor names known for this call beyond the configured ones (the CRM's).
            persons: the people on the call (never taken for a supplier's name).

        Raises:
            ValueError: the e5 embedder or the trained heads are missing.
        """
        extra = competitor_pattern(n for n in competitors if n.lower() not in self._known_competitors)
        cleaned = [clean_text(text) for text in texts]
        spoken = [i for i, text in enumerate(cleaned) if word_count(text)]
        embeddings, scores = self._listen([cleaned[i] for i in spoken])
        row_of = {index: row for row, index in enumerate(spoken)}
        findings: list[Finding] = []
        for index, text in enumerate(texts):
            if index not in row_of:
                # Noise tags, emoji or silence: nothing was said, so there is nothing to feel or to risk.
                findings.append(Finding("neutral", 1.0, (), False, None, ()))
                continue
            row = row_of[index]
            embedding = embeddings[row] if embeddings is not None else None
            findings.append(self._judge(text, roles[index], scores, row, embedding, extra, tuple(persons)))
        return findings

    def _listen(self, texts: list[str]) -> tuple[npt.NDArray[np.float32] | None, HeadScores | None]:
        """The embeddings and head scores of the spoken texts, row by row (None, None when there are none)."""
        embeddings = self._embed(texts)
        scores = self.heads.score(embeddings) if self.heads is not None and embeddings is not None else None
        return embeddings, scores

    def _embed(self, texts: list[str]) -> npt.NDArray[np.float32] | None:
        if not texts:
            return None
        if self.embedder is None or self.heads is None:
            raise ValueError("detection needs the e5 embedder and the trained heads")
        # Calls repeat themselves ("Ja.", "Oké.", "Yes, exactly."): each distinct text is embedded once.
        unique = list(dict.fromkeys(texts))
        vectors = self.embedder.embed(unique)
        row_of = {text: row for row, text in enumerate(unique)}
        return vectors[[row_of[text] for text in texts]]

    def _rule_view(
        self, text: str, role: str, extra: re.Pattern[str] | None, persons: tuple[str, ...]
    ) -> RuleView:
        parts = sentences(text)
        matched = self.rules.match(text, parts, extra, persons)
        questions = {i for i, sentence in enumerate(parts) if is_question(sentence.text)}
        risks = [hit for hit in matched.risks if self._in_scope(hit.label, role, hit.sentence in questions)]
        return RuleView(parts, matched, risks, questions)

    def _head_says(self, label: str, column: int, p: float, role: str, view: RuleView) -> bool:
        """Whether a risk head raises its label: over its threshold, not vetoed, and in scope for the role."""
        assert self.heads is not None
        return (
            p >= float(self.heads.risk_threshold[column])
            and label not in view.matched.vetoed
            and self._in_scope(label, role, view.whole_question)
        )

    def _judge(
        self,
        text: str,
        role: str,
        scores: HeadScores | None,
        row: int,
        embedding: npt.NDArray[np.float32] | None,
        extra: re.Pattern[str] | None,
        persons: tuple[str, ...] = (),
    ) -> Finding:
        """The finding for one spoken utterance: the rules united with the heads."""
        # ``_listen`` ran the heads on every spoken utterance (or raised without them).
        assert self.heads is not None and scores is not None and embedding is not None
        options = self.options
        view = self._rule_view(text, role, extra, persons)
        vetoed = view.matched.vetoed
        probabilities = self.heads.union_sentiment(
            embedding, self.features(text, role, view.parts, view.matched)
        )
        best = int(np.argmax(probabilities))
        by_rule = {hit.label: hit for hit in view.risks}
        risks_found: list[RiskFinding] = []
        top_column = int(np.argmax(scores.risk[row]))
        for column, label in enumerate(self.heads.risk_labels):
            p = float(scores.risk[row, column])
            model_says = self._head_says(label, column, p, role, view)
            if label in by_rule:
                risks_found.append(RiskFinding.of_rule(by_rule[label], p if model_says else None))
            elif (
                model_says
                and (not options.union_model_top_only or column == top_column)
                and p >= float(self.heads.risk_threshold[column]) + options.union_model_margin
            ):
                risks_found.append(RiskFinding(label, None, p, "model", f"model p={p:.2f}"))
        p_action = float(scores.action[row])
        model_action = (
            p_action >= self.heads.action_threshold
            and "action_item" not in vetoed
            and p_action >= options.union_action_min_p
        )
        actions = view.matched.actions
        action_sentence = actions[0].sentence if actions else None
        action = action_sentence is not None or model_action
        sentiment, sentiment_score = SENTIMENTS[best], float(probabilities[best])
        if role != "seller" and self._bad_news(risks_found):
            sentiment, sentiment_score = "negative", max(float(probabilities[0]), 0.5)
        return Finding(
            sentiment,
            sentiment_score,
            tuple(risks_found),
            action,
            action_sentence,
            tuple(view.parts),
            frozenset(vetoed),
        )

    def _bad_news(self, risks: Sequence[RiskFinding]) -> bool:
        options = self.options
        return any(
            r.label in options.negative_risk_labels and r.source in options.negative_risk_sources
            for r in risks
        )

    def names_in(self, text: str) -> list[str]:
        """Competitor names in a text: the listed ones and organisation-like names, buying context or not."""
        listed = competitor_pattern(self.rules.competitors)
        names = [m.group() for m in listed.finditer(text)] if listed is not None else []
        if self.rules.suppliers is not None:
            names += [text[a:b] for a, b in self.rules.suppliers.find(text, require_context=False)]
        return names

    def in_scope(self, label: str, role: str, is_question: bool) -> bool:
        """Whether a label counts on a turn of this role (customer labels on customer turns only)."""
        return self._in_scope(label, role, is_question)

    def _in_scope(self, label: str, role: str, is_question: bool) -> bool:
        rules = self.rules.labels.get(label)
        if rules is None:
            return False
        if role == "seller":
            # Sellers state situation facts ("the decision moved to March"); their questions are no signal.
            return rules.scope == "any" and not is_question
        return True
