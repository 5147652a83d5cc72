"""One stage's consumer: its input and retry topics, as the stage's consumer group, one job slot per partition.

For each fetched batch of a partition: pause the partition, run its records one after another in a thread
(``handle_delivery``), make each outcome durable (``settle``) and commit ``offset + 1``, then resume. The loop
keeps polling meanwhile, so heartbeats and ``max_poll_interval_ms`` stay satisfied however long a job runs.

Rebalance (eager: every partition is revoked, then reassigned): a running job gets ``rebalance_grace_s`` to
finish; its result is then *stored* (idempotency record) but neither handed on nor committed while the group
rebalances, and whoever owns the partition next reuses it, hands it on and commits. Committing from inside the
revocation is what the Java docs suggest, but brokers differ on accepting it (the test broker answers
ILLEGAL_GENERATION, and the client then rejoins under a new member id, which stalls the rebalance); storing
first and letting the next owner commit is correct on any of them and costs one database lookup.
A job still running after the grace is *orphaned*: if its partition comes back to this worker it carries on
(a scale-up must not throw away minutes of transcription); if not, its result is kept the same way when it
comes. Records from the retry topic wait, partition paused, until their ``not_before`` time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from enum import Enum
from functools import partial
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError

from dealtalk.pipeline.bus.kafka.connection import client_options, describe_cluster
from dealtalk.pipeline.bus.kafka.errors import CLIENT_ERRORS, translate
from dealtalk.pipeline.bus.kafka.headers import NOT_BEFORE_MS, ORIGINAL_TOPIC, attempt_of, decode_headers
from dealtalk.pipeline.config import BusSettings, KafkaSettings
from dealtalk.pipeline.errors import DealtalkError
from dealtalk.pipeline.runtime.embedded import WorkerStats
from dealtalk.pipeline.runtime.handler import Dead, Done, Outcome, Retry, backoff_s, handle_delivery
from dealtalk.pipeline.runtime.kafka.jobs import JobSlots, run_in_daemon_thread
from dealtalk.pipeline.runtime.kafka.settle import Settler
from dealtalk.pipeline.runtime.stage import Stage
from dealtalk.pipeline.store import Database

__all__ = ["StageConsumer"]

logger = logging.getLogger(__name__)

JobHook = Callable[[str, str, str], None]

# After this long without the cluster confirming a job's hand-on and commit, the worker says so (and again).
_SLOW_SETTLE_S = 10.0


class _Step(Enum):
    NEXT = "next"  # settled and committed: go on with the partition's next record
    AGAIN = "again"  # the store or the cluster failed around the job: the same record again, later
    LOST = "lost"  # the partition is no longer ours: stop, the new owner carries on


@dataclass(eq=False, slots=True)
class _PartitionJob:
    task: asyncio.Task[None]
    # Set at a rebalance or shutdown: finish the record in hand, leave the rest of the batch.
    stop_after_current: bool = False
    # Set while the group rebalances (revoked, not yet reassigned): a result is stored, not handed on.
    revoking: bool = False
    # Set when the partition went elsewhere while the job ran: store its result, hand on and commit nothing.
    abandoned: bool = False


class StageConsumer:
    """Serves one stage from its input topic and its retry topic.

    Args:
        stage: the stage (any bus's Stage object).
        topics: (input topic, retry topic).
        group_id: the stage's consumer group.
        kafka: cluster, consumer and grace settings.
        bus: retry policy (attempts, backoff) shared with the embedded bus.
        database: where ``handle_delivery`` finds stored results.
        settler: stores and hands on outcomes.
        slots: the worker's shared job slots.
        stats: the worker's counters.
        on_job: the job hook (stage, recording id, phase), e.g. ``WorkerMetrics.on_job``.
    """

    def __init__(
        self,
        stage: Stage[Any, Any],
        *,
        topics: tuple[str, str],
        group_id: str,
        kafka: KafkaSettings,
        bus: BusSettings,
        database: Database,
        settler: Settler,
        slots: JobSlots,
        stats: WorkerStats,
        on_job: JobHook,
    ) -> None:
        self.stage = stage
        self.input_topic, self.retry_topic = topics
        self.group_id = group_id
        self.kafka = kafka
        self.bus = bus
        self.database = database
        self.settler = settler
        self.slots = slots
        self.stats = stats
        self.on_job = on_job
        self._consumer: AIOKafkaConsumer | None = None
        self._jobs: dict[TopicPartition, _PartitionJob] = {}
        self._delayed: dict[TopicPartition, asyncio.TimerHandle] = {}
        self._throttled: set[TopicPartition] = set()
        self._infra_failures: dict[TopicPartition, int] = {}
        self._stopping = False

    # --- lifecycle -------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Join the stage's consumer group.

        Raises:
            TransientError: the cluster cannot be reached now.
        """
        instance = self.kafka.group_instance_id
        consumer = AIOKafkaConsumer(
            **client_options(self.kafka, client_id_suffix=f"-{self.stage.name}"),
            group_id=self.group_id,
            group_instance_id=f"{instance}.{self.stage.name}" if instance else None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=self.kafka.session_timeout_ms,
            heartbeat_interval_ms=self.kafka.heartbeat_interval_ms,
            max_poll_interval_ms=self.kafka.max_poll_interval_ms,
            rebalance_timeout_ms=max(
                self.kafka.session_timeout_ms, int(self.kafka.rebalance_grace_s * 1000) + 5000
            ),
        )
        consumer.subscribe([self.input_topic, self.retry_topic], listener=_Listener(self))
        try:
            await consumer.start()
        except CLIENT_ERRORS as exc:
            await consumer.stop()
            raise translate(exc, f"cannot join consumer group {self.group_id}") from exc
        self._consumer = consumer
        logger.info(
            "consumer started stage=%s group=%s topics=%s,%s instance=%s",
            self.stage.name,
            self.group_id,
            self.input_topic,
            self.retry_topic,
            instance or "-",
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Poll and dispatch until ``stop`` is set. Jobs still running then are left to ``drain``."""
        consumer = self._started()
        while not stop.is_set():
            self._apply_backpressure()
            try:
                batch = await consumer.getmany(
                    timeout_ms=self.kafka.poll_timeout_ms, max_records=self.kafka.max_poll_records
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

    async def stop(self) -> None:
        """Leave the group (dynamic membership) and close (idempotent)."""
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()
            logger.info("consumer stopped stage=%s group=%s", self.stage.name, self.group_id)

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
            raise translate(exc, f"cannot read the lag of {self.group_id}") from exc
        return lags

    def assigned(self) -> bool:
        return bool(self._consumer is not None and self._consumer.assignment())

    # --- dispatch ------------------------------------------------------------------------------------
    def _started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise RuntimeError("StageConsumer used before start() or after stop()")
        return self._consumer

    def _dispatch(self, tp: TopicPartition, records: list[Any]) -> None:
        if not records:
            return
        first = records[0].offset
        if tp in self._jobs or tp in self._delayed or self._stopping:
            # Records fetched before the pause took effect: give them back, they come again after resume.
            self._seek(tp, first)
            self._pause(tp)
            return
        wait_s = self._wait_s(records[0])
        if wait_s > 0:
            self._delay(tp, first, wait_s)
            return
        if not self.slots.try_acquire():
            self._seek(tp, first)
            self._pause(tp)
            self._throttled.add(tp)
            return
        self._pause(tp)
        task = asyncio.create_task(self._run_partition(tp, records), name=f"{self.stage.name}-{tp.partition}")
        self._jobs[tp] = _PartitionJob(task=task)

    def _apply_backpressure(self) -> None:
        """No free slot: pause the idle partitions (they stay in Kafka for other workers); else resume them."""
        consumer = self._started()
        if self._stopping:
            return
        if self.slots.free == 0:
            for tp in consumer.assignment():
                if tp not in self._jobs and tp not in self._delayed and tp not in self._throttled:
                    self._pause(tp)
                    self._throttled.add(tp)
        elif self._throttled:
            for tp in self._throttled:
                if tp not in self._jobs and tp not in self._delayed:
                    self._resume(tp)
            self._throttled.clear()

    def _wait_s(self, record: Any) -> float:
        if record.topic != self.retry_topic:
            return 0.0
        headers = decode_headers(record.headers)
        try:
            not_before_ms = int(headers.get(NOT_BEFORE_MS, "0"))
        except ValueError:
            return 0.0
        return max(0.0, not_before_ms / 1000 - time.time())

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
        job = self._jobs_entry(tp)
        next_offset = records[0].offset
        retry_after_s = 0.0
        try:
            for record in records:
                if job.stop_after_current or self._stopping:
                    break
                wait_s = self._wait_s(record)
                if wait_s > 0:
                    retry_after_s = wait_s
                    break
                step = await self._process(tp, record, job)
                if step is _Step.AGAIN:
                    failures = self._infra_failures.get(tp, 0) + 1
                    self._infra_failures[tp] = failures
                    retry_after_s = backoff_s(failures, self.bus)
                    break
                if step is _Step.LOST:
                    job.abandoned = True
                    break
                self._infra_failures.pop(tp, None)
                next_offset = record.offset + 1
        finally:
            self._jobs.pop(tp, None)
            self.slots.release()
            if not job.abandoned and not self._stopping:
                if retry_after_s > 0:
                    self._delay(tp, next_offset, retry_after_s)
                else:
                    if next_offset <= records[-1].offset:
                        self._seek(tp, next_offset)
                    self._resume(tp)

    def _jobs_entry(self, tp: TopicPartition) -> _PartitionJob:
        # The task is registered right after creation, before it first runs.
        return self._jobs[tp]

    async def _process(self, tp: TopicPartition, record: Any, job: _PartitionJob) -> _Step:
        stage = self.stage
        headers = decode_headers(record.headers)
        key = record.key.decode("utf-8", errors="replace") if record.key else "unknown"
        from_retry = record.topic == self.retry_topic
        origin = headers.get(ORIGINAL_TOPIC, self.input_topic) if from_retry else record.topic
        attempt = attempt_of(headers)
        started = time.monotonic()
        self.on_job(stage.name, key, "started")
        try:
            outcome = await run_in_daemon_thread(
                partial(
                    handle_delivery,
                    stage,
                    record.value or b"",
                    topic=origin,
                    attempt=attempt,
                    database=self.database,
                    settings=self.bus,
                    headers={**headers, "key": key},
                ),
                name=f"job-{stage.name}-{tp.partition}-{record.offset}",
            )
        except asyncio.CancelledError:
            self.on_job(stage.name, key, "abandoned")
            raise
        except Exception as exc:  # noqa: BLE001 - the store failed around the stage: not the message's fault
            self.on_job(stage.name, key, "abandoned")
            logger.warning(
                "job infrastructure failure stage=%s recording=%s offset=%s:%s:%s error=%s; retrying in place",
                stage.name,
                key,
                tp.topic,
                tp.partition,
                record.offset,
                _brief(exc),
            )
            return _Step.AGAIN
        if job.abandoned or job.revoking:
            self.on_job(stage.name, key, "abandoned")
            await self._keep_abandoned_result(outcome, key)
            return _Step.LOST
        try:
            step = await self._settle_reporting_delays(
                self._settle(tp, record, outcome, key=key, headers=headers, origin=origin, attempt=attempt),
                key=key,
            )
        except DealtalkError as exc:
            self.on_job(stage.name, key, "abandoned")
            logger.warning(
                "job not settled stage=%s recording=%s offset=%s:%s:%s error=%s; retrying in place",
                stage.name,
                key,
                tp.topic,
                tp.partition,
                record.offset,
                exc,
            )
            return _Step.AGAIN
        except Exception as exc:  # noqa: BLE001 - the store failed recording the outcome; only _brief(exc) is logged
            self.on_job(stage.name, key, "abandoned")
            logger.warning(
                "job not settled stage=%s recording=%s offset=%s:%s:%s error=%s; retrying in place",
                stage.name,
                key,
                tp.topic,
                tp.partition,
                record.offset,
                _brief(exc),
            )
            return _Step.AGAIN
        if step is _Step.NEXT:
            self._log_outcome(tp, record, outcome, key, headers, attempt, time.monotonic() - started)
        else:
            self.on_job(stage.name, key, "abandoned")
        return step

    async def _settle_reporting_delays(self, settling: Coroutine[Any, Any, _Step], *, key: str) -> _Step:
        """Await ``settling``, saying every ``_SLOW_SETTLE_S`` that the cluster keeps it waiting.

        The client retries a broker that went away by itself (produce until ``request_timeout_ms``, commits
        until the coordinator is back); this line is what tells an operator why a worker stands still.
        """
        task = asyncio.ensure_future(settling)
        waited = 0.0
        try:
            while True:
                done, _pending = await asyncio.wait({task}, timeout=_SLOW_SETTLE_S)
                if done:
                    return task.result()
                waited += _SLOW_SETTLE_S
                logger.warning(
                    "job waiting for the cluster stage=%s recording=%s waited_s=%.0f cluster=%s: result stored, "
                    "hand-on and commit pending",
                    self.stage.name,
                    key,
                    waited,
                    describe_cluster(self.kafka),
                )
        finally:
            task.cancel()

    async def _settle(
        self,
        tp: TopicPartition,
        record: Any,
        outcome: Outcome,
        *,
        key: str,
        headers: dict[str, str],
        origin: str,
        attempt: int,
    ) -> _Step:
        settler = self.settler
        if isinstance(outcome, Done):
            stored = await asyncio.to_thread(settler.store, self.stage, outcome)
            await settler.hand_on(self.stage, stored)
        elif isinstance(outcome, Retry):
            await settler.retry(
                self.stage,
                outcome,
                key=key,
                value=record.value or b"",
                headers=headers,
                origin=origin,
                attempt=attempt,
            )
        else:
            await asyncio.to_thread(settler.mark_failed, outcome)
            await settler.dead_letter(outcome, headers=headers, partition=tp.partition, offset=record.offset)
        return await self._commit(tp, record.offset + 1)

    async def _commit(self, tp: TopicPartition, offset: int) -> _Step:
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
            return _Step.LOST
        except CLIENT_ERRORS as exc:
            raise translate(exc, f"cannot commit {tp.topic}:{tp.partition}@{offset}") from exc
        return _Step.NEXT

    async def _keep_abandoned_result(self, outcome: Outcome, key: str) -> None:
        """A job whose partition is moving: keep its result (idempotent) so the next owner can reuse it.

        A retry or a dead letter is not sent: the next owner runs the (usually quick) failing job again and
        sends it, so the retry topic never holds two copies of one attempt.
        """
        if isinstance(outcome, Done) and not outcome.reused:
            try:
                await asyncio.to_thread(self.settler.store, self.stage, outcome)
            except Exception as exc:  # noqa: BLE001 - best effort: the new owner redoes the job anyway
                logger.warning(
                    "abandoned result not stored stage=%s recording=%s error=%s",
                    self.stage.name,
                    key,
                    _brief(exc),
                )
        logger.info(
            "job result kept stage=%s recording=%s: the partition is moving, nothing handed on or committed; "
            "its next owner reuses the stored result",
            self.stage.name,
            key,
        )

    def _log_outcome(
        self,
        tp: TopicPartition,
        record: Any,
        outcome: Outcome,
        key: str,
        headers: dict[str, str],
        attempt: int,
        elapsed_s: float,
    ) -> None:
        stats = self.stats
        if isinstance(outcome, Done):
            phase = "reused" if outcome.reused else "done"
            stats.processed += 1
            stats.reused += int(outcome.reused)
            stats.by_stage[self.stage.name] = stats.by_stage.get(self.stage.name, 0) + 1
        elif isinstance(outcome, Retry):
            phase = "retry"
            stats.retried += 1
        else:
            phase = "dead"
            stats.dead_lettered += 1
        detail = ""
        if isinstance(outcome, Retry):
            detail = f" next_attempt={attempt + 1} delay_s={outcome.delay_s:.1f}"
        elif isinstance(outcome, Dead):
            detail = f" error={outcome.failed.error_type}"
        logger.log(
            logging.WARNING if phase == "dead" else logging.INFO,
            "job %s stage=%s recording=%s offset=%s:%s:%s attempt=%s trace=%s elapsed_s=%.2f%s",
            phase,
            self.stage.name,
            key,
            tp.topic,
            tp.partition,
            record.offset,
            attempt,
            headers.get("trace_id", "-"),
            elapsed_s,
            detail,
        )
        self.on_job(self.stage.name, key, phase)

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
            [job.task for job in running.values()], timeout=self.kafka.rebalance_grace_s
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
        consumer = self._consumer
        if consumer is not None and tp in consumer.assignment():
            consumer.pause(tp)

    def _resume(self, tp: TopicPartition) -> None:
        consumer = self._consumer
        if consumer is not None and tp in consumer.assignment():
            consumer.resume(tp)

    def _seek(self, tp: TopicPartition, offset: int) -> None:
        consumer = self._consumer
        if consumer is not None and tp in consumer.assignment():
            consumer.seek(tp, offset)


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: StageConsumer) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self._owner.on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        self._owner.on_assigned(set(assigned))


def _brief(exc: BaseException) -> str:
    """An exception for a log line: its type and first line (database errors carry whole statements)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__
