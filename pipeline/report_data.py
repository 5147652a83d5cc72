"""What the report's pictures show, computed once from a call result: speaker colours, the sentiment curve per
speaker, and the KPI panel against its targets. Shared by the HTML page (SVG) and the PNG snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass

from dealtalk.contracts.documents import CallResult

__all__ = [
    "SENTIMENT_WINDOW",
    "SEVERITY_COLOURS",
    "KpiCheck",
    "SentimentPoint",
    "kpi_checks",
    "sentiment_series",
    "speaker_colours",
]

# Colour-blind-safe (Okabe-Ito) colours for up to eight speakers, then grey.
_PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
SEVERITY_COLOURS = {"high": "#b00020", "medium": "#d97706", "low": "#2563eb"}
_POLARITY = {"positive": 1.0, "neutral": 0.0, "negative": -1.0}
# Turns averaged into each point of the sentiment curve (a single turn is too noisy to read a trend from).
SENTIMENT_WINDOW = 3


def speaker_colours(result: CallResult) -> dict[str, str]:
    return {s.id: _PALETTE[i] if i < len(_PALETTE) else "#888888" for i, s in enumerate(result.speakers)}


@dataclass(frozen=True, slots=True)
class SentimentPoint:
    time_s: float  # the middle of the turn
    value: float  # mean polarity of this turn and the speaker's previous ones, -1..+1
    segment_index: int


def sentiment_series(result: CallResult, window: int = SENTIMENT_WINDOW) -> dict[str, list[SentimentPoint]]:
    """Per speaker: a rolling mean of turn polarity (+1/0/-1) over the last ``window`` turns."""
    series: dict[str, list[SentimentPoint]] = {}
    recent: dict[str, list[float]] = {}
    for index, segment in enumerate(result.segments):
        if segment.sentiment is None:
            continue
        values = recent.setdefault(segment.speaker, [])
        values.append(_POLARITY[segment.sentiment.label])
        del values[:-window]
        middle = (segment.start + segment.end) / 2
        series.setdefault(segment.speaker, []).append(
            SentimentPoint(middle, sum(values) / len(values), index)
        )
    return series


@dataclass(frozen=True, slots=True)
class KpiCheck:
    """One KPI against its target: ``low``/``high`` bound the target band (None: open on that side)."""

    key: str
    value: float | None
    low: float | None
    high: float | None
    unit: str  # "%", "s", "" or "wpm"
    benchmark: float | None = None  # the published figure the band is built around, when there is one

    @property
    def met(self) -> bool | None:
        if self.value is None:
            return None
        return (self.low is None or self.value >= self.low) and (self.high is None or self.value <= self.high)

    def format_value(self) -> str:
        return "-" if self.value is None else _fmt(self.value, self.unit)

    def format_target(self) -> str:
        if self.low is not None and self.high is not None:
            band = f"{_fmt(self.low, self.unit)}–{_fmt(self.high, self.unit)}"
            return f"≈ {_fmt(self.benchmark, self.unit)} ({band})" if self.benchmark is not None else band
        if self.low is not None:
            return f"≥ {_fmt(self.low, self.unit)}"
        return f"≤ {_fmt(self.high or 0.0, self.unit)}"


def _fmt(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value:.0f} %"
    if unit == "s":
        return f"{value:.0f} s"
    return f"{value:.0f}"


def kpi_checks(result: CallResult) -> list[KpiCheck]:
    """The KPI panel. Targets follow published sales-call benchmarks (seller talk share around 43 %, i.e. the
    customer talks more; short seller monologues; a customer who tells a story; enough questions).
    """
    sellers = [s.id for s in result.speakers if s.role == "seller"]
    per = result.kpis.per_speaker
    seller_kpis = [per[s] for s in sellers if s in per]
    share = sum(k.talk_ratio for k in seller_kpis) * 100 if seller_kpis else None
    seller_mono = max((k.longest_monologue_ms for k in seller_kpis), default=None)
    words = sum(k.words_per_minute * k.talk_time_s for k in seller_kpis)
    talk = sum(k.talk_time_s for k in seller_kpis)
    return [
        KpiCheck("seller_talk_share", share, 35.0, 50.0, "%", benchmark=43.0),
        KpiCheck(
            "customer_monologue", result.kpis.call.customer_longest_monologue_ms / 1000, 20.0, None, "s"
        ),
        KpiCheck(
            "seller_monologue", seller_mono / 1000 if seller_mono is not None else None, None, 90.0, "s"
        ),
        KpiCheck(
            "seller_questions", float(result.kpis.call.questions_seller) if sellers else None, 3.0, None, ""
        ),
        KpiCheck("seller_wpm", words / talk if talk else None, 110.0, 170.0, "wpm"),
    ]
