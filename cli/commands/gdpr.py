"""``dealtalk gdpr``: retention, erasure of a person and export for an access request.

Exit codes (contracts): 0 done; 1 not done (an unknown address, a call still being processed, a CRM that
could not be updated: the message says which, and running the command again resumes); 2 usage error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from dealtalk.cli.commands.common import (
    EXIT_PROCESSING,
    EXIT_USAGE,
    console,
    err_console,
    handle_errors,
    load_settings,
)
from dealtalk.contracts.errors import InvalidInput
from dealtalk.pipeline.gdpr.audit import default_actor
from dealtalk.pipeline.gdpr.erasure import erase_person, valid_email
from dealtalk.pipeline.gdpr.export import export_person
from dealtalk.pipeline.gdpr.retention import run_retention
from dealtalk.pipeline.logs import configure_logging
from dealtalk.pipeline.resources import Resources

__all__ = ["gdpr_app"]

gdpr_app = typer.Typer(
    help="Privacy (GDPR): retention, erasure and export of a person's data.", no_args_is_help=True
)

_Email = Annotated[str, typer.Option("--email", help="The person's e-mail address.")]


def _address(email: str) -> str:
    try:
        return valid_email(email)
    except InvalidInput as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_USAGE) from exc


@gdpr_app.command()
@handle_errors
def retention(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be removed; change nothing.")
    ] = False,
) -> None:
    """Remove audio and transcripts older than the retention settings (DEALTALK_GDPR__*_RETENTION_DAYS)."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    resources = Resources.open(settings)
    try:
        report = run_retention(resources, actor=default_actor(), dry_run=dry_run)
    finally:
        resources.close()
    verb = "would remove" if dry_run else "removed"
    console.print(
        f"retention {verb}: audio of {len(report.audio)} recording(s) (older than "
        f"{settings.gdpr.audio_retention_days} days), transcripts of {len(report.transcripts)} "
        f"(older than {settings.gdpr.transcript_retention_days} days; insights "
        f"{'pseudonymised' if settings.gdpr.pseudonymise_insights else 'deleted'})"
    )
    for recording_id in report.audio:
        console.print(f"  audio       {recording_id}")
    for recording_id in report.transcripts:
        console.print(f"  transcript  {recording_id}")
    for warning in report.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {warning}")
    if report.busy:
        err_console.print(f"{len(report.busy)} recording(s) are being processed; the next run takes them")


@gdpr_app.command()
@handle_errors
def erase(
    email: _Email,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be erased; change nothing.")
    ] = False,
) -> None:
    """Erase a person: their speech, quotes, name and address from every call, blob, event and CRM activity."""
    address = _address(email)
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    resources = Resources.open(settings)
    try:
        report = erase_person(resources, address, actor=default_actor(), dry_run=dry_run)
    finally:
        resources.close()
    counts = ", ".join(f"{k}={v}" for k, v in sorted(report.counts.items()))
    if report.status == "unknown":
        err_console.print(
            f"[red]error:[/red] no call, voiceprint or earlier erasure mentions {address}; nothing erased"
        )
        raise typer.Exit(EXIT_PROCESSING)
    if report.status == "dry_run":
        console.print(
            f"would erase from {len(report.recordings)} recording(s) (policy {report.policy}): {counts}"
        )
        return
    console.print(
        f"erasure {report.status}: {len(report.recordings)} recording(s), policy {report.policy}: {counts}"
    )
    for recording_id, topic in report.busy.items():
        err_console.print(
            f"  {recording_id}: still being processed ({topic}); left untouched, erase again when done"
        )
    for recording_id in report.unlocated:
        err_console.print(
            f"  {recording_id}: no speaker of this call was attributed to them; their name and address are "
            "erased, but unattributed speech cannot be told apart (DEALTALK_GDPR__ERASE_WHOLE_RECORDINGS=whole "
            "removes such calls)"
        )
    for recording_id, problem in report.crm_failed.items():
        err_console.print(f"  {recording_id}: the CRM activity was not updated yet: {problem}")
    if report.status != "done":
        err_console.print(
            "[red]error:[/red] the erasure is not complete; run the same command again to resume"
        )
        raise typer.Exit(EXIT_PROCESSING)


@gdpr_app.command()
@handle_errors
def export(
    email: _Email,
    json_file: Annotated[Path | None, typer.Option("--json", help="Write the export to this file.")] = None,
) -> None:
    """Everything held about a person, as JSON (for an access request)."""
    address = _address(email)
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    resources = Resources.open(settings)
    try:
        data = export_person(resources, address, actor=default_actor())
    finally:
        resources.close()
    if data is None:
        err_console.print(f"[red]error:[/red] no data is held about {address}")
        raise typer.Exit(EXIT_PROCESSING)
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if json_file is None:
        typer.echo(text, nl=False)
        return
    json_file.write_text(text, encoding="utf-8")
    console.print(f"wrote {json_file}: {len(data['calls'])} call(s)")
