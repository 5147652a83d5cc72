"""The one Kafka client lifecycle (producer, admin, stage consumers) and the counters both drivers share."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.errors import ClusterAuthorizationFailedError

from dealtalk.contracts.config import KafkaSettings
from dealtalk.contracts.errors import ConfigurationError, TransientError
from dealtalk.pipeline.bus.kafka.connection import KafkaClient
from dealtalk.pipeline.runtime.stats import WorkerStats, combine_hooks


class _Connection:
    """Stands in for an aiokafka client: records what the lifecycle did to it."""

    def __init__(self, failure: BaseException | None) -> None:
        self.failure = failure
        self.calls: list[str] = []

    async def start(self) -> None:
        self.calls.append("start")
        if self.failure is not None:
            raise self.failure

    async def stop(self) -> None:
        self.calls.append("stop")


class _Client(KafkaClient):
    def __init__(self, failure: BaseException | None = None) -> None:
        super().__init__(KafkaSettings(bootstrap_servers="broker:9092"), client_id_suffix="-test")
        self.failure = failure
        self.opened: list[_Connection] = []
        self.options: dict[str, Any] = {}
        self.events: list[str] = []

    def _open(self, options: dict[str, Any]) -> _Connection:
        self.options = options
        connection = _Connection(self.failure)
        self.opened.append(connection)
        return connection

    def _opened(self) -> None:
        self.events.append("opened")

    def _closed(self) -> None:
        self.events.append("closed")


def test_a_client_starts_with_the_cluster_options_and_stops_once() -> None:
    client = _Client()

    async def use() -> None:
        async with client as same:
            assert same is client
            assert client._started() is client.opened[0]
        await client.stop()

    asyncio.run(use())
    assert client.options["bootstrap_servers"] == "broker:9092"
    assert client.options["client_id"].endswith("-test")
    assert client.opened[0].calls == ["start", "stop"]
    assert client.events == ["opened", "closed"]
    with pytest.raises(RuntimeError, match="_Client used before start"):
        client._started()


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (OSError("connection refused"), TransientError),
        (ClusterAuthorizationFailedError(), ConfigurationError),
    ],
)
def test_a_failed_start_closes_the_half_open_client_and_says_why(
    failure: BaseException, error: type[Exception]
) -> None:
    client = _Client(failure)
    with pytest.raises(error, match="cannot reach the cluster at broker:9092"):
        asyncio.run(client.start())
    assert client.opened[0].calls == ["start", "stop"]
    assert client.events == []
    with pytest.raises(RuntimeError):
        client._started()


def test_worker_stats_count_each_ending_phase() -> None:
    stats = WorkerStats()
    for phase in ("done", "reused", "retry", "dead", "abandoned", "started"):
        stats.count("fetch", phase)
    stats.count("analyze", "done")
    assert (stats.processed, stats.reused, stats.retried, stats.dead_lettered) == (3, 1, 1, 1)
    assert stats.by_stage == {"fetch": 2, "analyze": 1}


def test_combined_hooks_tell_each_present_hook_in_order() -> None:
    heard: list[tuple[str, ...]] = []
    hook = combine_hooks(lambda *job: heard.append(("a", *job)), None, lambda *job: heard.append(("b", *job)))
    hook("fetch", "r1", "done")
    combine_hooks()("fetch", "r1", "done")  # no hook: nothing to tell, nothing fails
    assert heard == [("a", "fetch", "r1", "done"), ("b", "fetch", "r1", "done")]
