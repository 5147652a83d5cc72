"""One stage's consumer: its input and retry topics as the stage's consumer group, one job slot per partition.

For each fetched batch of a partition: pause the partition, run its records one after another in a thread,
make each outcome durable and commit ``offset + 1`` (``RecordRunner``), then resume. The loop keeps polling
meanwhile, so heartbeats and ``max_poll_interval_ms`` hold however long a job runs. Records from the retry
topic wait, partition paused, until their ``not_before`` time.

Rebalance (eager: all partitions revoked, then reassigned): a running job gets ``rebalance_grace_s`` to finish;
its result is then stored but neither handed on nor committed, and the partition's next owner reuses it, hands
it on and commits. (Committing inside the revocation, as the Java docs suggest, is refused by the test broker
with ILLEGAL_GENERATION, after which the client rejoins under a new member id and stalls the rebalance; storing
first is correct on any broker and costs one database lookup.) A job still running after the grace carries on
if its partition comes back to this worker, so a scale-up never throws away minutes of transcription.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError

from dealtalk.contracts.stage import Stage
from dealtalk.pipeline.bus.kafka.connection import KafkaClient
from dealtalk.pipeline.bus.kafka.errors import CLIENT_ERRORS, translate
from dealtalk.pipeline.runtime.handler import backoff_s
from dealtalk.pipeline.runtime.kafka.context import WorkerContext
from dealtalk.pipeline.runtime.kafka.record import PartitionJob, RecordRunner, Step
from dealtalk.pipeline.runtime.kafka.settle import retry_wait_s

__all__ = ["StageConsumer"]

logger = logging.getLogger(__name__)


class StageConsumer(KafkaClient):
    """Serves one stage from its input topic and its retry topic, as the stage's consumer group member.

    ``start()`` joins the group (raises ``TransientError`` when the cluster cannot be reached now); ``stop()``
    leaves it (dynamic membership) and closes, idempotently.

    Args:
        stage: the stage (any bus's Stage object).
        ctx: what the worker's consumers share: settings, store, settler, job slots and locks, counters, hook.
    """

    def __init__(self, stage: Stage[Any, Any], ctx: WorkerContext) -> None:
        super().__init__(ctx.kafka, client_id_suffix=f"-{stage.name}")
        self.stage = stage
        self.ctx = ctx
        self.topics = ctx.topics_of(stage)
        self._runner = RecordRunner(stage, self.topics, ctx, self._commit)
        self._jobs: dict[TopicPartition, PartitionJob] = {}
        self._delayed: dict[TopicPartition, asyncio.TimerHandle] = {}
        self._throttled: set[TopicPartition] = set()
        self._infra_failures: dict[TopicPartition, int] = {}
        self._stopping = False

    # --- lifecycle: ``KafkaClient.start``/``stop`` with this consumer ------------------------------------
    def _open(self, options: dict[str, Any]) -> AIOKafkaConsumer:
        kafka = self.ctx.kafka
        instance = kafka.group_instance_id
        consumer = AIOKafkaConsumer(
            **options,
            group_id=self.topics.group,
            group_instance_id=f"{instance}.{self.stage.name}" if instance else None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=kafka.session_timeout_ms,
            heartbeat_interval_ms=kafka.heartbeat_interval_ms,
            max_poll_interval_ms=kafka.max_poll_interval_ms,
            rebalance_timeout_ms=max(kafka.session_timeout_ms, int(kafka.rebalance_grace_s * 1000) + 5000),
        )
        consumer.subscribe([self.topics.input, self.topics.retry], listener=_Listener(self))
        return consumer

    def _failed_start(self) -> str:
        return f"cannot join consumer group {self.topics.group}"

    def _opened(self) -> None:
        logger.info(
            "consumer started stage=%s group=%s topics=%s,%s instance=%s",
            self.stage.name,
            self.topics.group,
            self.topics.input,
            self.topics.retry,
            self.ctx.kafka.group_instance_id or "-",
        )

    def _closed(self) -> None:
        logger.info("consumer stopped stage=%s group=%s", self.stage.name, self.topics.group)

    async def run(self, stop: asyncio.Event) -> None:
        """Poll and dispatch until ``stop`` is set. Jobs still running then are left to ``drain``."""
        consumer = self._started()
        while not stop.is_set():
            self._apply_backpressure()
            try:
                batch = await consumer.getmany(
                    timeout_ms=self.ctx.kafka.poll_timeout_ms, max_records=self.ctx.kafka.max_poll_records
                )
            except CLIENT_ERRORS as exc:
                # The fetcher raises some broker errors here (e.g. an offset out of range after retention).
                logger.warning("poll failed stage=%s error=%s", self.stage.name, translate(exc, "poll"))
                await asyncio.sleep(1.0)
                continue
            for tp, records in batch.items():
                self._dispatch(tp, records)

    async def drain(self, grace_s: float) -> None:
        """Stop taking work; give running jobs ``grace_s`` to finish and commit, then abandon the rest."""
        self._stopping = True
        consumer = self._started()
        for tp in consumer.assignment():
            self._pause(tp)
        for handle in self._delayed.values():
            handle.cancel()
        self._delayed.clear()
        jobs = list(self._jobs.items())
        for _tp, job in jobs:
            job.stop_after_current = True
        if jobs:
            logger.info("draining stage=%s running_jobs=%s grace_s=%.0f", self.stage.name, len(jobs), grace_s)
            _done, pending = await asyncio.wait([job.task for _tp, job in jobs], timeout=grace_s)
            for tp, job in jobs:
                if job.task in pending:
                    job.abandoned = True
                    job.task.cancel()
                    logger.warning(
                        "job abandoned at shutdown stage=%s partition=%s:%s; nothing committed, the next "
                        "owner redoes it",
                        self.stage.name,
                        tp.topic,
                        tp.partition,
                    )
            if pending:
                await asyncio.wait(pending, timeout=5)

    # --- what the worker asks ----------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """Jobs running or retries waiting for their time."""
        return bool(self._jobs or self._delayed)

    async def lag(self) -> dict[TopicPartition, int]:
        """Per assigned partition: end offset minus committed offset (messages not finished yet)."""
        consumer = self._started()
        assigned = list(consumer.assignment())
        if not assigned:
            return {}
        try:
            ends = await consumer.end_offsets(assigned)
            lags = {}
            for tp in assigned:
                committed = await consumer.committed(tp)
                lags[tp] = int(ends.get(tp, 0)) - int(committed or 0)
        except (*CLIENT_ERRORS, IllegalStateError) as exc:
            raise translate(exc, f"cannot read the lag of {self.topics.group}") from exc
        return lags

    def assigned(self) -> bool:
        return bool(self._client is not None and self._client.assignment())

    # --- dispatch ------------------------------------------------------------------------------------
    def _dispatch(self, tp: TopicPartition, records: list[Any]) -> None:
        if not records:
            return
        first = records[0].offset
        if tp in self._jobs or tp in self._delayed or self._stopping:
            # Records fetched before the pause took effect: give them back, they come again after resume.
            self._seek(tp, first)
            self._pause(tp)
            return
        wait_s = retry_wait_s(records[0], self.topics.retry)
        if wait_s > 0:
            self._delay(tp, first, wait_s)
            return
        if not self.ctx.slots.try_acquire():
            self._seek(tp, first)
            self._pause(tp)
            self._throttled.add(tp)
            return
        self._pause(tp)
        task = asyncio.create_task(self._run_partition(tp, records), name=f"{self.stage.name}-{tp.partition}")
        self._jobs[tp] = PartitionJob(task=task)

    def _apply_backpressure(self) -> None:
        """No free slot: pause the idle partitions (they stay in Kafka for other workers); else resume them."""
        consumer = self._started()
        if self._stopping:
            return
        if self.ctx.slots.free == 0:
            for tp in consumer.assignment():
                if tp not in self._jobs and tp not in self._delayed and tp not in self._throttled:
                    self._pause(tp)
                    self._throttled.add(tp)
        elif self._throttled:
            for tp in self._throttled:
                if tp not in self._jobs and tp not in self._delayed:
                    self._resume(tp)
            self._throttled.clear()

    def _delay(self, tp: TopicPartition, offset: int, wait_s: float) -> None:
        """Hold the partition at ``offset`` for ``wait_s`` seconds (a retry not yet due, or a failing store)."""
        self._seek(tp, offset)
        self._pause(tp)
        previous = self._delayed.pop(tp, None)
        if previous is not None:
            previous.cancel()
        self._delayed[tp] = asyncio.get_running_loop().call_later(wait_s, self._undelay, tp)

    def _undelay(self, tp: TopicPartition) -> None:
        self._delayed.pop(tp, None)
        if tp not in self._jobs and not self._stopping:
            self._resume(tp)

    # --- one partition's jobs ---------------------------------------------------------------------------
    async def _run_partition(self, tp: TopicPartition, records: list[Any]) -> None:
        job = self._jobs[tp]  # registered right after the task was created, before it first ran
        next_offset = records[0].offset
        retry_after_s = 0.0
        try:
            for record in records:
                if job.stop_after_current or self._stopping:
                    break
                wait_s = retry_wait_s(record, self.topics.retry)
                if wait_s > 0:
                    retry_after_s = wait_s
                    break
                step = await self._runner.run_record(tp, record, job)
                if step is Step.AGAIN:
                    failures = self._infra_failures.get(tp, 0) + 1
                    self._infra_failures[tp] = failures
                    retry_after_s = backoff_s(failures, self.ctx.bus)
                    break
                if step is Step.LOST:
                    job.abandoned = True
                    break
                self._infra_failures.pop(tp, None)
                next_offset = record.offset + 1
        finally:
            self._jobs.pop(tp, None)
            self.ctx.slots.release()
            if not self._stopping:
                if retry_after_s > 0 and not job.abandoned:
                    self._delay(tp, next_offset, retry_after_s)
                else:
                    # Also after an abandoned job: its partition may have come back to this worker during
                    # the rebalance (paused while the job ran); it must go on from the first record not
                    # committed, or it would stay paused for good. Not ours: these calls do nothing.
                    if next_offset <= records[-1].offset:
                        self._seek(tp, next_offset)
                    self._resume(tp)

    async def _commit(self, tp: TopicPartition, offset: int) -> Step:
        try:
            await self._started().commit({tp: offset})
        except (CommitFailedError, IllegalStateError) as exc:
            logger.warning(
                "commit refused stage=%s partition=%s:%s offset=%s (%s): the partition moved; its new owner "
                "reuses the stored result",
                self.stage.name,
                tp.topic,
                tp.partition,
                offset,
                type(exc).__name__,
            )
            return Step.LOST
        except CLIENT_ERRORS as exc:
            raise translate(exc, f"cannot commit {tp.topic}:{tp.partition}@{offset}") from exc
        return Step.NEXT

    # --- rebalance ---------------------------------------------------------------------------------------
    async def on_revoked(self, revoked: set[TopicPartition]) -> None:
        """Give the revoked partitions' running jobs ``rebalance_grace_s`` to finish and commit."""
        for tp in revoked:
            handle = self._delayed.pop(tp, None)
            if handle is not None:
                handle.cancel()
            self._throttled.discard(tp)
        running = {tp: job for tp, job in self._jobs.items() if tp in revoked}
        for job in running.values():
            job.stop_after_current = True
            job.revoking = True
        if not running:
            return
        _done, pending = await asyncio.wait(
            [job.task for job in running.values()], timeout=self.ctx.kafka.rebalance_grace_s
        )
        for tp, job in running.items():
            if job.task in pending:
                logger.warning(
                    "job still running at rebalance stage=%s partition=%s:%s; kept if the partition comes back",
                    self.stage.name,
                    tp.topic,
                    tp.partition,
                )

    def on_assigned(self, assigned: set[TopicPartition]) -> None:
        """Partitions whose orphaned job still runs stay paused (and the job carries on); others are lost."""
        for tp, job in list(self._jobs.items()):
            if tp in assigned:
                self._pause(tp)
                job.revoking = False  # ours again: the job settles as usual when it ends
            elif not job.abandoned:
                job.abandoned = True
                logger.info(
                    "partition moved while its job ran stage=%s partition=%s:%s; the job is abandoned",
                    self.stage.name,
                    tp.topic,
                    tp.partition,
                )
        logger.info(
            "partitions assigned stage=%s partitions=%s",
            self.stage.name,
            ",".join(f"{tp.topic}:{tp.partition}" for tp in sorted(assigned)) or "-",
        )

    # --- consumer calls that tolerate a partition that just moved ----------------------------------------
    def _pause(self, tp: TopicPartition) -> None:
        consumer = self._client
        if consumer is not None and tp in consumer.assignment():
            consumer.pause(tp)

    def _resume(self, tp: TopicPartition) -> None:
        consumer = self._client
        if consumer is not None and tp in consumer.assignment():
            consumer.resume(tp)

    def _seek(self, tp: TopicPartition, offset: int) -> None:
        consumer = self._client
        if consumer is not None and tp in consumer.assignment():
            consumer.seek(tp, offset)


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: StageConsumer) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self._owner.on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        self._owner.on_assigned(set(assigned))
