"""``dealtalk dataverse provision``: create the call-insights activity table in the configured organisation."""

from __future__ import annotations

from typing import Annotated

import typer

from dealtalk.cli.commands.common import console, handle_errors, load_settings
from dealtalk.pipeline.logs import configure_logging

__all__ = ["dataverse_app"]

dataverse_app = typer.Typer(help="Dynamics 365 (Dataverse) setup.", no_args_is_help=True)


@dataverse_app.command("provision")
@handle_errors
def provision(
    wait_s: Annotated[
        float, typer.Option(help="How long to wait for Dataverse to activate the recording-id key.")
    ] = 300.0,
) -> None:
    """Create the call-insights activity table, its columns and its alternate key (idempotent).

    Uses DEALTALK_DATAVERSE__* for the organisation and DEALTALK_PUBLISHER__* for the names; the columns come
    from deploy/dataverse/call_insights.table.json. Running it again only reports what is there.
    """
    # Imported here: the CLI starts without loading MSAL and httpx for every other command.
    from dealtalk.pipeline.models_and_clients import ModelsAndClients

    settings = load_settings()
    configure_logging("WARNING", settings.log_format)
    with ModelsAndClients(settings) as models:
        steps = models.provision_activity_table(wait_for_key_s=wait_s)
    publisher = settings.publisher
    for step in steps:
        colour = {"created": "green", "pending": "yellow", "failed": "red"}.get(step.outcome, "dim")
        console.print(f"  [{colour}]{step.outcome:<8}[/{colour}] {step.item}")
    created = sum(step.outcome == "created" for step in steps)
    console.print(
        f"{publisher.activity_logical_name} ({publisher.activity_entity_set}) in {settings.dataverse.url}: "
        + (f"{created} item(s) created" if created else "already provisioned, nothing changed")
    )
