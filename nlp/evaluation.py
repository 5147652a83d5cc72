"""Score the insight models on labelled utterances (contracts, format 3): ``dealtalk eval-nlp``.

Sentiment macro-F1 over the three classes, risk micro-F1 and per-label precision/recall/F1, action-item
precision/recall/F1. Each utterance is one segment with its role, run through the same ``Detector`` as the
product, so the numbers are the product's. Variants:

* ``union``: the product's ``Detector``: heads for sentiment, rules united with heads for risks and action items;
* ``lexicon``: VADER sentiment and flat keywords (the baseline; never used by the product);
* ``rules``: spaCy matcher rules with vetoes and role scopes; sentiment from VADER (rules have none);
* ``heads``: the trained e5 heads only.

The three ablations are detectors of their own here, each judging an utterance its way over the product's
batching, rule matching and role scopes; the product's path has no branch for them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.table import Table

from dealtalk.contracts.config import Settings
from dealtalk.contracts.errors import InvalidInput
from dealtalk.nlp.baseline import LexiconBaseline
from dealtalk.nlp.dataset import RISK_LABELS, Utterance, read_dataset
from dealtalk.nlp.detect import Detector, Finding, RiskFinding
from dealtalk.nlp.heads import SENTIMENTS, HeadScores
from dealtalk.nlp.rules import RuleSet
from dealtalk.nlp.text import sentences

__all__ = [
    "VARIANTS",
    "EvalReport",
    "HeadsOnly",
    "LexiconOnly",
    "Prf",
    "RulesOnly",
    "Variant",
    "build_detector",
    "evaluate",
    "evaluate_utterances",
    "render",
]

Variant = Literal["lexicon", "rules", "heads", "union"]
VARIANTS: tuple[Variant, ...] = get_args(Variant)

_SENTIMENTS = ("negative", "neutral", "positive")


@dataclass(frozen=True, slots=True)
class Prf:
    precision: float
    recall: float
    f1: float
    support: int

    @classmethod
    def of(cls, tp: int, fp: int, fn: int) -> Prf:
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return cls(precision, recall, f1, tp + fn)

    def to_json(self) -> dict[str, float | int]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "support": self.support,
        }


@dataclass(frozen=True, slots=True)
class EvalReport:
    """Scores of one variant on one dataset."""

    dataset: str
    variant: str
    n: int
    sentiment_macro_f1: float
    sentiment_per_class: dict[str, Prf]
    risk_micro: Prf
    risk_per_label: dict[str, Prf]
    action: Prf
    by_language: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The contract's object (``dealtalk eval-nlp --json``), plus variant and per-class detail."""
        return {
            "n": self.n,
            "sentiment": {
                "macro_f1": round(self.sentiment_macro_f1, 4),
                "per_class": {k: v.to_json() for k, v in self.sentiment_per_class.items()},
            },
            "risk": {
                "micro_f1": round(self.risk_micro.f1, 4),
                "precision": round(self.risk_micro.precision, 4),
                "recall": round(self.risk_micro.recall, 4),
                "per_label": {label: prf.to_json() for label, prf in self.risk_per_label.items()},
                "micro_f1_by_language": {k: round(v, 4) for k, v in self.by_language.items()},
            },
            "action_items": {
                "precision": round(self.action.precision, 4),
                "recall": round(self.action.recall, 4),
                "f1": round(self.action.f1, 4),
            },
            "variant": self.variant,
            "dataset": self.dataset,
        }


class _WithoutHeads(Detector):
    """An ablation that runs no e5 and no heads; its sentiment comes from the VADER lexicon baseline."""

    def __init__(self, rules: RuleSet, baseline: LexiconBaseline) -> None:
        super().__init__(rules)
        self.baseline = baseline

    def _listen(self, texts: list[str]) -> tuple[npt.NDArray[np.float32] | None, HeadScores | None]:
        return None, None


class LexiconOnly(_WithoutHeads):
    """The lexicon baseline as a detector: VADER sentiment, flat keywords for risks and action items."""

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
        parts = sentences(text)
        label, score = self.baseline.sentiment(text)
        risks = tuple(RiskFinding(r, None, 0.5, "lexicon", "") for r in sorted(self.baseline.risks(text)))
        return Finding(label, score, risks, self.baseline.action(text), None, tuple(parts))


class RulesOnly(_WithoutHeads):
    """The rules alone: their risks and action items in the product's role scopes; sentiment from VADER."""

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
        view = self._rule_view(text, role, extra, persons)
        label, score = self.baseline.sentiment(text)
        actions = view.matched.actions
        action_sentence = actions[0].sentence if actions else None
        return Finding(
            label,
            score,
            tuple(RiskFinding.of_rule(hit, None) for hit in view.risks),
            action_sentence is not None,
            action_sentence,
            tuple(view.parts),
            frozenset(view.matched.vetoed),
        )


class HeadsOnly(Detector):
    """The trained heads alone: the plain sentiment head, each risk head over its threshold, the action head.

    The rules still veto and the role scopes still hold, as in the product.
    """

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
        assert self.heads is not None and scores is not None
        view = self._rule_view(text, role, extra, persons)
        vetoed = view.matched.vetoed
        probabilities = scores.sentiment[row]
        best = int(np.argmax(probabilities))
        risks: list[RiskFinding] = []
        for column, label in enumerate(self.heads.risk_labels):
            p = float(scores.risk[row, column])
            if self._head_says(label, column, p, role, view):
                risks.append(RiskFinding(label, None, p, "model", f"model p={p:.2f}"))
        p_action = float(scores.action[row])
        action = p_action >= self.heads.action_threshold and "action_item" not in vetoed
        return Finding(
            SENTIMENTS[best],
            float(probabilities[best]),
            tuple(risks),
            action,
            None,
            tuple(view.parts),
            frozenset(vetoed),
        )


def _risk_counts(pairs: Sequence[tuple[Utterance, Finding]]) -> tuple[dict[str, list[int]], list[int]]:
    counts = {label: [0, 0, 0] for label in RISK_LABELS}  # tp, fp, fn
    for utterance, finding in pairs:
        gold, predicted = set(utterance.risks), {r.label for r in finding.risks}
        for label in RISK_LABELS:
            if label in gold and label in predicted:
                counts[label][0] += 1
            elif label in predicted:
                counts[label][1] += 1
            elif label in gold:
                counts[label][2] += 1
    total = [sum(c[i] for c in counts.values()) for i in range(3)]
    return counts, total


def evaluate_utterances(
    utterances: Sequence[Utterance], detector: Detector, *, variant: Variant, dataset: str = ""
) -> EvalReport:
    """Score a detector on utterances already read.

    Args:
        detector: the variant's detector (``build_detector``).
        variant: its name, for the report.
    """
    findings = detector.detect([u.text for u in utterances], [u.role for u in utterances])
    pairs = list(zip(utterances, findings, strict=True))
    per_class = {}
    for cls in _SENTIMENTS:
        tp = sum(1 for u, f in pairs if u.sentiment == cls and f.sentiment == cls)
        fp = sum(1 for u, f in pairs if u.sentiment != cls and f.sentiment == cls)
        fn = sum(1 for u, f in pairs if u.sentiment == cls and f.sentiment != cls)
        per_class[cls] = Prf.of(tp, fp, fn)
    present = [cls for cls in _SENTIMENTS if per_class[cls].support]
    macro = sum(per_class[cls].f1 for cls in present) / len(present) if present else 0.0
    counts, total = _risk_counts(pairs)
    by_language = {}
    for lang in sorted({u.lang for u in utterances}):
        _, lang_total = _risk_counts([(u, f) for u, f in pairs if u.lang == lang])
        by_language[lang] = Prf.of(*lang_total).f1
    action_tp = sum(1 for u, f in pairs if u.action_item and f.action)
    action_fp = sum(1 for u, f in pairs if not u.action_item and f.action)
    action_fn = sum(1 for u, f in pairs if u.action_item and not f.action)
    return EvalReport(
        dataset=dataset,
        variant=variant,
        n=len(utterances),
        sentiment_macro_f1=macro,
        sentiment_per_class=per_class,
        risk_micro=Prf.of(*total),
        risk_per_label={label: Prf.of(*c) for label, c in counts.items()},
        action=Prf.of(action_tp, action_fp, action_fn),
        by_language=by_language,
    )


def build_detector(settings: Settings, variant: Variant) -> Detector:
    """The variant's detector, with what it needs (e5 and the heads only for ``heads`` and ``union``).

    ``union`` is the product's ``Detector`` itself; the others are the ablations above.
    """
    from dealtalk.nlp.engine import load_rules_for

    rules = load_rules_for(settings)
    if variant == "lexicon":
        return LexiconOnly(rules, LexiconBaseline())
    if variant == "rules":
        return RulesOnly(rules, LexiconBaseline())
    from dealtalk.models.e5 import E5_DIR_NAME
    from dealtalk.nlp.embedder import load_embedder
    from dealtalk.nlp.heads import load_heads

    folder = settings.nlp.model_dir or settings.model_cache_dir / E5_DIR_NAME
    embedder = load_embedder(folder, threads=settings.nlp.onnx_threads)
    if variant == "heads":
        return HeadsOnly(rules, embedder, load_heads())
    return Detector(rules, embedder, load_heads())


def evaluate(dataset: Path, *, variant: str = "union", settings: Settings) -> EvalReport:
    """Score one variant on a labelled JSONL file.

    Args:
        dataset: labelled utterances (contracts, format 3).
        variant: "lexicon", "rules", "heads" or "union" (the product).
        settings: where the models are.

    Raises:
        InvalidInput: an unknown variant, or an invalid line (the message names the line and the problem).
    """
    chosen = next((known for known in VARIANTS if known == variant), None)
    if chosen is None:
        raise InvalidInput(f"unknown variant {variant!r}; accepted: {', '.join(VARIANTS)}")
    utterances = read_dataset(dataset)
    detector = build_detector(settings, chosen)
    return evaluate_utterances(utterances, detector, variant=chosen, dataset=dataset.name)


def render(report: EvalReport, console: Console) -> None:
    """Print the report as Rich tables: headline scores, then per risk label."""
    head = Table(title=f"{report.dataset} · {report.variant} · n={report.n}")
    head.add_column("metric")
    head.add_column("value", justify="right")
    head.add_row("sentiment macro-F1", f"{report.sentiment_macro_f1:.3f}")
    head.add_row("risk micro-F1", f"{report.risk_micro.f1:.3f}")
    head.add_row(
        "risk precision / recall", f"{report.risk_micro.precision:.3f} / {report.risk_micro.recall:.3f}"
    )
    for lang, f1 in report.by_language.items():
        head.add_row(f"risk micro-F1 ({lang})", f"{f1:.3f}")
    head.add_row(
        "action items P / R / F1",
        f"{report.action.precision:.3f} / {report.action.recall:.3f} / {report.action.f1:.3f}",
    )
    console.print(head)
    labels = Table(title="risk labels")
    for column in ("label", "precision", "recall", "F1", "support"):
        labels.add_column(column, justify="left" if column == "label" else "right")
    for label, prf in report.risk_per_label.items():
        labels.add_row(label, f"{prf.precision:.3f}", f"{prf.recall:.3f}", f"{prf.f1:.3f}", str(prf.support))
    console.print(labels)
