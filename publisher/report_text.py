"""Plain-text renderings of a call result for the CRM: risk lines, action items, the timeline description.

Dataverse shows these in memo columns and on the timeline card, which render plain text only. Each function
is pure and bounded by the column's maximum length (``clip``), cutting on a line break when it can.
"""

from __future__ import annotations

from collections.abc import Iterable

from dealtalk.contracts.documents import ActionItemDoc, CallResult, RiskDoc, SpeakerDoc
from dealtalk.contracts.evidence import heard_badly

__all__ = [
    "action_item_lines",
    "clip",
    "clock",
    "customer_sentiment",
    "describe_call",
    "risk_lines",
    "seller_talk_ratio",
    "speaker_quality_line",
]

_SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}
_ELLIPSIS = "…"
# Customer tone beyond these polarities reads as clearly positive or negative; in between it is neutral.
_POSITIVE_FROM = 0.15
_NEGATIVE_FROM = -0.15


def clock(seconds: float) -> str:
    """Seconds from the start of the recording as ``mm:ss`` (``h:mm:ss`` past an hour)."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def clip(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters; a cut ends on a line break when one is near, then an ellipsis."""
    if len(text) <= limit:
        return text
    if limit <= len(_ELLIPSIS):
        return text[:limit]
    head = text[: limit - len(_ELLIPSIS)]
    newline = head.rfind("\n")
    # Keep a whole line when that loses less than a fifth of the room; otherwise cut mid-line.
    if newline > 0.8 * len(head):
        head = head[:newline]
    return head.rstrip() + _ELLIPSIS


def _speaker_label(speaker_id: str | None, speakers: dict[str, SpeakerDoc]) -> str:
    if speaker_id is None:
        return "unassigned"
    speaker = speakers.get(speaker_id)
    if speaker is None:
        return speaker_id
    return f"{speaker.name} ({speaker.role})" if speaker.role != "unknown" else speaker.name


def _ordered_risks(risks: Iterable[RiskDoc]) -> list[RiskDoc]:
    return sorted(risks, key=lambda r: (_SEVERITY_ORDER[r.severity], r.start))


def _heard(quality: float) -> str:
    # A quote from badly heard audio may not be what was said: the manager should listen before acting.
    return (
        f" [heard badly: audio quality {quality:.2f}, listen to the recording]"
        if heard_badly(quality)
        else ""
    )


def risk_lines(result: CallResult) -> list[str]:
    """One line per risk, most severe first: severity, type, time span, speaker, confidence and the quote
    (marked when the audio it came from was heard badly)."""
    speakers = {s.id: s for s in result.speakers}
    return [
        f"[{risk.severity}] {risk.type} at {clock(risk.start)}-{clock(risk.end)}, "
        f"{_speaker_label(risk.speaker, speakers)}, confidence {risk.confidence:.2f}: "
        f"\u201c{risk.quote}\u201d{_heard(risk.evidence_quality)}"
        for risk in _ordered_risks(result.risks)
    ]


def _action_item_line(item: ActionItemDoc, speakers: dict[str, SpeakerDoc]) -> str:
    details = [f"at {clock(item.start)}"]
    if item.owner:
        details.append(f"owner {_speaker_label(item.owner, speakers)}")
    if item.due:
        details.append(f"due {item.due.isoformat()}")
    return f"{item.text} ({', '.join(details)}){_heard(item.evidence_quality)}"


def speaker_quality_line(result: CallResult) -> str | None:
    """How well each speaker was heard ("Transcript quality: Eva 0.91, Marco 0.43 (heard badly)"), or None."""
    speakers = {s.id: s for s in result.speakers}
    parts = [
        f"{speakers[spk].name if spk in speakers else spk} {kpis.transcript_quality:.2f}"
        + (" (heard badly)" if heard_badly(kpis.transcript_quality) else "")
        for spk, kpis in sorted(result.kpis.per_speaker.items())
    ]
    return f"Transcript quality: {', '.join(parts)}" if parts else None


def action_item_lines(result: CallResult) -> list[str]:
    speakers = {s.id: s for s in result.speakers}
    return [_action_item_line(item, speakers) for item in sorted(result.action_items, key=lambda i: i.start)]


def customer_sentiment(result: CallResult) -> tuple[str, float] | None:
    """The customer's overall tone: a label and a polarity in [-1, 1], weighted by speaking time.

    Why customers only: the seller is friendly by profession, so their tone says little about the deal. When
    no segment is marked customer (an unmatched attendee list), all segments count.

    Returns:
        (label, polarity), or None when no segment carries a sentiment.
    """
    scored = [s for s in result.segments if s.sentiment is not None]
    customers = [s for s in scored if s.role == "customer"] or scored
    weight_sum = 0.0
    polarity_sum = 0.0
    for segment in customers:
        assert segment.sentiment is not None
        weight = max(segment.end - segment.start, 0.1)
        sign = {"positive": 1.0, "negative": -1.0, "neutral": 0.0}[segment.sentiment.label]
        polarity_sum += weight * sign * segment.sentiment.score
        weight_sum += weight
    if weight_sum == 0.0:
        return None
    polarity = max(-1.0, min(1.0, polarity_sum / weight_sum))
    if polarity >= _POSITIVE_FROM:
        return "positive", polarity
    if polarity <= _NEGATIVE_FROM:
        return "negative", polarity
    return "neutral", polarity


def seller_talk_ratio(result: CallResult) -> float | None:
    """Share of speaking time taken by the sellers, or None without seller speakers."""
    sellers = [s.id for s in result.speakers if s.role == "seller"]
    ratios = [result.kpis.per_speaker[s].talk_ratio for s in sellers if s in result.kpis.per_speaker]
    return min(1.0, sum(ratios)) if ratios else None


def describe_call(result: CallResult, *, report_url: str | None, limit: int) -> str:
    """The timeline card's text: summary, health and tone, risks with quotes and times, next steps, link."""
    lines = [result.summary.strip() or "(no summary)", ""]
    facts = [f"Health {result.health.score}/100"]
    tone = customer_sentiment(result)
    if tone is not None:
        facts.append(f"customer sentiment {tone[0]} ({tone[1]:+.2f})")
    facts.append(f"{len(result.risks)} risk signal(s)")
    lines.append(", ".join(facts))
    heard = speaker_quality_line(result)
    if heard:
        lines.append(heard)
    risks = risk_lines(result)
    if risks:
        lines += ["", "Risks:", *(f"- {line}" for line in risks)]
    actions = action_item_lines(result)
    if actions:
        lines += ["", "Next steps:", *(f"- {line}" for line in actions)]
    text = "\n".join(lines)
    if report_url:
        # The link must survive clipping: it leads to everything that did not fit.
        suffix = f"\n\nFull report: {report_url}"
        return clip(text, max(0, limit - len(suffix))) + suffix
    return clip(text, limit)
