"""What changed between two versions of a call: WER between the transcripts, risks added or removed,
sentiment shifts per role. Pure functions over call results (no store, no models).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from dealtalk.contracts.documents import CallResult, RiskDoc

__all__ = ["CallDiff", "RunTotals", "diff_call", "risk_changes", "sentiment_by_role", "totals", "word_errors"]

_WORD = re.compile(r"[\w'’-]+", re.UNICODE)
_POLARITY = {"positive": 1.0, "neutral": 0.0, "negative": -1.0}
# Two risks of the same type whose quotes start this close are the same risk found again.
RISK_MATCH_S = 5.0


def _words(result: CallResult) -> list[str]:
    return [w.lower() for segment in result.segments for w in _WORD.findall(segment.text)]


def word_errors(reference: Sequence[str], hypothesis: Sequence[str]) -> int:
    """Substitutions + deletions + insertions to turn ``reference`` into ``hypothesis`` (Levenshtein on words)."""
    previous = list(range(len(hypothesis) + 1))  # shape: (len(hypothesis) + 1,) costs for the previous row
    for i, ref in enumerate(reference, start=1):
        current = [i]
        for j, hyp in enumerate(hypothesis, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp)))
        previous = current
    return previous[-1]


def risk_changes(
    old: Sequence[RiskDoc], new: Sequence[RiskDoc], *, tolerance_s: float = RISK_MATCH_S
) -> tuple[list[RiskDoc], list[RiskDoc]]:
    """(added, removed): risks in ``new`` with no same-type risk in ``old`` within ``tolerance_s``, and back."""
    unmatched_old = list(old)
    added: list[RiskDoc] = []
    for risk in new:
        match = next(
            (o for o in unmatched_old if o.type == risk.type and abs(o.start - risk.start) <= tolerance_s),
            None,
        )
        if match is None:
            added.append(risk)
        else:
            unmatched_old.remove(match)
    return added, unmatched_old


def sentiment_by_role(result: CallResult) -> dict[str, float]:
    """Mean polarity (+1 positive, 0 neutral, -1 negative) per role, weighted by segment duration."""
    weights: dict[str, float] = {}
    sums: dict[str, float] = {}
    for segment in result.segments:
        if segment.sentiment is None:
            continue
        duration = max(segment.end - segment.start, 0.01)
        weights[segment.role] = weights.get(segment.role, 0.0) + duration
        sums[segment.role] = sums.get(segment.role, 0.0) + duration * _POLARITY[segment.sentiment.label]
    return {role: sums[role] / weights[role] for role in sorted(weights)}


@dataclass(frozen=True, slots=True)
class CallDiff:
    """One call, old version vs new (``baseline`` False: there was no old result, e.g. a failed call)."""

    recording_id: str
    baseline: bool
    reference_words: int
    word_errors: int
    risks_added: tuple[str, ...]
    risks_removed: tuple[str, ...]
    sentiment_shift: dict[str, float]
    summary_changed: bool

    @property
    def wer(self) -> float:
        return self.word_errors / self.reference_words if self.reference_words else 0.0

    @property
    def changed(self) -> bool:
        """Whether what a CRM user sees would change (transcript, risks, sentiment or summary)."""
        return (
            not self.baseline
            or self.word_errors > 0
            or bool(self.risks_added or self.risks_removed)
            or any(abs(shift) >= 0.05 for shift in self.sentiment_shift.values())
            or self.summary_changed
        )


def diff_call(recording_id: str, old: CallResult | None, new: CallResult) -> CallDiff:
    """Compare a call's previous result (the reference) with its reprocessed one."""
    if old is None:
        return CallDiff(recording_id, False, 0, 0, tuple(r.type for r in new.risks), (), {}, True)
    reference = _words(old)
    added, removed = risk_changes(old.risks, new.risks)
    before, after = sentiment_by_role(old), sentiment_by_role(new)
    shift = {
        role: round(after.get(role, 0.0) - before.get(role, 0.0), 3) for role in sorted({*before, *after})
    }
    return CallDiff(
        recording_id=recording_id,
        baseline=True,
        reference_words=len(reference),
        word_errors=word_errors(reference, _words(new)),
        risks_added=tuple(r.type for r in added),
        risks_removed=tuple(r.type for r in removed),
        sentiment_shift=shift,
        summary_changed=old.summary.strip() != new.summary.strip(),
    )


@dataclass(frozen=True, slots=True)
class RunTotals:
    calls: int
    changed: int
    reference_words: int
    word_errors: int
    risks_added: int
    risks_removed: int
    mean_abs_sentiment_shift: float

    @property
    def wer(self) -> float:
        """Corpus WER: all word errors over all reference words (long calls weigh more)."""
        return self.word_errors / self.reference_words if self.reference_words else 0.0


def totals(diffs: Sequence[CallDiff]) -> RunTotals:
    shifts = [abs(v) for d in diffs for v in d.sentiment_shift.values()]
    return RunTotals(
        calls=len(diffs),
        changed=sum(d.changed for d in diffs),
        reference_words=sum(d.reference_words for d in diffs),
        word_errors=sum(d.word_errors for d in diffs),
        risks_added=sum(len(d.risks_added) for d in diffs),
        risks_removed=sum(len(d.risks_removed) for d in diffs),
        mean_abs_sentiment_shift=sum(shifts) / len(shifts) if shifts else 0.0,
    )
