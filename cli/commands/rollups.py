"""``dealtalk rollups rebuild``: recompute the risk rollups of the analyst API's aggregates from the risk rows.

The projections keep the rollups current as insights are stored and calls linked; rows written past them (a
bulk load, a restore, a hand edit) need this once afterwards.
"""

from __future__ import annotations

import typer
from sqlalchemy import func, select

from dealtalk.cli.commands.common import console, handle_errors, load_settings
from dealtalk.pipeline.store import open_database
from dealtalk.pipeline.store.rollups import RiskRollupRow, rebuild_rollups

__all__ = ["rollups_app"]

rollups_app = typer.Typer(help="The pre-aggregated risk counts of the analyst API.", no_args_is_help=True)


@rollups_app.command("rebuild")
@handle_errors
def rebuild_command() -> None:
    """Recompute every rollup row from the risks, recordings and links (in one transaction)."""
    settings = load_settings()
    database = open_database(settings.database_url)
    try:
        with database.engine.begin() as connection:
            rebuild_rollups(connection)
            rows = connection.execute(
                select(RiskRollupRow.level, func.count(), func.sum(RiskRollupRow.signals))
                .group_by(RiskRollupRow.level)
                .order_by(RiskRollupRow.level)
            ).all()
    finally:
        database.dispose()
    for level, count, signals in rows:
        console.print(f"level {level}: {count} rows, {signals} risk signals", markup=False, highlight=False)
