"""The union's fusion choices, with a fake embedder and hand-set heads (no model): a head alone must clear its
threshold by the margin, and a rule hit for a deal-negative risk on a customer turn makes the turn negative."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dealtalk.contracts.documents import ModelRef
from dealtalk.nlp.dataset import RISK_LABELS
from dealtalk.nlp.detect import DetectOptions, Detector
from dealtalk.nlp.embedder import FloatMatrix
from dealtalk.nlp.features import FEATURES
from dealtalk.nlp.heads import Heads
from dealtalk.nlp.rules import RuleSet, load_rules

DIM = 4


class ZeroEmbedder:
    """Every text embeds to zeros, so the heads' outputs are their biases alone."""

    @property
    def dim(self) -> int:
        return DIM

    @property
    def model(self) -> ModelRef:
        return ModelRef(name="zeros")

    def embed(self, texts: list[str]) -> FloatMatrix:
        return np.zeros((len(texts), DIM), dtype=np.float32)


def heads(risk_p: dict[str, float], sentiment: str = "positive") -> Heads:
    """Heads whose risk probabilities are ``risk_p`` (others 0.01), threshold 0.5, sentiment fixed."""
    logit = [math.log(p / (1 - p)) for p in (risk_p.get(label, 0.01) for label in RISK_LABELS)]
    sentiment_b = np.array([4.0 if s == sentiment else 0.0 for s in ("negative", "neutral", "positive")])
    return Heads(
        risk_labels=RISK_LABELS,
        sentiment_w=np.zeros((3, DIM), dtype=np.float32),
        sentiment_b=sentiment_b.astype(np.float32),
        risk_w=np.zeros((len(RISK_LABELS), DIM), dtype=np.float32),
        risk_b=np.array(logit, dtype=np.float32),
        risk_threshold=np.full(len(RISK_LABELS), 0.5, dtype=np.float32),
        action_w=np.zeros(DIM, dtype=np.float32),
        action_b=-5.0,
        action_threshold=0.5,
        union_sentiment_w=np.zeros((3, DIM + FEATURES), dtype=np.float32),
        union_sentiment_b=sentiment_b.astype(np.float32),
        version="test",
        sha256="0" * 64,
    )


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules(["Hago"])


@pytest.mark.parametrize(("p", "raised"), [(0.55, False), (0.65, True)])
def test_head_alone_needs_the_margin(rules: RuleSet, p: float, raised: bool) -> None:
    detector = Detector(rules, ZeroEmbedder(), heads({"stakeholder_change": p}), options=DetectOptions())
    # No rule fires on this sentence, so only the head can raise the label.
    (finding,) = detector.detect(["Goedemiddag, fijn dat u tijd heeft."], ["customer"])
    assert ("stakeholder_change" in {r.label for r in finding.risks}) is raised


def test_margin_zero_restores_the_plain_threshold(rules: RuleSet) -> None:
    options = DetectOptions(union_model_margin=0.0)
    detector = Detector(rules, ZeroEmbedder(), heads({"stakeholder_change": 0.55}), options=options)
    (finding,) = detector.detect(["Goedemiddag, fijn dat u tijd heeft."], ["customer"])
    assert [r.label for r in finding.risks] == ["stakeholder_change"]


@pytest.mark.parametrize(
    ("text", "role", "expected"),
    [
        ("Eerlijk gezegd is het ons te duur.", "customer", "negative"),
        ("Our budget was slashed in the spring review.", "customer", "negative"),
        ("Eerlijk gezegd is het ons te duur.", "seller", "positive"),
        # A tender is neutral news by the guidelines: the head's sentiment stands.
        ("We moeten dit openbaar aanbesteden.", "customer", "positive"),
    ],
)
def test_deal_negative_rule_hit_makes_a_customer_turn_negative(
    rules: RuleSet, text: str, role: str, expected: str
) -> None:
    detector = Detector(rules, ZeroEmbedder(), heads({}, sentiment="positive"))
    (finding,) = detector.detect([text], [role])
    assert finding.sentiment == expected
