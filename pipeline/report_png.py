"""A PNG snapshot of the call report for the Dataverse activity: timeline with risks, sentiment, KPIs.

matplotlib with the Agg backend (no display needed); install the ``report`` extra.
"""

from __future__ import annotations

import io
from typing import Any

from dealtalk.contracts.documents import CallResult
from dealtalk.contracts.errors import ConfigurationError
from dealtalk.pipeline.report import format_time
from dealtalk.pipeline.report_data import SEVERITY_COLOURS, kpi_checks, sentiment_series, speaker_colours

__all__ = ["render_png"]

_KPI_LABELS = {
    "seller_talk_share": "Seller talk share",
    "customer_monologue": "Customer longest monologue",
    "seller_monologue": "Seller longest monologue",
    "seller_questions": "Seller questions",
    "seller_wpm": "Seller words/min",
}


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as exc:
        raise ConfigurationError(
            "the PNG snapshot needs matplotlib: pip install -e '.[report]' (or scripts/setup.sh)"
        ) from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def render_png(result: CallResult, *, subject: str | None = None, dpi: int = 110) -> bytes:
    """The snapshot as PNG bytes (about 1100 x 770 px at the default dpi).

    Raises:
        ConfigurationError: matplotlib is not installed.
    """
    plt = _pyplot()
    colours = speaker_colours(result)
    duration = max(result.duration_s, 1.0)
    fig, (timeline, mood, kpis) = plt.subplots(
        3, 1, figsize=(10, 7), gridspec_kw={"height_ratios": [1.2, 1.4, 1.0]}, constrained_layout=True
    )
    fig.suptitle(
        f"{subject or result.call_id} · {result.language} · {format_time(duration)} · "
        f"health {result.health.score}/100",
        fontsize=12,
        fontweight="bold",
    )
    lanes = {s.id: i for i, s in enumerate(result.speakers)}
    for speaker in result.speakers:
        bars = [(s.start, max(s.end - s.start, 0.2)) for s in result.segments if s.speaker == speaker.id]
        timeline.broken_barh(bars, (lanes[speaker.id] - 0.35, 0.7), color=colours[speaker.id])
    for risk in result.risks:
        colour = SEVERITY_COLOURS[risk.severity]
        timeline.axvline(risk.start, color=colour, linestyle="--", linewidth=1)
        timeline.plot([risk.start], [-0.6], marker="v", color=colour, markersize=9, clip_on=False)
    timeline.set_yticks(range(len(lanes)), [f"{s.name} ({s.role})" for s in result.speakers])
    timeline.set_ylim(len(lanes) - 0.3, -0.7)
    timeline.set_xlim(0, duration)
    timeline.set_title(f"Who spoke when · {len(result.risks)} risk(s) marked", loc="left", fontsize=10)
    _minutes_axis(timeline, duration)

    names = {s.id: s.name for s in result.speakers}
    for speaker_id, points in sentiment_series(result).items():
        mood.plot(
            [p.time_s for p in points],
            [p.value for p in points],
            marker="o",
            markersize=3,
            color=colours.get(speaker_id, "#888888"),
            label=names.get(speaker_id, speaker_id),
        )
    mood.axhline(0, color="#cccccc", linewidth=1)
    mood.set_ylim(-1.1, 1.1)
    mood.set_xlim(0, duration)
    mood.set_yticks([-1, 0, 1], ["negative", "neutral", "positive"])
    mood.set_title("Sentiment over time (mean of the last 3 turns)", loc="left", fontsize=10)
    mood.legend(loc="upper right", fontsize=8)
    _minutes_axis(mood, duration)

    kpis.axis("off")
    rows = [
        [
            _KPI_LABELS[c.key],
            c.format_value(),
            c.format_target(),
            "on target" if c.met else "off target" if c.met is False else "-",
        ]
        for c in kpi_checks(result)
    ]
    table = kpis.table(
        cellText=rows,
        colLabels=["KPI", "value", "target", ""],
        loc="center",
        cellLoc="left",
        colWidths=[0.4, 0.15, 0.3, 0.15],
    )
    table.auto_set_font_size(False)
    table.set_fontsize(9)
    for (row, column), cell in table.get_celld().items():
        if row > 0 and column == 3:
            cell.get_text().set_color("#1b7f3a" if rows[row - 1][3] == "on target" else "#b00020")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    return buffer.getvalue()


def _minutes_axis(axis: Any, duration: float) -> None:
    step = 60.0 if duration <= 900 else 300.0
    ticks = [i * step for i in range(int(duration // step) + 1)]
    axis.set_xticks(ticks, [format_time(t) for t in ticks])
