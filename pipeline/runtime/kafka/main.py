"""The Kafka worker process: signals, metrics endpoint, optional inbox scanner, and the worker itself.

``run_kafka_worker`` is what ``dealtalk worker`` calls when ``DEALTALK_BUS__KIND=kafka``: it owns the event
loop, turns SIGTERM/SIGINT into a graceful stop, serves ``/metrics`` on ``bus.metrics_port`` (0: none) and,
with an inbox scan (bound by the composition root), sends new local recordings to the discovery topic.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Sequence
from typing import Any

from dealtalk.contracts.config import Settings
from dealtalk.contracts.errors import DealtalkError
from dealtalk.contracts.stage import Stage
from dealtalk.pipeline.metrics import WorkerMetrics
from dealtalk.pipeline.runtime.kafka.jobs import sleep_unless_stopped
from dealtalk.pipeline.runtime.kafka.worker import KafkaWorker
from dealtalk.pipeline.runtime.stats import JobHook, WorkerStats, combine_hooks
from dealtalk.pipeline.store import Database

__all__ = ["run_kafka_worker"]

logger = logging.getLogger(__name__)


def run_kafka_worker(
    stages: Sequence[Stage[Any, Any]],
    *,
    settings: Settings,
    database: Database,
    burst: bool = False,
    scan: Callable[[], None] | None = None,
    worker_id: str | None = None,
    on_job: JobHook | None = None,
) -> WorkerStats:
    """Run a Kafka worker for ``stages`` in this process until SIGTERM/SIGINT (or, with ``burst``, no work).

    Raises:
        TransientError: the cluster could not be reached at start.
    """
    metrics = WorkerMetrics()
    worker = KafkaWorker(
        stages,
        database=database,
        kafka=settings.kafka,
        bus=settings.bus,
        worker_id=worker_id,
        on_job=combine_hooks(metrics.on_job, on_job),
        metrics=metrics,
    )
    return asyncio.run(_main(worker, metrics, settings, burst=burst, scan=scan))


async def _main(
    worker: KafkaWorker,
    metrics: WorkerMetrics,
    settings: Settings,
    *,
    burst: bool,
    scan: Callable[[], None] | None,
) -> WorkerStats:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, _on_signal, signum, stop)
    server = metrics.serve(settings.bus.metrics_port) if settings.bus.metrics_port else None
    scanner = None
    if scan is not None and burst:
        await _scan(scan, settings, None)  # before the worker, or burst could end before it
    elif scan is not None:
        scanner = asyncio.create_task(_scan(scan, settings, stop))
    try:
        return await worker.run(stop, burst=burst)
    finally:
        stop.set()
        if scanner is not None:
            await asyncio.gather(scanner, return_exceptions=True)
        if server is not None:
            server.shutdown()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


def _on_signal(signum: int, stop: asyncio.Event) -> None:
    logger.info("signal %s: finishing running jobs, then stopping", signal.Signals(signum).name)
    stop.set()


async def _scan(scan: Callable[[], None], settings: Settings, stop: asyncio.Event | None) -> None:
    """Scan the inbox once (``stop`` None), or now and then every ``ingest.poll_interval_s`` until ``stop``.

    New recordings go to the outbox with their registration; the worker's relay sends them on.
    """
    while True:
        try:
            await asyncio.to_thread(scan)
        except DealtalkError as exc:
            logger.warning("inbox scan failed: %s", exc)
        if stop is None:
            return
        await sleep_unless_stopped(stop, settings.ingest.poll_interval_s)
        if stop.is_set():
            return
