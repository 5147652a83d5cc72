"""``dealtalk dlq list|show|replay``: what the stages gave up on, why, and sending it again.

On the embedded bus dead letters are rows of the store, named by number; on Kafka they are records of the
dead-letter topic, named ``partition:offset`` (or by event id), and replays are recorded in the store.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from dealtalk.cli.commands.common import console, handle_errors, load_settings
from dealtalk.pipeline.resources import Resources

__all__ = ["dlq_app"]

dlq_app = typer.Typer(help="Inspect and replay dead-lettered messages.", no_args_is_help=True)

_COLUMNS = ("id", "when", "stage", "recording", "attempt", "error", "reason")
_LetterId = Annotated[
    str, typer.Argument(help="The id from `dlq list` (Kafka: partition:offset or event id).")
]


@dlq_app.command("list")
@handle_errors
def list_command(
    all_: Annotated[bool, typer.Option("--all", help="Include replayed letters.")] = False,
    limit: Annotated[int, typer.Option(min=1)] = 50,
) -> None:
    """Dead letters, newest first."""
    resources = Resources.open(load_settings())
    try:
        lines = resources.dead_letters().list(include_replayed=all_, limit=limit)
    finally:
        resources.close()
    table = Table(title=f"Dead letters ({len(lines)})")
    for column in _COLUMNS:
        table.add_column(column, overflow="fold")
    for line in lines:
        table.add_row(line.id, line.when, line.stage, line.recording, line.attempt, line.error, line.reason)
    console.print(table)


@dlq_app.command("show")
@handle_errors
def show_command(dead_letter_id: _LetterId) -> None:
    """One dead letter with its headers and original message."""
    resources = Resources.open(load_settings())
    try:
        shown = resources.dead_letters().show(dead_letter_id)
    finally:
        resources.close()
    console.print_json(json.dumps(shown))


@dlq_app.command("replay")
@handle_errors
def replay_command(dead_letter_id: _LetterId) -> None:
    """Put the original message back on its topic, unchanged (after the cause was fixed)."""
    resources = Resources.open(load_settings())
    try:
        replayed = resources.dead_letters().replay(dead_letter_id, actor="cli")
    finally:
        resources.close()
    console.print(
        f"replayed dead letter {replayed.id} onto {replayed.topic} (recording {replayed.recording})"
    )
