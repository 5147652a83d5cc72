"""The call report as one self-contained HTML page: what the D365 activity links to.

A sales manager sees the summary and health, who spoke when (a timeline with the risks marked on it), the
sentiment of each speaker over the call, talk share and KPIs against their targets, every risk with its quote,
severity and a link to the moment in the transcript, the action items, the transcript and the models that
produced it all. Dutch UI text for Dutch calls, English otherwise.

Self-contained: inline CSS and SVG, no scripts, and a Content-Security-Policy that forbids every fetch, so the
page opens offline and never calls out. All text from the call is escaped.
"""

from __future__ import annotations

from html import escape

from dealtalk.api.report_i18n import RISK_NAMES, TEXT, ui_language
from dealtalk.api.report_svg import sentiment_svg, talk_share_svg, timeline_svg
from dealtalk.contracts.documents import CallResult
from dealtalk.contracts.evidence import heard_badly
from dealtalk.pipeline.report import format_time
from dealtalk.pipeline.report_data import kpi_checks, speaker_colours

__all__ = ["CSP", "render_report"]

# Nothing may be loaded: no scripts, fonts, images or connections; only the inline style sheet.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.4rem;margin-bottom:.2rem}h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%}td,th{padding:.3rem .5rem;border-bottom:1px solid #eee;text-align:left;
vertical-align:top}.high{color:#b00020;font-weight:600}.medium{color:#a35c00}.low{color:#00639b}
.seg{margin:.2rem 0;scroll-margin-top:1rem}.seg:target{outline:2px solid #b00020}.t{color:#666;
font-variant-numeric:tabular-nums}.hl{background:#fff3c4}.badly-heard{color:#8a5300;font-style:italic}.positive{color:#1b7f3a}.negative{color:#b00020}
.score{font-size:2rem;font-weight:700}.hint{color:#666;font-size:.85rem;margin:.2rem 0}
svg{width:100%;height:auto;display:block}svg .grid{stroke:#e5e5e5}svg .tick{font-size:11px;fill:#666}
svg .lane{font-size:12px;fill:#333}svg .bar{font-size:13px;fill:#fff;font-weight:600}
.met{color:#1b7f3a;font-weight:600}.missed{color:#b00020;font-weight:600}.chip{display:inline-block;
width:.8rem;height:.8rem;border-radius:.2rem;margin-right:.3rem;vertical-align:middle}
code{font-size:.8rem;color:#555}
"""


def render_report(result: CallResult, *, subject: str | None = None, lang: str | None = None) -> str:
    """The HTML page for one call result.

    Args:
        result: the call result.
        subject: the meeting subject for the title (the call id when unknown).
        lang: "nl" or "en" for the UI text; by default the call's own language decides.
    """
    ui = lang or ui_language(result.language)
    text = TEXT[ui]
    title = escape(subject or result.call_id)
    parts = [
        f"<!doctype html><html lang='{ui}'><head><meta charset='utf-8'>",
        f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{title}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{title}</h1>",
        f"<p class='t'>{text['report']} · {escape(result.call_id)} · {escape(result.language)} · "
        f"{format_time(result.duration_s)}</p>",
        f"<p id='health'><span class='score'>{result.health.score}</span>/100 {text['health']}</p><ul>",
        *(f"<li>{escape(r.reason)} ({r.delta:+.0f})</li>" for r in result.health.reasons),
        f"</ul><h2>{text['summary']}</h2><p id='summary'>{escape(result.summary)}</p>",
        f"<h2>{text['timeline']}</h2><p class='hint'>{text['timeline_hint']}</p>",
        timeline_svg(result, ui),
        f"<h2>{text['sentiment']}</h2><p class='hint'>{text['sentiment_hint']}</p>",
        sentiment_svg(result, ui),
        f"<h2>{text['kpis']}</h2>",
        talk_share_svg(result, ui),
        *_kpi_table(result, ui),
        *_risks(result, ui),
        *_actions(result, ui),
        *_transcript(result, ui),
        *_provenance(result, ui),
        "</body></html>",
    ]
    return "\n".join(parts)


def _kpi_table(result: CallResult, ui: str) -> list[str]:
    text = TEXT[ui]
    rows = [
        f"<table id='kpis'><tr><th>{text['kpi']}</th><th>{text['value']}</th><th>{text['target']}</th><th></th></tr>"
    ]
    for check in kpi_checks(result):
        met = check.met
        verdict = (
            f"<span class='met'>✓ {text['met']}</span>"
            if met
            else f"<span class='missed'>✗ {text['missed']}</span>"
            if met is False
            else text["no_value"]
        )
        rows.append(
            f"<tr><td>{text[check.key]}</td><td>{check.format_value()}</td><td>{check.format_target()}</td>"
            f"<td>{verdict}</td></tr>"
        )
    colours = speaker_colours(result)
    rows.append(
        f"</table><table><tr><th></th><th>{text['talk_share']}</th><th>wpm</th><th>?</th>"
        f"<th>{text['heard']}</th></tr>"
    )
    for speaker in result.speakers:
        kpis = result.kpis.per_speaker.get(speaker.id)
        if kpis is None:
            continue
        rows.append(
            f"<tr><td><span class='chip' style='background:{colours[speaker.id]}'></span>{escape(speaker.name)} "
            f"({text.get(speaker.role, speaker.role)})</td><td>{kpis.talk_ratio:.0%}</td>"
            f"<td>{kpis.words_per_minute:.0f}</td><td>{kpis.questions}</td>"
            f"<td{_badly(kpis.transcript_quality)}>{kpis.transcript_quality:.2f}</td></tr>"
        )
    rows.append("</table>")
    return rows


def _risks(result: CallResult, ui: str) -> list[str]:
    text, names = TEXT[ui], RISK_NAMES[ui]
    speakers = {s.id: s.name for s in result.speakers}
    rows = [f"<h2>{text['risks']} ({len(result.risks)})</h2>"]
    if not result.risks:
        return [*rows, f"<p>{text['no_risks']}</p>"]
    rows.append(
        f"<table id='risks'><tr><th>{text['when']}</th><th>{text['risk']}</th><th>{text['severity']}</th>"
        f"<th>{text['who']}</th><th>{text['quote']}</th></tr>"
    )
    for risk in result.risks:
        rows.append(
            f"<tr class='risk'><td class='t'><a href='#s{risk.segment_index}'>{format_time(risk.start)}</a></td>"
            f"<td>{escape(names.get(risk.type, risk.type))}</td>"
            f"<td class='{risk.severity}'>{text[risk.severity]} ({risk.confidence:.2f})</td>"
            f"<td>{escape(speakers.get(risk.speaker, risk.speaker))}</td><td>“{escape(risk.quote)}”"
            f"{_heard_note(risk.evidence_quality, text)}</td></tr>"
        )
    rows.append("</table>")
    return rows


def _actions(result: CallResult, ui: str) -> list[str]:
    text = TEXT[ui]
    speakers = {s.id: s.name for s in result.speakers}
    rows = [f"<h2>{text['actions']} ({len(result.action_items)})</h2>"]
    if not result.action_items:
        return [*rows, f"<p>{text['no_actions']}</p>"]
    rows.append(
        f"<table id='actions'><tr><th>{text['when']}</th><th>{text['owner']}</th><th>{text['due']}</th>"
        f"<th>{text['action']}</th></tr>"
    )
    for item in result.action_items:
        due = item.due.isoformat() if item.due else ""
        rows.append(
            f"<tr><td class='t'><a href='#s{item.segment_index}'>{format_time(item.start)}</a></td>"
            f"<td>{escape(speakers.get(item.owner or '', item.owner or ''))}</td><td>{due}</td>"
            f"<td>{escape(item.text)}{_heard_note(item.evidence_quality, text)}</td></tr>"
        )
    rows.append("</table>")
    return rows


def _badly(quality: float) -> str:
    return " class='badly-heard'" if heard_badly(quality) else ""


def _heard_note(quality: float, text: dict[str, str]) -> str:
    # A quote from badly heard audio may not be what was said: the manager should listen before acting on it.
    if not heard_badly(quality):
        return ""
    return f" <span class='badly-heard'>({escape(text['heard_badly'])}; {quality:.2f})</span>"


def _transcript(result: CallResult, ui: str) -> list[str]:
    names = {s.id: s.name for s in result.speakers}
    risky = {risk.segment_index for risk in result.risks}
    rows = [f"<h2>{TEXT[ui]['transcript']}</h2><div id='transcript'>"]
    for index, segment in enumerate(result.segments):
        mood = segment.sentiment.label if segment.sentiment else ""
        highlight = " hl" if index in risky else ""
        rows.append(
            f"<p class='seg{highlight}' id='s{index}'><span class='t'>{format_time(segment.start)}</span> "
            f"<b>{escape(names.get(segment.speaker, segment.speaker))}</b> "
            f"<span class='{mood}'>{escape(segment.text)}</span></p>"
        )
    rows.append("</div>")
    return rows


def _provenance(result: CallResult, ui: str) -> list[str]:
    text = TEXT[ui]
    rows = [
        f"<h2>{text['models']}</h2><table id='models'><tr><th></th><th>{text['model']}</th>"
        f"<th>{text['version']}</th><th>{text['source']}</th><th>sha256</th></tr>"
    ]
    for kind, ref in sorted(result.models.items()):
        rows.append(
            f"<tr><td>{escape(kind)}</td><td>{escape(ref.name)}</td><td>{escape(ref.version)}</td>"
            f"<td>{escape(ref.source)}</td><td><code>{escape(ref.sha256[:12])}</code></td></tr>"
        )
    rows.append("</table>")
    if result.warnings:
        rows.append(f"<h2>{text['warnings']}</h2><ul>")
        rows.extend(f"<li>{escape(w)}</li>" for w in result.warnings)
        rows.append("</ul>")
    return rows
