"""One record of a stage's partition: run the job off the event loop, make its outcome durable, commit.

``RecordRunner.process`` is what ``StageConsumer`` calls for each record of a paused partition: it runs
``handle_delivery`` in a daemon thread, settles the outcome (``Settler``: store, hand on, retry or dead-letter),
commits ``offset + 1`` through the consumer, and logs one line per job transition with the ids and trace.
A store or cluster failure around the job is not the message's fault: the record is tried again in place.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from enum import Enum
from functools import partial
from typing import Any

from aiokafka import TopicPartition

from dealtalk.contracts.config import BusSettings, KafkaSettings
from dealtalk.contracts.stage import Stage
from dealtalk.pipeline.bus.kafka.connection import describe_cluster
from dealtalk.pipeline.bus.kafka.headers import ORIGINAL_TOPIC, attempt_of, decode_headers
from dealtalk.pipeline.runtime.embedded import WorkerStats
from dealtalk.pipeline.runtime.handler import Dead, Done, Outcome, Retry, handle_delivery
from dealtalk.pipeline.runtime.kafka.deliveries import begin_delivery, died_too_often, end_delivery
from dealtalk.pipeline.runtime.kafka.jobs import run_in_daemon_thread
from dealtalk.pipeline.runtime.kafka.locks import HeldLock, JobLocks
from dealtalk.pipeline.runtime.kafka.settle import Settler
from dealtalk.pipeline.store import Database

__all__ = ["JobHook", "PartitionJob", "RecordRunner", "Step", "brief"]

logger = logging.getLogger(__name__)

JobHook = Callable[[str, str, str], None]

# After this long without the cluster confirming a job's hand-on and commit, the worker says so (and again).
_SLOW_SETTLE_S = 10.0


class Step(Enum):
    """What a partition's job loop does after one record."""

    NEXT = "next"  # settled and committed: go on with the partition's next record
    AGAIN = "again"  # the store or the cluster failed around the job: the same record again, later
    LOST = "lost"  # the partition is no longer ours: stop, the new owner carries on


@dataclass(eq=False, slots=True)
class PartitionJob:
    """One partition's running batch of records, and what a rebalance or shutdown told it."""

    task: asyncio.Task[None]
    # Set at a rebalance or shutdown: finish the record in hand, leave the rest of the batch.
    stop_after_current: bool = False
    # Set while the group rebalances (revoked, not yet reassigned): a result is stored, not handed on.
    revoking: bool = False
    # Set when the partition went elsewhere while the job ran: store its result, hand on and commit nothing.
    abandoned: bool = False


class RecordRunner:
    """Runs and settles one stage's records.

    Args:
        stage: the stage.
        topics: (input topic, retry topic).
        kafka: for the cluster's name in log lines.
        bus: retry policy (attempts, backoff).
        database: where ``handle_delivery`` finds stored results.
        settler: stores and hands on outcomes.
        commit: commits ``offset`` for a partition through the stage's consumer; says whether it still owns it.
        locks: one live executor per job across all workers (``locks.job_locks``).
        stats: the worker's counters.
        on_job: the job hook (stage, recording id, phase).
    """

    def __init__(
        self,
        stage: Stage[Any, Any],
        *,
        topics: tuple[str, str],
        kafka: KafkaSettings,
        bus: BusSettings,
        database: Database,
        settler: Settler,
        commit: Callable[[TopicPartition, int], Awaitable[Step]],
        locks: JobLocks,
        stats: WorkerStats,
        on_job: JobHook,
    ) -> None:
        self.stage = stage
        self.input_topic, self.retry_topic = topics
        self.kafka = kafka
        self.bus = bus
        self.database = database
        self.settler = settler
        self._commit = commit
        self.locks = locks
        self.stats = stats
        self.on_job = on_job

    async def process(self, tp: TopicPartition, record: Any, job: PartitionJob) -> Step:
        """Run one record's job under its job lock, settle it and commit; say how the partition goes on."""
        key = record.key.decode("utf-8", errors="replace") if record.key else "unknown"
        try:
            lock = await asyncio.to_thread(self.locks.try_acquire, key, self.stage.name, self.stage.version)
        except Exception as exc:  # noqa: BLE001 - the store (advisory lock) is away: try again in place
            logger.warning(
                "job lock unavailable stage=%s recording=%s error=%s", self.stage.name, key, brief(exc)
            )
            return Step.AGAIN
        if lock is None:
            logger.info(
                "job waits stage=%s recording=%s: another worker runs it now; its stored result will be reused",
                self.stage.name,
                key,
            )
            return Step.AGAIN
        held = HeldLock(lock)
        try:
            return await self._process_locked(tp, record, job, key, held)
        finally:
            held.release()

    async def _process_locked(
        self, tp: TopicPartition, record: Any, job: PartitionJob, key: str, held: HeldLock
    ) -> Step:
        stage = self.stage
        headers = decode_headers(record.headers)
        from_retry = record.topic == self.retry_topic
        origin = headers.get(ORIGINAL_TOPIC, self.input_topic) if from_retry else record.topic
        attempt = attempt_of(headers)
        started = time.monotonic()
        where = (record.topic, tp.partition, record.offset)
        try:
            starts = await asyncio.to_thread(begin_delivery, self.database, *where, key=key, stage=stage.name)
        except Exception as exc:  # noqa: BLE001 - the store is away: not the message's fault
            return self._again("delivery not recorded", tp, record, key, exc)
        try:
            return await self._run_and_settle(
                tp, record, job, key, held, headers, origin, attempt, starts, started
            )
        finally:
            # Reached whenever this worker survives the job; only a dead worker leaves its start on record.
            try:
                await asyncio.to_thread(end_delivery, self.database, *where)
            except Exception as exc:  # noqa: BLE001 - a stale count only matters after more deaths
                logger.warning(
                    "delivery record not cleared stage=%s recording=%s error=%s", stage.name, key, brief(exc)
                )

    async def _run_and_settle(
        self,
        tp: TopicPartition,
        record: Any,
        job: PartitionJob,
        key: str,
        held: HeldLock,
        headers: dict[str, str],
        origin: str,
        attempt: int,
        starts: int,
        started: float,
    ) -> Step:
        stage = self.stage
        self.on_job(stage.name, key, "started")
        poisoned = died_too_often(
            starts,
            max_attempts=self.bus.max_attempts,
            stage=stage.name,
            key=key,
            headers=headers,
            payload=record.value or b"",
            topic=origin,
        )
        try:
            if poisoned is not None:
                outcome: Outcome = poisoned
            else:
                outcome = await self._run_job(tp, record, key, held, headers, origin, attempt)
        except asyncio.CancelledError:
            self.on_job(stage.name, key, "abandoned")
            raise
        except Exception as exc:  # noqa: BLE001 - the store failed around the stage: not the message's fault
            return self._again("job infrastructure failure", tp, record, key, exc)
        return await self._finish(tp, record, job, key, headers, origin, attempt, outcome, started)

    async def _run_job(
        self,
        tp: TopicPartition,
        record: Any,
        key: str,
        held: HeldLock,
        headers: dict[str, str],
        origin: str,
        attempt: int,
    ) -> Outcome:
        stage = self.stage
        job_fn = partial(
            handle_delivery,
            stage,
            record.value or b"",
            topic=origin,
            attempt=attempt,
            database=self.database,
            settings=self.bus,
            headers={**headers, "key": key},
        )
        return await run_in_daemon_thread(
            partial(held.run, job_fn), name=f"job-{stage.name}-{tp.partition}-{record.offset}"
        )

    async def _finish(
        self,
        tp: TopicPartition,
        record: Any,
        job: PartitionJob,
        key: str,
        headers: dict[str, str],
        origin: str,
        attempt: int,
        outcome: Outcome,
        started: float,
    ) -> Step:
        stage = self.stage
        if job.abandoned or job.revoking:
            self.on_job(stage.name, key, "abandoned")
            await self._keep_abandoned_result(outcome, key)
            return Step.LOST
        try:
            step = await self._settle_reporting_delays(
                self._settle(tp, record, outcome, key=key, headers=headers, origin=origin, attempt=attempt),
                key=key,
            )
        except Exception as exc:  # noqa: BLE001 - the store or the cluster failed recording the outcome
            return self._again("job not settled", tp, record, key, exc)
        if step is Step.NEXT:
            self._log_outcome(tp, record, outcome, key, headers, attempt, time.monotonic() - started)
        else:
            self.on_job(stage.name, key, "abandoned")
        return step

    def _again(self, what: str, tp: TopicPartition, record: Any, key: str, exc: Exception) -> Step:
        """The job ends without an outcome; the same record runs again later, in place (no attempt counted).

        Only ``brief(exc)`` is logged: a database error's full text carries the statement and its parameters.
        """
        self.on_job(self.stage.name, key, "abandoned")
        logger.warning(
            "%s stage=%s recording=%s offset=%s:%s:%s error=%s; retrying in place",
            what,
            self.stage.name,
            key,
            tp.topic,
            tp.partition,
            record.offset,
            brief(exc),
        )
        return Step.AGAIN

    async def _settle_reporting_delays(self, settling: Coroutine[Any, Any, Step], *, key: str) -> Step:
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
    ) -> Step:
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
                    brief(exc),
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
            # Fields of their own for JSON logs (DEALTALK_LOG_FORMAT=json): log shippers index on them.
            extra={
                "stage": self.stage.name,
                "recording_id": key,
                "trace_id": headers.get("trace_id", ""),
                "outcome": phase,
                "attempt": attempt,
                "elapsed_s": round(elapsed_s, 3),
            },
        )
        self.on_job(self.stage.name, key, phase)


def brief(exc: BaseException) -> str:
    """An exception for a log line: its type and first line (database errors carry whole statements)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__
