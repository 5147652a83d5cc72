"""``dealtalk worker``: serve one stage (or all) over the configured bus; optionally watch the inbox folder."""

from __future__ import annotations

import contextlib
import threading
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from dealtalk.cli.commands.common import console, handle_errors, load_settings
from dealtalk.cli.commands.job_progress import JobBars, expected_jobs
from dealtalk.pipeline.gdpr.schedule import start_retention_schedule
from dealtalk.pipeline.logs import configure_logging
from dealtalk.pipeline.resources import STAGE_NAMES, Resources, StageName

__all__ = ["worker"]


class StageChoice(StrEnum):
    all = "all"
    fetch = "fetch"
    transcribe = "transcribe"
    analyze = "analyze"
    publish = "publish"


def _stage_names(stage: StageChoice) -> tuple[StageName, ...]:
    return STAGE_NAMES if stage is StageChoice.all else (stage.value,)  # type: ignore[return-value]


@handle_errors
def worker(
    stage: Annotated[
        StageChoice, typer.Option(help="The stage to serve; 'all' runs every stage.")
    ] = StageChoice.all,
    burst: Annotated[bool, typer.Option(help="Stop when no work is left (tests, batch runs).")] = False,
    watch: Annotated[
        Path | None,
        typer.Option(help="Scan this folder for new recordings (default: DEALTALK_INGEST__WATCH_DIR)."),
    ] = None,
) -> None:
    """Run stage workers until SIGTERM/SIGINT; the job in progress finishes first (graceful shutdown)."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    names = _stage_names(stage)
    resources = Resources.open(settings)
    stop = threading.Event()
    try:
        if not burst:
            start_retention_schedule(resources, stop)  # the GDPR retention policy, periodically
        # --burst: per-job and per-step bars (jobs/hour, ETA) for the person waiting on the batch.
        bars = JobBars(console, total=expected_jobs(resources.bus, names), label="jobs") if burst else None
        with bars if bars is not None else contextlib.nullcontext():
            stats = resources.run_worker(
                names,
                burst=burst,
                watch=watch or settings.ingest.watch_dir,
                progress=bars.step if bars is not None else None,
                on_job=bars.on_job if bars is not None else None,
            )
    finally:
        stop.set()
        resources.close()
    console.print(
        f"worker done: processed={stats.processed} reused={stats.reused} retried={stats.retried} "
        f"dead_lettered={stats.dead_lettered}"
    )
