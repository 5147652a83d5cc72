"""``dealtalk dlq list|show|replay``: what the stages gave up on, why, and sending it again.

On the embedded bus dead letters are rows of the store, named by number; on Kafka they are records of the
dead-letter topic, named ``partition:offset`` (or by event id), and replays are recorded in the store.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import typer
from rich.table import Table

from dealtalk.pipeline.bus.dead_letters import list_dead_letters, replay_dead_letter, show_dead_letter
from dealtalk.pipeline.bus.embedded import EmbeddedBus
from dealtalk.pipeline.commands.common import console, handle_errors, load_settings
from dealtalk.pipeline.config import Settings
from dealtalk.pipeline.errors import InvalidInput
from dealtalk.pipeline.store import Database, open_database

__all__ = ["dlq_app"]

dlq_app = typer.Typer(help="Inspect and replay dead-lettered messages.", no_args_is_help=True)

_COLUMNS = ("id", "when", "stage", "recording", "attempt", "error", "reason")
_LetterId = Annotated[
    str, typer.Argument(help="The id from `dlq list` (Kafka: partition:offset or event id).")
]


def _open() -> tuple[Settings, Database]:
    settings = load_settings()
    return settings, open_database(settings.database_url)


def _embedded_id(dead_letter_id: str) -> int:
    try:
        return int(dead_letter_id)
    except ValueError:
        raise InvalidInput(
            f"dead letter ids on the embedded bus are numbers, got {dead_letter_id!r}"
        ) from None


@dlq_app.command("list")
@handle_errors
def list_command(
    all_: Annotated[bool, typer.Option("--all", help="Include replayed letters.")] = False,
    limit: Annotated[int, typer.Option(min=1)] = 50,
) -> None:
    """Dead letters, newest first."""
    settings, database = _open()
    rows: list[tuple[str, ...]] = []
    try:
        if settings.bus.kind == "kafka":
            from dealtalk.pipeline.bus.kafka.dead_letters import list_kafka_dead_letters

            for letter in asyncio.run(
                list_kafka_dead_letters(settings.kafka, database, limit=limit, include_replayed=all_)
            ):
                failed = letter.failed
                rows.append(
                    (
                        letter.id,
                        letter.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                        failed.stage if failed else "-",
                        failed.recording_id if failed else "-",
                        str(failed.attempt) if failed else "-",
                        failed.error_type if failed else "-",
                        (failed.reason if failed else "not a StageFailed record")
                        + (" [replayed]" if letter.replayed_at else ""),
                    )
                )
        else:
            for embedded in list_dead_letters(
                EmbeddedBus(database, settings.bus), include_replayed=all_, limit=limit
            ):
                rows.append(
                    (
                        str(embedded.id),
                        embedded.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                        embedded.stage,
                        embedded.recording_id or "-",
                        str(embedded.attempt),
                        embedded.error_type,
                        embedded.reason + (" [replayed]" if embedded.replayed else ""),
                    )
                )
    finally:
        database.dispose()
    table = Table(title=f"Dead letters ({len(rows)})")
    for column in _COLUMNS:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    console.print(table)


@dlq_app.command("show")
@handle_errors
def show_command(dead_letter_id: _LetterId) -> None:
    """One dead letter with its headers and original message."""
    settings, database = _open()
    try:
        if settings.bus.kind == "kafka":
            from dealtalk.pipeline.bus.kafka.dead_letters import show_kafka_dead_letter

            letter = asyncio.run(show_kafka_dead_letter(settings.kafka, dead_letter_id, database))
            failed = letter.failed
            shown: dict[str, Any] = {
                "id": letter.id,
                "created_at": letter.created_at.isoformat(),
                "replayed_at": letter.replayed_at.isoformat() if letter.replayed_at else None,
                "headers": letter.headers,
            }
            if failed is not None:
                shown.update(
                    event_id=failed.event_id,
                    topic=failed.original_topic,
                    stage=failed.stage,
                    recording_id=failed.recording_id,
                    trace_id=failed.trace_id,
                    reason=failed.reason,
                    error_type=failed.error_type,
                    attempt=failed.attempt,
                    retriable=failed.retriable,
                    original=failed.original,
                )
            else:
                shown["raw"] = letter.raw
        else:
            row = show_dead_letter(EmbeddedBus(database, settings.bus), _embedded_id(dead_letter_id))
            shown = {
                "id": row.id,
                "topic": row.topic,
                "stage": row.stage,
                "recording_id": row.recording_id,
                "reason": row.reason,
                "error_type": row.error_type,
                "attempt": row.attempt,
                "created_at": row.created_at.isoformat(),
                "replayed": row.replayed,
                "headers": row.headers,
                "original": row.payload,
            }
    finally:
        database.dispose()
    console.print_json(json.dumps(shown))


@dlq_app.command("replay")
@handle_errors
def replay_command(dead_letter_id: _LetterId) -> None:
    """Put the original message back on its topic, unchanged (after the cause was fixed)."""
    settings, database = _open()
    try:
        if settings.bus.kind == "kafka":
            from dealtalk.pipeline.bus.kafka.dead_letters import replay_kafka_dead_letter

            letter = asyncio.run(
                replay_kafka_dead_letter(settings.kafka, database, dead_letter_id, actor="cli")
            )
            assert letter.failed is not None  # replay refuses letters that are not StageFailed records
            topic, recording = letter.failed.original_topic, letter.failed.recording_id
            replayed = letter.id
        else:
            row = replay_dead_letter(
                EmbeddedBus(database, settings.bus), _embedded_id(dead_letter_id), actor="cli"
            )
            topic, recording, replayed = row.topic, row.recording_id or "-", str(row.id)
    finally:
        database.dispose()
    console.print(f"replayed dead letter {replayed} onto {topic} (recording {recording})")
