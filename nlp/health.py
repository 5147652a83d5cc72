"""Call health (0–100) with the reasons that moved it, and an opportunity's trend across its calls.

The score starts at a neutral 70 and moves for reasons a sales manager recognises: each risk by severity
(the same type counts once per call, its strongest signal), the customer's sentiment balance, whether a next
step was agreed, the seller's talk share against the ~43 % benchmark, and the customer's questions (interest).
Every move is a reason with its delta, so the number explains itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from dealtalk.contracts.documents import (
    ActionItemDoc,
    HealthDoc,
    HealthReasonDoc,
    InsightsDoc,
    KpisDoc,
    RiskDoc,
    SentimentDoc,
)

__all__ = ["HealthOptions", "HealthTrend", "TrendPoint", "call_health", "health_trend"]

_RISK_DELTA = {"high": -12.0, "medium": -7.0, "low": -3.0}


@dataclass(frozen=True, slots=True)
class HealthOptions:
    base: float = 70.0
    seller_talk_low: float = 0.30
    seller_talk_high: float = 0.65


def call_health(
    *,
    risks: Sequence[RiskDoc],
    sentiments: Sequence[SentimentDoc],
    customer_segments: Sequence[int],
    kpis: KpisDoc,
    action_items: Sequence[ActionItemDoc],
    seller_ids: Sequence[str],
    options: HealthOptions | None = None,
) -> HealthDoc:
    """The health of one call.

    Args:
        risks: the call's risk signals.
        sentiments: per segment.
        customer_segments: indices of the customer's (or unknown role's) segments.
        kpis: the call's KPIs.
        action_items: agreed next steps.
        seller_ids: speaker ids of the seller's side.
        options: base score and talk-share band.
    """
    options = options or HealthOptions()
    reasons: list[HealthReasonDoc] = []
    strongest: dict[str, RiskDoc] = {}
    for risk in risks:
        kept = strongest.get(risk.type)
        if kept is None or _RISK_DELTA[risk.severity] < _RISK_DELTA[kept.severity]:
            strongest[risk.type] = risk
    for risk in sorted(strongest.values(), key=lambda r: (_RISK_DELTA[r.severity], r.start)):
        delta = _RISK_DELTA[risk.severity] * (0.5 + 0.5 * risk.confidence)
        reasons.append(HealthReasonDoc(reason=f"{risk.severity} risk: {risk.type}", delta=round(delta, 1)))

    customer = [sentiments[i] for i in customer_segments if i < len(sentiments)]
    if customer:
        balance = sum(
            (1 if s.label == "positive" else -1 if s.label == "negative" else 0) for s in customer
        ) / len(customer)
        if abs(balance) >= 0.05:
            mood = "positive" if balance > 0 else "negative"
            reasons.append(
                HealthReasonDoc(reason=f"customer sentiment {mood}", delta=round(15.0 * balance, 1))
            )

    if action_items:
        reasons.append(HealthReasonDoc(reason=f"next steps agreed ({len(action_items)})", delta=8.0))
    elif kpis.per_speaker:
        reasons.append(HealthReasonDoc(reason="no next step agreed", delta=-8.0))

    seller_share = sum(kpis.per_speaker[s].talk_ratio for s in seller_ids if s in kpis.per_speaker)
    if seller_ids and kpis.per_speaker and seller_share > options.seller_talk_high:
        reasons.append(HealthReasonDoc(reason=f"seller talked {seller_share:.0%} of the time", delta=-5.0))
    elif seller_ids and kpis.per_speaker and 0 < seller_share < options.seller_talk_low:
        reasons.append(HealthReasonDoc(reason=f"seller talked only {seller_share:.0%}", delta=-2.0))

    if kpis.call.questions_others >= 2:
        reasons.append(HealthReasonDoc(reason="customer asked questions", delta=3.0))

    score = options.base + sum(r.delta for r in reasons)
    return HealthDoc(score=round(min(100.0, max(0.0, score))), reasons=tuple(reasons))


@dataclass(frozen=True, slots=True)
class TrendPoint:
    call_date: date
    score: int


@dataclass(frozen=True, slots=True)
class HealthTrend:
    """An opportunity's health over its calls (oldest first)."""

    points: tuple[TrendPoint, ...]
    latest: int | None
    change: int | None  # latest minus the call before it
    slope_per_30d: float | None  # least-squares slope, points per 30 days
    direction: Literal["improving", "declining", "stable", "unknown"]


def health_trend(
    calls: Sequence[tuple[date, HealthDoc | InsightsDoc]], *, stable_band: float = 3.0
) -> HealthTrend:
    """The trend of call health across an opportunity's calls.

    Args:
        calls: (call date, the call's health or insights), any order.
        stable_band: slopes within ± this many points per 30 days count as stable.

    Returns:
        the points in date order, the latest score, its change, the slope and a direction ("unknown" with
        fewer than two calls).
    """
    points = tuple(
        sorted(
            (
                TrendPoint(day, (doc.health if isinstance(doc, InsightsDoc) else doc).score)
                for day, doc in calls
            ),
            key=lambda p: p.call_date,
        )
    )
    if not points:
        return HealthTrend((), None, None, None, "unknown")
    latest = points[-1].score
    if len(points) < 2:
        return HealthTrend(points, latest, None, None, "unknown")
    change = latest - points[-2].score
    origin = points[0].call_date
    xs = [(p.call_date - origin).days / 30.0 for p in points]
    ys = [float(p.score) for p in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        # All calls on one day: the change between the last two is all there is.
        slope = float(change)
    else:
        slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    direction: Literal["improving", "declining", "stable"] = (
        "improving" if slope > stable_band else "declining" if slope < -stable_band else "stable"
    )
    return HealthTrend(points, latest, change, round(slope, 2), direction)
