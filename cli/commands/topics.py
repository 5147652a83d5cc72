"""``dealtalk topics create|list``: provision the Kafka topics from configuration, and show them.

``create`` is idempotent (existing topics are left alone) and is what the deployment's topics job runs before
the workers start: partitions, replication factor, retention and ``min.insync.replicas`` come from
``DEALTALK_KAFKA__*``.
"""

from __future__ import annotations

import asyncio

import typer
from rich.table import Table

from dealtalk.cli.commands.common import console, handle_errors, load_settings
from dealtalk.contracts.config import Settings
from dealtalk.contracts.errors import ConfigurationError

__all__ = ["topics_app"]

topics_app = typer.Typer(help="Provision and inspect the Kafka topics.", no_args_is_help=True)


def _kafka_settings() -> Settings:
    settings = load_settings()
    if not settings.runs_distributed:
        raise ConfigurationError(
            "topics are a Kafka thing: set DEALTALK_BUS__KIND=kafka (and DEALTALK_KAFKA__*)"
        )
    return settings


@topics_app.command("create")
@handle_errors
def create_command() -> None:
    """Create every topic the pipeline uses that does not exist yet (exit 1 if one could not be created)."""
    from dealtalk.pipeline.bus.kafka.admin import create_topics

    settings = _kafka_settings()
    results = create_topics(settings.kafka)
    table = Table(title=f"Kafka topics ({settings.kafka.bootstrap_servers})")
    for column in ("topic", "status", "partitions", "detail"):
        table.add_column(column)
    for result in results:
        table.add_row(result.name, result.status, str(result.partitions), result.detail)
    console.print(table)


@topics_app.command("list")
@handle_errors
def list_command() -> None:
    """The pipeline's topics: whether each exists, with its partitions (planned and actual)."""
    from dealtalk.pipeline.bus.kafka.admin import KafkaAdmin
    from dealtalk.pipeline.bus.kafka.topics import topic_plan

    settings = _kafka_settings()

    async def existing() -> dict[str, int]:
        async with KafkaAdmin(settings.kafka) as admin:
            return await admin.topics()

    found = asyncio.run(existing())
    table = Table(title=f"Kafka topics ({settings.kafka.bootstrap_servers})")
    for column in ("topic", "exists", "partitions", "planned"):
        table.add_column(column)
    for spec in topic_plan(settings.kafka):
        table.add_row(
            spec.name,
            "yes" if spec.name in found else "[red]no[/red]",
            str(found.get(spec.name, "-")),
            str(spec.partitions),
        )
    console.print(table)
