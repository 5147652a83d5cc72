"""The embedded worker process: signals, metrics endpoint, optional inbox scanner, and the worker itself.

``run_embedded_worker`` is the embedded sibling of ``kafka.main.run_kafka_worker``: SIGTERM/SIGINT finish the
job in progress and stop; with an inbox scan (the watch folder's discovery, bound by the composition root),
new recordings are handed on.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

from dealtalk.contracts.config import Settings
from dealtalk.contracts.stage import Stage
from dealtalk.pipeline.bus.embedded import EmbeddedBus
from dealtalk.pipeline.metrics import WorkerMetrics, watch_embedded_backlog
from dealtalk.pipeline.runtime.embedded import EmbeddedWorker
from dealtalk.pipeline.runtime.stats import JobHook, WorkerStats, combine_hooks

__all__ = ["run_embedded_worker"]

logger = logging.getLogger(__name__)


def run_embedded_worker(
    stages: Sequence[Stage[Any, Any]],
    *,
    bus: EmbeddedBus,
    settings: Settings,
    burst: bool = False,
    scan: Callable[[], None] | None = None,
    on_job: JobHook | None = None,
) -> WorkerStats:
    """Serve ``stages`` from the embedded queue until SIGTERM/SIGINT (or, with ``burst``, no work left)."""
    stop = threading.Event()

    def _graceful(signum: int, _frame: FrameType | None) -> None:
        logger.warning("signal %s: finishing the current job, then stopping", signal.Signals(signum).name)
        stop.set()

    previous = {signum: signal.signal(signum, _graceful) for signum in (signal.SIGTERM, signal.SIGINT)}
    scanner = None
    try:
        if scan is not None:
            scan()
            if not burst:
                scanner = threading.Thread(
                    target=_scan_forever,
                    args=(scan, settings.ingest.poll_interval_s, stop),
                    name="inbox-scanner",
                    daemon=True,
                )
                scanner.start()
        metrics = None
        if settings.bus.metrics_port:
            metrics = WorkerMetrics()
            metrics.serve(settings.bus.metrics_port)
        worker = EmbeddedWorker(
            bus, stages, settings.bus, on_job=combine_hooks(on_job, metrics.on_job if metrics else None)
        )
        if metrics is not None:
            watch_embedded_backlog(metrics, bus, worker.stages, stop, interval_s=10.0)
        return worker.run(burst=burst, stop=stop)
    finally:
        stop.set()
        if scanner is not None:
            scanner.join()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _scan_forever(scan: Callable[[], None], interval_s: float, stop: threading.Event) -> None:
    while not stop.wait(interval_s):
        scan()
