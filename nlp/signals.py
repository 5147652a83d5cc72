"""From per-segment findings to the call's evidence: risks with exact quotes and times, action items.

A quote is an exact substring of the segment's text (the sentence that carried the evidence, or the segment
up to three sentences when a head spoke for the whole turn); its times come from the words when the transcript
has them, else from the segment proportionally. The same label raised by one speaker in adjacent segments
(within ``merge_gap_s`` and ``merge_max_segments``) is one signal: the stronger quote is kept, the time span
covers both. A repetition further away in the call is a signal of its own, on its own turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from dealtalk.contracts.documents import ActionItemDoc, RiskDoc, SegmentDoc
from dealtalk.contracts.evidence import discounted_confidence, evidence_quality
from dealtalk.nlp.dates import find_dates
from dealtalk.nlp.detect import Finding, RiskFinding
from dealtalk.nlp.text import Sentence

__all__ = ["SignalOptions", "action_items", "risk_signals"]

_SEVERITY_ORDER = ("low", "medium", "high")
_LABEL_NAMES_EN = {
    "competitor_mention": "competitor mentioned",
    "price_objection": "price objection",
    "discount_request": "discount requested",
    "budget_constraint": "budget constraint",
    "timeline_slip": "timeline slipping",
    "decision_maker_absent": "decision maker absent",
    "stakeholder_change": "stakeholder change",
    "contract_termination_threat": "contract termination threat",
    "procurement_tender": "procurement / tender",
    "legal_or_compliance_concern": "legal or compliance concern",
    "low_engagement": "low engagement",
    "scope_reduction": "scope reduction",
}


@dataclass(frozen=True, slots=True)
class SignalOptions:
    merge_gap_s: float = 30.0
    # Adjacent means the very next segment (one turn cut in two by the ASR); a repetition after someone else
    # spoke is said again on a turn of its own, and a reviewer looks for it there.
    merge_max_segments: int = 1
    max_quote_sentences: int = 3


def _span(segment: SegmentDoc, finding: Finding, sentence: int | None, limit: int) -> tuple[int, int]:
    parts: Sequence[Sentence] = finding.sentences
    if not parts:
        return 0, len(segment.text)
    if sentence is not None and 0 <= sentence < len(parts):
        return parts[sentence].start, parts[sentence].end
    chosen = parts[:limit]
    return chosen[0].start, chosen[-1].end


def _times(segment: SegmentDoc, start_char: int, end_char: int) -> tuple[float, float]:
    """Start and end time of a character span of the segment's text."""
    length = max(1, len(segment.text))
    if segment.words:
        # Walk the words in order and find each one in the text: word timings give the exact span.
        position, first, last = 0, None, None
        for word in segment.words:
            token = word.word.strip()
            found = segment.text.find(token, position) if token else -1
            if found < 0:
                continue
            position = found + len(token)
            if first is None and position > start_char:
                first = word.start
            if found < end_char:
                last = word.end
        if first is not None and last is not None and last >= first:
            return first, last
    duration = max(0.0, segment.end - segment.start)
    return segment.start + duration * start_char / length, segment.start + duration * end_char / length


def risk_signals(
    segments: Sequence[SegmentDoc],
    findings: Sequence[Finding],
    severities: dict[str, str],
    options: SignalOptions | None = None,
) -> list[RiskDoc]:
    """Risk signals of a call, adjacent duplicates merged, in time order."""
    options = options or SignalOptions()
    raw: list[tuple[int, RiskFinding, RiskDoc]] = []
    for index, (segment, finding) in enumerate(zip(segments, findings, strict=True)):
        # Badly heard words make weak evidence: the confidence shrinks with the segment's quality.
        quality = evidence_quality(segment)
        for risk in finding.risks:
            start_char, end_char = _span(segment, finding, risk.sentence, options.max_quote_sentences)
            start, end = _times(segment, start_char, end_char)
            severity = severities.get(risk.label, "medium")
            if risk.source == "model" and severity != "low":
                # A head alone is less sure than a rule with the words to show: one step lower.
                severity = _SEVERITY_ORDER[_SEVERITY_ORDER.index(severity) - 1]
            doc = RiskDoc(
                type=risk.label,
                severity=severity,
                confidence=round(discounted_confidence(min(1.0, max(0.0, risk.confidence)), quality), 3),
                speaker=segment.speaker,
                start=round(start, 3),
                end=round(end, 3),
                quote=segment.text[start_char:end_char],
                segment_index=index,
                source=risk.source,
                explanation=f"{_LABEL_NAMES_EN[risk.label]}: {risk.evidence}",
                evidence_quality=round(quality, 3),
            )
            raw.append((index, risk, doc))
    merged: list[RiskDoc] = []
    last_of: dict[tuple[str, str], int] = {}
    last_end: dict[tuple[str, str], float] = {}
    last_index: dict[tuple[str, str], int] = {}
    for index, _, doc in raw:
        key = (doc.type, doc.speaker)
        previous = last_of.get(key)
        adjacent = previous is not None and index - last_index[key] <= options.merge_max_segments
        last_index[key] = index
        if previous is not None and adjacent and doc.start - last_end[key] <= options.merge_gap_s:
            kept = merged[previous]
            stronger, weaker = (doc, kept) if doc.confidence > kept.confidence else (kept, doc)
            # The kept signal's times stay those of its quote (a player jumps there and hears it); the
            # repetition is named in the explanation.
            merged[previous] = stronger.model_copy(
                update={"explanation": f"{stronger.explanation}; repeated at {_clock(weaker.start)}"}
            )
            last_end[key] = max(last_end[key], doc.end)
            continue
        last_of[key] = len(merged)
        last_end[key] = doc.end
        merged.append(doc)
    return sorted(merged, key=lambda r: (r.start, r.type))


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60):02d}:{int(seconds % 60):02d}"


def action_items(
    segments: Sequence[SegmentDoc], findings: Sequence[Finding], call_date: date | None
) -> list[ActionItemDoc]:
    """Action items: the committing sentence, its speaker as owner, the first date said in it as due date."""
    items: list[ActionItemDoc] = []
    for index, (segment, finding) in enumerate(zip(segments, findings, strict=True)):
        if not finding.action:
            continue
        start_char, end_char = _span(segment, finding, finding.action_sentence, 2)
        text = segment.text[start_char:end_char]
        dates = find_dates(text, call_date) or find_dates(segment.text, call_date)
        start, _ = _times(segment, start_char, end_char)
        items.append(
            ActionItemDoc(
                text=text,
                owner=segment.speaker,
                due=dates[0].value if dates else None,
                start=round(start, 3),
                segment_index=index,
                evidence_quality=round(evidence_quality(segment), 3),
            )
        )
    return items
