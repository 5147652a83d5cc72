"""The Kafka worker: a process serving one or more stages, each as its stage's consumer group member.

The sibling of the embedded ``EmbeddedWorker``, with the same Stage objects and the same ``handle_delivery``:
one producer (``acks=all``, idempotent), one ``StageConsumer`` per stage, job slots shared between them
(``max_concurrent_jobs``), the consumer lag exported as a metric, and a graceful stop: stop polling, give
running jobs ``shutdown_grace_s`` to finish and commit, abandon the rest (nothing committed), leave.

A stage whose topics do not exist yet does not start: the worker says which topics are missing and how to
create them, checks again every ``topic_check_interval_s``, and meanwhile serves its other stages.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from dealtalk.contracts.config import BusSettings, KafkaSettings
from dealtalk.contracts.errors import DealtalkError
from dealtalk.contracts.stage import Stage
from dealtalk.pipeline.bus.kafka.admin import KafkaAdmin
from dealtalk.pipeline.bus.kafka.connection import describe_cluster
from dealtalk.pipeline.bus.kafka.producer import KafkaProducer
from dealtalk.pipeline.bus.kafka.relay import OutboxRelay, outbox_size
from dealtalk.pipeline.bus.kafka.topics import TopicNames
from dealtalk.pipeline.metrics import WorkerMetrics
from dealtalk.pipeline.runtime.kafka.consumer import StageConsumer
from dealtalk.pipeline.runtime.kafka.context import WorkerContext
from dealtalk.pipeline.runtime.kafka.jobs import JobSlots, sleep_unless_stopped
from dealtalk.pipeline.runtime.kafka.locks import job_locks
from dealtalk.pipeline.runtime.kafka.settle import Settler
from dealtalk.pipeline.runtime.stats import JobHook, WorkerStats, combine_hooks, new_worker_id
from dealtalk.pipeline.store import Database

__all__ = ["KafkaWorker"]

logger = logging.getLogger(__name__)

# Burst mode stops after this many consecutive idle checks (one per poll timeout): a hand-over between two
# stages of this worker is never mistaken for the end of the work.
_IDLE_CHECKS_TO_STOP = 3


class KafkaWorker:
    """Runs ``stages`` over Kafka until stopped.

    Args:
        stages: the stages to serve (one consumer group each: ``{group_prefix}.{stage.name}``).
        database: the results store shared by all workers (PostgreSQL in production).
        kafka: cluster, topic, consumer and grace settings.
        bus: retry policy (attempts, backoff), the same as on the embedded bus.
        worker_id: names this worker in logs and the audit log; fresh per process by default.
        on_job: told (stage, recording id, phase) as jobs start and end, like the embedded worker's hook.
        metrics: where the consumer lag goes (jobs are counted through ``on_job``); None exports none.

    Usage::

        stop = asyncio.Event()
        stats = await KafkaWorker(stages, database=db, kafka=settings.kafka, bus=settings.bus).run(stop)
    """

    def __init__(
        self,
        stages: Sequence[Stage[Any, Any]],
        *,
        database: Database,
        kafka: KafkaSettings,
        bus: BusSettings,
        worker_id: str | None = None,
        on_job: JobHook | None = None,
        metrics: WorkerMetrics | None = None,
    ) -> None:
        if not stages:
            raise ValueError("a worker needs at least one stage")
        self.stages = list(stages)
        self.database = database
        self.kafka = kafka
        self.bus = bus
        self.worker_id = worker_id or new_worker_id()
        self.on_job = combine_hooks(on_job)
        self.metrics = metrics
        self.names = TopicNames.from_settings(kafka)
        self.stats = WorkerStats()

    async def run(self, stop: asyncio.Event | None = None, *, burst: bool = False) -> WorkerStats:
        """Serve until ``stop`` is set (or, with ``burst``, until every assigned partition is done).

        Raises:
            TransientError: the cluster could not be reached at start.
        """
        stop = stop or asyncio.Event()
        logger.info(
            "kafka worker starting id=%s stages=%s cluster=%s burst=%s",
            self.worker_id,
            ",".join(stage.name for stage in self.stages),
            describe_cluster(self.kafka),
            burst,
        )
        async with KafkaProducer(self.kafka, client_id_suffix=f"-{self.worker_id}") as producer:
            ctx = WorkerContext(
                database=self.database,
                kafka=self.kafka,
                bus=self.bus,
                names=self.names,
                worker_id=self.worker_id,
                stats=self.stats,
                on_job=self.on_job,
                settler=Settler(
                    names=self.names, producer=producer, database=self.database, actor=self.worker_id
                ),
                slots=JobSlots(self.kafka.max_concurrent_jobs),
                locks=job_locks(self.database),
            )
            consumers = [StageConsumer(stage, ctx) for stage in self.stages]
            started: list[StageConsumer] = []
            serving = [
                asyncio.create_task(self._serve(c, stop, started), name=c.stage.name) for c in consumers
            ]
            # Events committed to the outbox (discovery, manual links) go out through every worker's relay.
            relay = OutboxRelay(self.database, producer, self.names)
            side = [asyncio.create_task(relay.run(stop), name="outbox-relay")]
            if self.metrics is not None:
                side.append(asyncio.create_task(self._export_lag(started, stop), name="lag"))
            if burst:
                side.append(asyncio.create_task(self._stop_when_idle(consumers, started, stop), name="burst"))
            try:
                await stop.wait()
            finally:
                stop.set()
                await asyncio.gather(*serving, return_exceptions=True)
                await asyncio.gather(*(c.drain(self.kafka.shutdown_grace_s) for c in started))
                for task in side:
                    task.cancel()
                await asyncio.gather(*side, return_exceptions=True)
                await asyncio.gather(*(c.stop() for c in started), return_exceptions=True)
        logger.info(
            "kafka worker stopped id=%s processed=%s reused=%s retried=%s dead_lettered=%s",
            self.worker_id,
            self.stats.processed,
            self.stats.reused,
            self.stats.retried,
            self.stats.dead_lettered,
        )
        return self.stats

    async def _serve(
        self, consumer: StageConsumer, stop: asyncio.Event, started: list[StageConsumer]
    ) -> None:
        """Start the stage once its topics exist and the cluster answers, then run it until ``stop``."""
        if await self._start_when_ready(consumer, stop):
            started.append(consumer)
            await consumer.run(stop)

    async def _start_when_ready(self, consumer: StageConsumer, stop: asyncio.Event) -> bool:
        """True once the consumer runs; False when ``stop`` came first."""
        stage = consumer.stage
        while not stop.is_set():
            try:
                missing = await self._missing_topics(stage)
                if not missing:
                    await consumer.start()
                    return True
                logger.error(
                    "stage %s waits: topics missing: %s; create them with `dealtalk topics create` "
                    "(checking again in %.0f s)",
                    stage.name,
                    ",".join(sorted(missing)),
                    self.kafka.topic_check_interval_s,
                )
            except DealtalkError as exc:
                logger.warning("stage %s cannot start yet: %s", stage.name, exc)
            await sleep_unless_stopped(stop, self.kafka.topic_check_interval_s)
        return False

    async def _missing_topics(self, stage: Stage[Any, Any]) -> set[str]:
        async with KafkaAdmin(self.kafka) as admin:
            existing = await admin.topics()
        return self.names.needed_by(stage.name, stage.consumes) - set(existing)

    async def _export_lag(self, started: list[StageConsumer], stop: asyncio.Event) -> None:
        assert self.metrics is not None
        while not stop.is_set():
            for consumer in list(started):
                try:
                    lags = await consumer.lag()
                except DealtalkError as exc:
                    logger.debug("lag not read stage=%s: %s", consumer.stage.name, exc)
                    continue
                self.metrics.set_lag(
                    consumer.stage.name, {(tp.topic, str(tp.partition)): lag for tp, lag in lags.items()}
                )
            await sleep_unless_stopped(stop, self.kafka.lag_interval_s)

    async def _stop_when_idle(
        self, consumers: list[StageConsumer], started: list[StageConsumer], stop: asyncio.Event
    ) -> None:
        idle_checks = 0
        while not stop.is_set():
            await sleep_unless_stopped(stop, self.kafka.poll_timeout_ms / 1000)
            idle = len(started) == len(consumers) and all(c.assigned() and not c.busy for c in consumers)
            if idle:
                try:
                    lags = [await c.lag() for c in consumers]
                except DealtalkError:
                    idle = False
                else:
                    idle = all(lag == 0 for per_consumer in lags for lag in per_consumer.values())
                idle = idle and await asyncio.to_thread(outbox_size, self.database) == 0
            idle_checks = idle_checks + 1 if idle else 0
            if idle_checks >= _IDLE_CHECKS_TO_STOP:
                logger.info("burst: no work left on the assigned partitions; stopping")
                stop.set()
