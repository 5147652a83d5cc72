"""The per-call report the CLI prints: speakers, sentiment, risks with quote and time, action items, link."""

from __future__ import annotations

from collections import Counter

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from dealtalk.contracts.documents import CallResult
from dealtalk.contracts.events import CallPublished
from dealtalk.contracts.evidence import heard_badly

__all__ = ["format_time", "render_call"]

_SEVERITY_STYLE = {"high": "bold red", "medium": "yellow", "low": "cyan"}
_SENTIMENT_STYLE = {"positive": "green", "neutral": "white", "negative": "red"}


def format_time(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}:{secs:02d}"


def render_call(
    console: Console,
    result: CallResult,
    *,
    subject: str | None = None,
    published: CallPublished | None = None,
) -> None:
    """Print one call's report as a panel of tables."""
    parts: list[Table | Text] = [_speakers(result), _risks(result), _actions(result)]
    parts.append(Text.assemble(("Summary  ", "bold"), result.summary or "(no summary)"))
    health = result.health
    reasons = "; ".join(f"{r.reason} ({r.delta:+.0f})" for r in health.reasons[:4])
    parts.append(Text.assemble(("Health   ", "bold"), (f"{health.score}/100", "bold"), f"  {reasons}"))
    if published is not None:
        parts.append(_publication(published))
    if result.warnings:
        parts.append(Text("Warnings " + "; ".join(result.warnings), style="yellow"))
    title = f"{result.call_id} · {subject or ''} · {result.language} · {format_time(result.duration_s)}"
    console.print(Panel(Group(*parts), title=title, title_align="left", expand=True))


def _speakers(result: CallResult) -> Table:
    table = Table(title="Speakers", title_justify="left", expand=True)
    # Short columns keep their width; the last one takes what is left (an 80-column terminal included).
    # "heard": how well the ASR heard this speaker (0..1); below 0.5 their quotes may not be what was said.
    for column in ("id", "name", "role", "talk", "wpm", "questions", "heard"):
        table.add_column(column, no_wrap=True)
    table.add_column("sentiment", ratio=1)
    for speaker in result.speakers:
        kpis = result.kpis.per_speaker.get(speaker.id)
        labels = Counter(
            s.sentiment.label for s in result.segments if s.speaker == speaker.id and s.sentiment
        )
        mood = labels.most_common(1)[0][0] if labels else "-"
        table.add_row(
            speaker.id,
            speaker.name,
            speaker.role,
            f"{kpis.talk_ratio:.0%}" if kpis else "-",
            f"{kpis.words_per_minute:.0f}" if kpis else "-",
            str(kpis.questions) if kpis else "-",
            _heard_cell(kpis.transcript_quality) if kpis else Text("-"),
            Text(f"{mood} ({sum(labels.values())} seg.)", style=_SENTIMENT_STYLE.get(mood, "")),
        )
    return table


def _risks(result: CallResult) -> Table:
    table = Table(title=f"Risks ({len(result.risks)})", title_justify="left", expand=True)
    # Time, type, severity and confidence stacked in one narrow column leave the width to the quote.
    table.add_column("when · risk", no_wrap=True)
    table.add_column("speaker · quote", ratio=1, overflow="fold")
    names = {s.id: s.name for s in result.speakers}
    for risk in result.risks:
        table.add_row(
            Text.assemble(
                f"{format_time(risk.start)}–{format_time(risk.end)}\n{risk.type}\n",
                (risk.severity, _SEVERITY_STYLE[risk.severity]),
                f" · {risk.confidence:.2f}",
            ),
            Text.assemble(
                (names.get(risk.speaker, risk.speaker), "bold"),
                f": “{risk.quote}”",
                _badly_heard(risk.evidence_quality),
            ),
        )
    return table


def _heard_cell(quality: float) -> Text:
    return Text(f"{quality:.2f}", style="bold yellow" if heard_badly(quality) else "")


def _badly_heard(quality: float) -> tuple[str, str]:
    # The quote may not be what was said: say so beside it, so the manager listens before acting on it.
    return (f"  (heard badly, {quality:.2f}: listen)", "yellow") if heard_badly(quality) else ("", "")


def _actions(result: CallResult) -> Table:
    table = Table(title=f"Action items ({len(result.action_items)})", title_justify="left", expand=True)
    for column in ("time", "owner", "due"):
        table.add_column(column, no_wrap=True)
    table.add_column("action", ratio=1, overflow="fold")
    names = {s.id: s.name for s in result.speakers}
    for item in result.action_items:
        table.add_row(
            format_time(item.start),
            names.get(item.owner or "", item.owner or "-"),
            item.due.isoformat() if item.due else "-",
            Text.assemble(item.text, _badly_heard(item.evidence_quality)),
        )
    return table


def _publication(published: CallPublished) -> Text:
    if published.status == "unlinked":
        return Text.assemble(
            ("Opportunity ", "bold"),
            ("not linked", "yellow"),
            f"  ({published.link_detail}); ",
            "link it with `dealtalk link CALL_ID OPPORTUNITY_ID`",
        )
    return Text.assemble(
        ("Opportunity ", "bold"),
        f"{published.opportunity_name or published.opportunity_id}",
        f"  [{published.account_name or ''}] via {published.link_method}: {published.link_detail}\n",
        ("Activity    ", "bold"),
        f"{published.activity_id} → {published.target}",
    )
