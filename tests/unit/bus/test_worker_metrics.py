"""Worker metrics: job phases become processed/retried/dead-lettered counters and latency; lag per partition."""

from __future__ import annotations

import urllib.request

from dealtalk.pipeline.metrics import WorkerMetrics
from tests.support.kafka_broker import free_port


def test_job_phases_count_and_time() -> None:
    metrics = WorkerMetrics()
    for recording, end in (("a", "done"), ("b", "reused"), ("c", "retry"), ("d", "dead"), ("e", "abandoned")):
        metrics.on_job("transcribe", recording, "started")
        metrics.on_job("transcribe", recording, end)
    metrics.on_job("transcribe", "f", "started")

    def value(name: str, **labels: str) -> float:
        return metrics.value(name, {"stage": "transcribe", **labels})

    assert value("dealtalk_messages_processed_total", outcome="done") == 1
    assert value("dealtalk_messages_processed_total", outcome="reused") == 1
    assert value("dealtalk_messages_retried_total") == 1
    assert value("dealtalk_messages_dead_lettered_total") == 1
    assert value("dealtalk_stage_latency_seconds_count") == 5
    assert value("dealtalk_jobs_in_progress") == 1  # "f" still runs


def test_lag_series_follow_the_assignment() -> None:
    metrics = WorkerMetrics()
    metrics.set_lag("analyze", {("t", "0"): 5, ("t", "1"): 0})
    metrics.set_lag("publish", {("p", "0"): 2})
    metrics.set_lag("analyze", {("t", "1"): 3})  # partition 0 went to another worker
    assert (
        metrics.registry.get_sample_value(
            "dealtalk_consumer_lag", {"stage": "analyze", "topic": "t", "partition": "0"}
        )
        is None
    )
    assert metrics.value("dealtalk_consumer_lag", {"stage": "analyze", "topic": "t", "partition": "1"}) == 3
    assert metrics.value("dealtalk_consumer_lag", {"stage": "publish", "topic": "p", "partition": "0"}) == 2


def test_metrics_are_served_over_http() -> None:
    metrics = WorkerMetrics()
    metrics.on_job("publish", "a", "started")
    metrics.on_job("publish", "a", "done")
    port = free_port()
    server = metrics.serve(port, host="127.0.0.1")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            body = response.read().decode()
    finally:
        server.shutdown()
        server.server_close()
    assert 'dealtalk_messages_processed_total{outcome="done",stage="publish"} 1.0' in body
