"""``dealtalk worker``: serve one stage (or all) over the configured bus; optionally watch the inbox folder."""

from __future__ import annotations

import signal
import threading
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from dealtalk.pipeline.commands.common import console, handle_errors, load_settings
from dealtalk.pipeline.config import Settings
from dealtalk.pipeline.discovery import discover_local
from dealtalk.pipeline.gdpr.schedule import start_retention_schedule
from dealtalk.pipeline.logs import configure_logging
from dealtalk.pipeline.metrics import WorkerMetrics, watch_embedded_backlog
from dealtalk.pipeline.resources import STAGE_NAMES, Resources, StageName
from dealtalk.pipeline.runtime.embedded import EmbeddedWorker

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
    if settings.bus.kind == "kafka":
        _kafka_worker(settings, stage, burst=burst, watch=watch or settings.ingest.watch_dir)
        return
    resources = Resources.open(settings)
    stop = threading.Event()

    def _graceful(signum: int, _frame: FrameType | None) -> None:
        console.print(f"signal {signal.Signals(signum).name}: finishing the current job, then stopping")
        stop.set()

    signal.signal(signal.SIGTERM, _graceful)
    signal.signal(signal.SIGINT, _graceful)
    folder = watch or settings.ingest.watch_dir
    scanner = None
    try:
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            discover_local(folder, resources.bus, settings)
            if not burst:
                scanner = threading.Thread(
                    target=_scan_forever, args=(folder, resources, stop), name="inbox-scanner", daemon=True
                )
                scanner.start()
        stages = resources.stages(_stage_names(stage))
        if not burst:
            start_retention_schedule(resources, stop)
        metrics = _serve_metrics(settings)
        embedded = EmbeddedWorker(
            resources.bus, stages, settings.bus, on_job=metrics.on_job if metrics is not None else None
        )
        if metrics is not None:
            watch_embedded_backlog(metrics, resources.bus, embedded.stages, stop, interval_s=10.0)
        stats = embedded.run(burst=burst, stop=stop)
        console.print(
            f"worker done: processed={stats.processed} reused={stats.reused} retried={stats.retried} "
            f"dead_lettered={stats.dead_lettered}"
        )
    finally:
        stop.set()
        if scanner is not None:
            scanner.join()
        resources.close()


def _serve_metrics(settings: Settings) -> WorkerMetrics | None:
    if not settings.bus.metrics_port:
        return None
    metrics = WorkerMetrics()
    metrics.serve(settings.bus.metrics_port)
    return metrics


def _kafka_worker(settings: Settings, stage: StageChoice, *, burst: bool, watch: Path | None) -> None:
    """The same stages over Kafka: one consumer group per stage (``dealtalk topics create`` first)."""
    from dealtalk.pipeline.runtime.kafka.main import run_kafka_worker

    resources = Resources.open(settings)
    stop = threading.Event()
    if not burst:
        start_retention_schedule(resources, stop)
    try:
        stats = run_kafka_worker(
            resources.stages(_stage_names(stage)),
            settings=settings,
            database=resources.database,
            burst=burst,
            watch=watch,
        )
    finally:
        stop.set()
        resources.close()
    console.print(
        f"worker done: processed={stats.processed} reused={stats.reused} retried={stats.retried} "
        f"dead_lettered={stats.dead_lettered}"
    )


def _scan_forever(folder: Path, resources: Resources, stop: threading.Event) -> None:
    while not stop.wait(resources.settings.ingest.poll_interval_s):
        discover_local(folder, resources.bus, resources.settings)
