"""``dealtalk link CALL_ID OPPORTUNITY_ID`` and ``dealtalk calls``: unlinked calls and linking them by hand."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from dealtalk.cli.commands.common import console, handle_errors, load_settings
from dealtalk.pipeline.logs import configure_logging
from dealtalk.pipeline.manual_link import link_call
from dealtalk.pipeline.resources import Resources
from dealtalk.pipeline.store.schema import LinkRow, PublicationRow, RecordingRow

__all__ = ["calls", "link"]


@handle_errors
def link(
    call_id: Annotated[str, typer.Argument(help="The call (recording) id.")],
    opportunity_id: Annotated[str, typer.Argument(help="The Dataverse opportunityid (GUID).")],
) -> None:
    """Link a call to an opportunity by hand and publish it there (an update if it was published before)."""
    settings = load_settings()
    configure_logging("WARNING", settings.log_format)
    resources = Resources.open(settings)
    try:
        found = link_call(resources, call_id, opportunity_id, actor=getpass.getuser())
        console.print(f"linked {call_id} to {found.opportunity_name or opportunity_id}")
        stats = resources.deliver_here(["publish"])
        if stats is None:
            console.print("queued for the publish workers")
        else:
            console.print(f"published ({stats.processed} publication(s) processed)")
    finally:
        resources.close()


@handle_errors
def calls(
    status: Annotated[str | None, typer.Option(help="Only calls in this status (e.g. unlinked).")] = None,
) -> None:
    """Calls in the store with their status and opportunity link."""
    settings = load_settings()
    resources = Resources.open(settings)
    try:
        with resources.database.session() as session:
            query = (
                select(RecordingRow, LinkRow, PublicationRow)
                .outerjoin(LinkRow, LinkRow.recording_id == RecordingRow.recording_id)
                .outerjoin(PublicationRow, PublicationRow.recording_id == RecordingRow.recording_id)
            )
            if status:
                query = query.where(RecordingRow.status == status)
            rows = session.execute(query.order_by(RecordingRow.discovered_at)).all()
        table = Table(title=f"Calls ({len(rows)})")
        for column in ("call id", "status", "subject", "opportunity", "linked via", "activity"):
            table.add_column(column, overflow="fold")
        for recording, link_row, publication in rows:
            table.add_row(
                recording.recording_id,
                recording.status,
                (recording.meeting or {}).get("subject") or "-",
                (link_row.opportunity_name or link_row.opportunity_id or "-") if link_row else "-",
                link_row.method if link_row else "-",
                (publication.activity_id or "-") if publication else "-",
            )
        console.print(table)
    finally:
        resources.close()
