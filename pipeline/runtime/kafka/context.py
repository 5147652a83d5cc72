"""What one Kafka worker's stage consumers share, built once by ``KafkaWorker.run`` and handed to each.

One frozen object instead of the same nine arguments relayed from the worker to each consumer and on to its
record runner: the store, the settings, the worker's identity, counters and job hook, and the parts that
exist once per worker (the settler with its producer, the job slots, the job locks).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dealtalk.contracts.config import BusSettings, KafkaSettings
from dealtalk.contracts.stage import Stage
from dealtalk.pipeline.bus.kafka.topics import TopicNames
from dealtalk.pipeline.runtime.kafka.jobs import JobSlots
from dealtalk.pipeline.runtime.kafka.locks import JobLocks
from dealtalk.pipeline.runtime.kafka.settle import Settler
from dealtalk.pipeline.runtime.stats import JobHook, WorkerStats
from dealtalk.pipeline.store import Database

__all__ = ["StageTopics", "WorkerContext"]


@dataclass(frozen=True, slots=True)
class StageTopics:
    """Where one stage lives on the cluster: the topic it consumes, its retry topic, its consumer group."""

    input: str
    retry: str
    group: str


@dataclass(frozen=True, slots=True)
class WorkerContext:
    """A Kafka worker's shared parts.

    Attributes:
        database: the results store shared by all workers; ``handle_delivery`` finds stored results there.
        kafka: cluster, topic, consumer and grace settings.
        bus: retry policy (attempts, backoff), the same as on the embedded bus.
        names: the cluster's topic names.
        worker_id: names this worker in logs and the audit log.
        stats: the worker's counters.
        on_job: the job hook (stage, recording id, phase), e.g. ``WorkerMetrics.on_job``.
        settler: stores and hands on outcomes through the worker's producer.
        slots: the job slots the worker's consumers share (``max_concurrent_jobs``).
        locks: one live executor per job across all workers (``locks.job_locks``).
    """

    database: Database
    kafka: KafkaSettings
    bus: BusSettings
    names: TopicNames
    worker_id: str
    stats: WorkerStats
    on_job: JobHook
    settler: Settler
    slots: JobSlots
    locks: JobLocks

    def topics_of(self, stage: Stage[Any, Any]) -> StageTopics:
        return StageTopics(
            input=self.names.of_event(stage.consumes),
            retry=self.names.retry_of(stage.name),
            group=self.names.group_of(stage.name),
        )
