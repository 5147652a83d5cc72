"""``dealtalk report CALL_ID --html FILE [--png FILE]``: the call report page (and a PNG snapshot) from the store."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from dealtalk.cli.commands.common import console, handle_errors, load_settings
from dealtalk.contracts.errors import InvalidInput
from dealtalk.pipeline.outcomes import load_outcome
from dealtalk.pipeline.resources import Resources

__all__ = ["report"]


class UiLanguage(StrEnum):
    call = "call"
    nl = "nl"
    en = "en"


def _write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(target)  # atomic: a failed run never leaves half a file


@handle_errors
def report(
    call_id: Annotated[str, typer.Argument(help="The recording id (see `dealtalk calls`).")],
    html: Annotated[Path, typer.Option("--html", help="Write the self-contained HTML page here.")],
    png: Annotated[Path | None, typer.Option("--png", help="Also write a PNG snapshot here.")] = None,
    lang: Annotated[UiLanguage, typer.Option(help="UI language; 'call' follows the call.")] = UiLanguage.call,
) -> None:
    """Render a stored call's report: timeline, sentiment, KPIs against targets, risks, actions, transcript."""
    from dealtalk.api.report_html import render_report

    settings = load_settings()
    resources = Resources.open(settings)
    try:
        outcome = load_outcome(resources.database, resources.blobs, call_id)
    finally:
        resources.close()
    if outcome.result is None:
        raise InvalidInput(f"call {call_id!r} has no result yet (status: {outcome.status})")
    ui = None if lang is UiLanguage.call else lang.value
    _write(html, render_report(outcome.result, subject=outcome.subject, lang=ui).encode("utf-8"))
    console.print(f"{call_id} -> {html}")
    if png is not None:
        from dealtalk.pipeline.report_png import render_png

        _write(png, render_png(outcome.result, subject=outcome.subject))
        console.print(f"{call_id} -> {png}")
