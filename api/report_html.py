"""The call report as one self-contained HTML page: what the D365 activity links to.

A sales manager sees the summary, health, risks with the exact quote and moment (each a link into the
transcript), action items, who spoke how much, and the transcript itself. All text is escaped.
"""

from __future__ import annotations

from html import escape

from dealtalk.pipeline.documents import CallResult
from dealtalk.pipeline.report import format_time

__all__ = ["render_report"]

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%}td,th{padding:.3rem .5rem;border-bottom:1px solid #eee;text-align:left;
vertical-align:top}.high{color:#b00020;font-weight:600}.medium{color:#a35c00}.low{color:#00639b}
.seg{margin:.2rem 0}.t{color:#666;font-variant-numeric:tabular-nums}.hl{background:#fff3c4}
.positive{color:#1b7f3a}.negative{color:#b00020}.score{font-size:2rem;font-weight:700}
"""


def render_report(result: CallResult, *, subject: str | None = None) -> str:
    """The HTML page for one call result."""
    names = {s.id: s.name for s in result.speakers}
    risky_segments = {risk.segment_index for risk in result.risks}
    parts = [
        "<!doctype html><html lang='en'><meta charset='utf-8'>",
        f"<title>{escape(subject or result.call_id)}</title><style>{_STYLE}</style>",
        f"<h1>{escape(subject or result.call_id)}</h1>",
        f"<p class='t'>{escape(result.call_id)} · {escape(result.language)} · {format_time(result.duration_s)}</p>",
        f"<p><span class='score'>{result.health.score}</span>/100 call health</p><ul>",
        *(f"<li>{escape(r.reason)} ({r.delta:+.0f})</li>" for r in result.health.reasons),
        f"</ul><h2>Summary</h2><p>{escape(result.summary)}</p>",
        f"<h2>Risks ({len(result.risks)})</h2><table><tr><th>when</th><th>risk</th><th>severity</th>"
        "<th>who</th><th>quote</th></tr>",
    ]
    for risk in result.risks:
        parts.append(
            f"<tr><td class='t'><a href='#s{risk.segment_index}'>{format_time(risk.start)}</a></td>"
            f"<td>{escape(risk.type)}</td><td class='{risk.severity}'>{risk.severity} ({risk.confidence:.2f})</td>"
            f"<td>{escape(names.get(risk.speaker, risk.speaker))}</td><td>“{escape(risk.quote)}”</td></tr>"
        )
    parts.append(f"</table><h2>Action items ({len(result.action_items)})</h2><table>")
    for item in result.action_items:
        due = item.due.isoformat() if item.due else ""
        parts.append(
            f"<tr><td class='t'><a href='#s{item.segment_index}'>{format_time(item.start)}</a></td>"
            f"<td>{escape(names.get(item.owner or '', item.owner or ''))}</td><td>{due}</td>"
            f"<td>{escape(item.text)}</td></tr>"
        )
    parts.append(
        "</table><h2>Speakers</h2><table><tr><th>name</th><th>role</th><th>talk share</th><th>words/min</th>"
        "<th>longest monologue</th></tr>"
    )
    for speaker in result.speakers:
        kpis = result.kpis.per_speaker.get(speaker.id)
        if kpis is None:
            continue
        parts.append(
            f"<tr><td>{escape(speaker.name)}</td><td>{speaker.role}</td><td>{kpis.talk_ratio:.0%}</td>"
            f"<td>{kpis.words_per_minute:.0f}</td><td>{kpis.longest_monologue_ms / 1000:.0f} s</td></tr>"
        )
    parts.append("</table><h2>Transcript</h2>")
    for index, segment in enumerate(result.segments):
        mood = segment.sentiment.label if segment.sentiment else ""
        highlight = " hl" if index in risky_segments else ""
        parts.append(
            f"<p class='seg{highlight}' id='s{index}'><span class='t'>{format_time(segment.start)}</span> "
            f"<b>{escape(names.get(segment.speaker, segment.speaker))}</b> "
            f"<span class='{mood}'>{escape(segment.text)}</span></p>"
        )
    parts.append("</html>")
    return "\n".join(parts)
