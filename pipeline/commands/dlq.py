"""``dealtalk dlq list|show|replay``: what the stages gave up on, why, and sending it again."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from dealtalk.pipeline.bus.dead_letters import list_dead_letters, replay_dead_letter, show_dead_letter
from dealtalk.pipeline.bus.embedded import EmbeddedBus
from dealtalk.pipeline.commands.common import console, handle_errors, load_settings
from dealtalk.pipeline.store import open_database

__all__ = ["dlq_app"]

dlq_app = typer.Typer(help="Inspect and replay dead-lettered messages.", no_args_is_help=True)


def _bus() -> EmbeddedBus:
    settings = load_settings()
    return EmbeddedBus(open_database(settings.database_url), settings.bus)


@dlq_app.command("list")
@handle_errors
def list_command(
    all_: Annotated[bool, typer.Option("--all", help="Include replayed letters.")] = False,
    limit: Annotated[int, typer.Option(min=1)] = 50,
) -> None:
    """Dead letters, newest first."""
    letters = list_dead_letters(_bus(), include_replayed=all_, limit=limit)
    table = Table(title=f"Dead letters ({len(letters)})")
    for column in ("id", "when", "stage", "recording", "attempt", "error", "reason"):
        table.add_column(column, overflow="fold")
    for letter in letters:
        table.add_row(
            str(letter.id),
            letter.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            letter.stage,
            letter.recording_id or "-",
            str(letter.attempt),
            letter.error_type,
            letter.reason + (" [replayed]" if letter.replayed else ""),
        )
    console.print(table)


@dlq_app.command("show")
@handle_errors
def show_command(dead_letter_id: Annotated[int, typer.Argument(help="The id from `dlq list`.")]) -> None:
    """One dead letter with its headers and original message."""
    letter = show_dead_letter(_bus(), dead_letter_id)
    console.print_json(
        json.dumps(
            {
                "id": letter.id,
                "topic": letter.topic,
                "stage": letter.stage,
                "recording_id": letter.recording_id,
                "reason": letter.reason,
                "error_type": letter.error_type,
                "attempt": letter.attempt,
                "created_at": letter.created_at.isoformat(),
                "replayed": letter.replayed,
                "headers": letter.headers,
                "original": letter.payload,
            }
        )
    )


@dlq_app.command("replay")
@handle_errors
def replay_command(dead_letter_id: Annotated[int, typer.Argument(help="The id from `dlq list`.")]) -> None:
    """Put the original message back on its topic, unchanged (after the cause was fixed)."""
    letter = replay_dead_letter(_bus(), dead_letter_id, actor="cli")
    console.print(f"replayed dead letter {letter.id} onto {letter.topic} (recording {letter.recording_id})")
