"""The report's pictures as inline SVG (no scripts, no external files): speaker timeline with risk markers,
sentiment over time per speaker, talk share. Coordinates live in a fixed viewBox; the page scales it.
"""

from __future__ import annotations

from html import escape

from dealtalk.api.report_i18n import RISK_NAMES, TEXT
from dealtalk.contracts.documents import CallResult
from dealtalk.pipeline.report import format_time
from dealtalk.pipeline.report_data import SEVERITY_COLOURS, sentiment_series, speaker_colours

__all__ = ["sentiment_svg", "talk_share_svg", "timeline_svg"]

_WIDTH = 1000
_LABEL_W = 150  # left column with the speaker names
_PLOT_W = _WIDTH - _LABEL_W - 10
_LANE_H = 26
_MARKER_ROW = 24  # space above the lanes for the risk markers


def _x(seconds: float, duration: float) -> float:
    return _LABEL_W + _PLOT_W * (seconds / duration if duration > 0 else 0.0)


def _ticks(duration: float, height: float) -> list[str]:
    step = 60.0 if duration <= 900 else 300.0
    parts: list[str] = []
    t = 0.0
    while t <= duration + 0.01:
        x = _x(t, duration)
        parts.append(
            f"<line x1='{x:.1f}' y1='{_MARKER_ROW - 4}' x2='{x:.1f}' y2='{height - 16}' class='grid'/>"
        )
        parts.append(f"<text x='{x:.1f}' y='{height - 3}' class='tick'>{format_time(t)}</text>")
        t += step
    return parts


def timeline_svg(result: CallResult, lang: str) -> str:
    """Speaker lanes with one bar per turn (linked to the transcript) and risk markers above them."""
    duration = max(result.duration_s, max((s.end for s in result.segments), default=0.0), 1.0)
    lanes = {s.id: i for i, s in enumerate(result.speakers)}
    colours = speaker_colours(result)
    height = _MARKER_ROW + _LANE_H * max(len(lanes), 1) + 22
    parts = [
        f"<svg id='timeline' viewBox='0 0 {_WIDTH} {height}' role='img' aria-label='{escape(TEXT[lang]['timeline'])}'>",
        *_ticks(duration, height),
    ]
    for speaker in result.speakers:
        y = _MARKER_ROW + lanes[speaker.id] * _LANE_H
        role = TEXT[lang].get(speaker.role, speaker.role)
        parts.append(f"<text x='0' y='{y + 17}' class='lane'>{escape(speaker.name)} · {escape(role)}</text>")
    for index, segment in enumerate(result.segments):
        lane = lanes.get(segment.speaker)
        if lane is None:
            continue
        x0, x1 = _x(segment.start, duration), _x(segment.end, duration)
        y = _MARKER_ROW + lane * _LANE_H + 4
        parts.append(
            f"<a href='#s{index}'><rect class='turn' x='{x0:.1f}' y='{y}' width='{max(x1 - x0, 1.5):.1f}' "
            f"height='{_LANE_H - 8}' fill='{colours.get(segment.speaker, '#888')}'>"
            f"<title>{format_time(segment.start)} {escape(segment.speaker)}</title></rect></a>"
        )
    names = RISK_NAMES[lang]
    for number, risk in enumerate(result.risks, start=1):
        x = _x(risk.start, duration)
        colour = SEVERITY_COLOURS[risk.severity]
        severity = TEXT[lang][risk.severity]
        label = f"{format_time(risk.start)} {names.get(risk.type, risk.type)} ({severity}): “{risk.quote}”"
        parts.append(
            f"<a href='#s{risk.segment_index}' class='risk-marker' id='m{number}'>"
            f"<polygon points='{x - 7:.1f},2 {x + 7:.1f},2 {x:.1f},{_MARKER_ROW - 6}' fill='{colour}'>"
            f"<title>{escape(label)}</title></polygon>"
            f"<line x1='{x:.1f}' y1='{_MARKER_ROW - 6}' x2='{x:.1f}' y2='{height - 18}' stroke='{colour}' "
            "stroke-dasharray='3 3'/></a>"
        )
    parts.append("</svg>")
    return "".join(parts)


def sentiment_svg(result: CallResult, lang: str) -> str:
    """One line per speaker: the rolling mean polarity of their turns over the call (-1..+1)."""
    duration = max(result.duration_s, 1.0)
    height, top, plot_h = 190, 10, 150
    colours = speaker_colours(result)
    names = {s.id: s.name for s in result.speakers}

    def y(value: float) -> float:
        return top + plot_h * (1 - (value + 1) / 2)

    parts = [
        f"<svg id='sentiment' viewBox='0 0 {_WIDTH} {height}' role='img' "
        f"aria-label='{escape(TEXT[lang]['sentiment'])}'>",
    ]
    for value, label in ((1.0, "+1"), (0.0, "0"), (-1.0, "−1")):
        parts.append(
            f"<line x1='{_LABEL_W}' y1='{y(value):.1f}' x2='{_WIDTH - 10}' y2='{y(value):.1f}' class='grid'/>"
        )
        parts.append(
            f"<text x='{_LABEL_W - 8}' y='{y(value) + 4:.1f}' class='tick' text-anchor='end'>{label}</text>"
        )
    legend_y = 20
    for speaker_id, points in sentiment_series(result).items():
        colour = colours.get(speaker_id, "#888")
        coords = " ".join(f"{_x(p.time_s, duration):.1f},{y(p.value):.1f}" for p in points)
        parts.append(
            f"<polyline class='mood' points='{coords}' fill='none' stroke='{colour}' stroke-width='2.5'/>"
        )
        for point in points:
            parts.append(
                f"<a href='#s{point.segment_index}'><circle cx='{_x(point.time_s, duration):.1f}' "
                f"cy='{y(point.value):.1f}' r='3.5' fill='{colour}'><title>{format_time(point.time_s)} "
                f"{point.value:+.2f}</title></circle></a>"
            )
        name = escape(names.get(speaker_id, speaker_id))
        parts.append(f"<rect x='0' y='{legend_y - 10}' width='10' height='10' fill='{colour}'/>")
        parts.append(f"<text x='15' y='{legend_y}' class='lane'>{name}</text>")
        legend_y += 18
    parts.append(f"<text x='{_LABEL_W}' y='{height - 4}' class='tick'>0:00</text>")
    parts.append(
        f"<text x='{_WIDTH - 10}' y='{height - 4}' class='tick' text-anchor='end'>{format_time(duration)}</text></svg>"
    )
    return "".join(parts)


def talk_share_svg(result: CallResult, lang: str) -> str:
    """One stacked bar: each speaker's share of the talk time, with the 43 % seller benchmark marked."""
    colours = speaker_colours(result)
    parts = [
        f"<svg id='talkshare' viewBox='0 0 {_WIDTH} 60' role='img' aria-label='{escape(TEXT[lang]['talk_share'])}'>"
    ]
    x = 0.0
    # Sellers first, so that the benchmark line reads against the sellers' part of the bar.
    for speaker in sorted(result.speakers, key=lambda s: s.role != "seller"):
        kpis = result.kpis.per_speaker.get(speaker.id)
        if kpis is None or kpis.talk_ratio <= 0:
            continue
        width = _WIDTH * kpis.talk_ratio
        parts.append(
            f"<rect x='{x:.1f}' y='4' width='{width:.1f}' height='30' fill='{colours[speaker.id]}'>"
            f"<title>{escape(speaker.name)}: {kpis.talk_ratio:.0%}</title></rect>"
        )
        if width > 90:
            parts.append(
                f"<text x='{x + 6:.1f}' y='24' class='bar'>{escape(speaker.name)} {kpis.talk_ratio:.0%}</text>"
            )
        x += width
    benchmark = _WIDTH * 0.43
    parts.append(f"<line x1='{benchmark}' y1='0' x2='{benchmark}' y2='40' stroke='#111' stroke-width='2'/>")
    parts.append(f"<text x='{benchmark}' y='54' class='tick' text-anchor='middle'>43 %</text></svg>")
    return "".join(parts)
