"""Prometheus metrics of a stage worker, the same on both buses: processed, retried, dead-lettered, latency, lag.

One ``WorkerMetrics`` per worker process, on a registry of its own (no module-level globals): the worker's
composition root creates it, attaches ``on_job`` to the driver's job hook and serves it with ``serve(port)``.

Exported series (``stage`` is fetch/transcribe/analyze/publish):

* ``dealtalk_messages_processed_total{stage,outcome}``: jobs finished, ``outcome`` = done or reused;
* ``dealtalk_messages_retried_total{stage}`` and ``dealtalk_messages_dead_lettered_total{stage}``;
* ``dealtalk_stage_latency_seconds{stage}``: from job start to its outcome (histogram up to 2 hours);
* ``dealtalk_jobs_in_progress{stage}``;
* ``dealtalk_consumer_lag{stage,topic,partition}``: messages not yet committed (Kafka), or outstanding
  messages per topic (embedded bus, ``partition="all"``). Autoscalers read this one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from dealtalk.contracts.stage import Stage
from dealtalk.pipeline.bus.embedded import EmbeddedBus

__all__ = ["WorkerMetrics", "watch_embedded_backlog"]

# Seconds: fake stages and reused results take milliseconds, a CPU transcription of a long call an hour.
_LATENCY_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200)
# "abandoned": the job ended without an outcome (shutdown, partition moved, store away); it runs again.
_END_PHASES = {"done", "reused", "retry", "dead", "abandoned"}


class WorkerMetrics:
    """A worker's metrics on its own registry.

    Args:
        registry: where the series live; a fresh one by default (tests read it back with ``value``).
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.processed = Counter(
            "dealtalk_messages_processed",
            "Jobs that finished, by stage and outcome (done = ran the stage, reused = stored result).",
            ["stage", "outcome"],
            registry=self.registry,
        )
        self.retried = Counter(
            "dealtalk_messages_retried",
            "Jobs that failed for now and will be retried.",
            ["stage"],
            registry=self.registry,
        )
        self.dead_lettered = Counter(
            "dealtalk_messages_dead_lettered",
            "Messages given up on (dead-letter queue).",
            ["stage"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "dealtalk_stage_latency_seconds",
            "Seconds from a job's start to its outcome.",
            ["stage"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_progress = Gauge(
            "dealtalk_jobs_in_progress", "Jobs running now.", ["stage"], registry=self.registry
        )
        self.lag = Gauge(
            "dealtalk_consumer_lag",
            "Messages waiting for this stage: end offset minus committed offset per partition (Kafka), "
            "or outstanding messages per topic (embedded bus).",
            ["stage", "topic", "partition"],
            registry=self.registry,
        )
        self._started: dict[tuple[str, str], float] = {}
        self._lag_series: dict[str, set[tuple[str, str]]] = {}
        self._lock = threading.Lock()

    def on_job(self, stage: str, recording_id: str, phase: str) -> None:
        """The drivers' job hook: "started", then one of "done", "reused", "retry", "dead" or "abandoned"."""
        key = (stage, recording_id)
        if phase == "started":
            with self._lock:
                self._started[key] = time.monotonic()
            self.in_progress.labels(stage).inc()
            return
        if phase not in _END_PHASES:
            return
        with self._lock:
            started = self._started.pop(key, None)
        if started is not None:
            self.in_progress.labels(stage).dec()
            self.latency.labels(stage).observe(time.monotonic() - started)
        if phase in ("done", "reused"):
            self.processed.labels(stage, phase).inc()
        elif phase == "retry":
            self.retried.labels(stage).inc()
        elif phase == "dead":
            self.dead_lettered.labels(stage).inc()

    def set_lag(self, stage: str, lags: Mapping[tuple[str, str], int]) -> None:
        """Replace a stage's lag series: ``{(topic, partition): messages}``; partitions gone are dropped."""
        with self._lock:
            shown = self._lag_series.setdefault(stage, set())
            for topic, partition in shown - set(lags):
                self.lag.remove(stage, topic, partition)
            for (topic, partition), value in lags.items():
                self.lag.labels(stage, topic, partition).set(max(0, value))
            shown.clear()
            shown.update(lags)

    def value(self, name: str, labels: Mapping[str, str]) -> float:
        """One sample's value (0.0 when absent); for tests and the benchmarks."""
        sample = self.registry.get_sample_value(name, dict(labels))
        return float(sample) if sample is not None else 0.0

    def serve(self, port: int, *, host: str = "0.0.0.0") -> WSGIServer:  # noqa: S104 - scraped from the pod network
        """Serve ``/metrics`` on ``port`` from a daemon thread; ``shutdown()`` the returned server to stop."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return server


def watch_embedded_backlog(
    metrics: WorkerMetrics,
    bus: EmbeddedBus,
    stages_by_topic: Mapping[str, Stage[Any, Any]],
    stop: threading.Event,
    *,
    interval_s: float = 10.0,
) -> threading.Thread:
    """Export the embedded bus's outstanding messages per stage as its lag, every ``interval_s`` until ``stop``."""

    def _watch() -> None:
        while not stop.wait(interval_s):
            for topic, stage in stages_by_topic.items():
                metrics.set_lag(stage.name, {(topic, "all"): bus.outstanding([topic])})

    thread = threading.Thread(target=_watch, name="backlog-metrics", daemon=True)
    thread.start()
    return thread
