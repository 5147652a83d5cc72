"""One record of a stage's partition: run the job off the event loop, make its outcome durable, commit.

``RecordRunner.run_record`` is what ``StageConsumer`` calls for each record of a paused partition: it runs
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

from dealtalk.contracts.stage import Stage
from dealtalk.pipeline.bus.kafka.connection import describe_cluster
from dealtalk.pipeline.bus.kafka.headers import ORIGINAL_TOPIC, attempt_of, decode_headers
from dealtalk.pipeline.runtime.handler import Done, Outcome, Retry, handle_delivery
from dealtalk.pipeline.runtime.kafka.context import StageTopics, WorkerContext
from dealtalk.pipeline.runtime.kafka.deliveries import begin_delivery, died_too_often, end_delivery
from dealtalk.pipeline.runtime.kafka.jobs import run_in_daemon_thread
from dealtalk.pipeline.runtime.kafka.locks import HeldLock

__all__ = ["PartitionJob", "RecordRunner", "Step", "brief"]

logger = logging.getLogger(__name__)

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


@dataclass(frozen=True, slots=True)
class _Run:
    """One record in hand: where it came from and what its headers say, read once when its job starts."""

    tp: TopicPartition
    record: Any
    job: PartitionJob
    key: str
    headers: dict[str, str]
    origin: str  # the input topic it was first sent to (a retry-topic record names it in a header)
    attempt: int
    started: float

    @property
    def value(self) -> bytes:
        return self.record.value or b""

    @property
    def offset(self) -> int:
        return int(self.record.offset)


class RecordRunner:
    """Runs and settles one stage's records.

    Args:
        stage: the stage.
        topics: the stage's input and retry topics.
        ctx: what the worker's consumers share (store, settings, settler, locks, counters, job hook).
        commit: commits ``offset`` for a partition through the stage's consumer; says whether it still owns it.
    """

    def __init__(
        self,
        stage: Stage[Any, Any],
        topics: StageTopics,
        ctx: WorkerContext,
        commit: Callable[[TopicPartition, int], Awaitable[Step]],
    ) -> None:
        self.stage = stage
        self.topics = topics
        self.ctx = ctx
        self._commit = commit

    async def run_record(self, tp: TopicPartition, record: Any, job: PartitionJob) -> Step:
        """Run one record's job under its job lock, settle it and commit; say how the partition goes on."""
        stage = self.stage
        key = record.key.decode("utf-8", errors="replace") if record.key else "unknown"
        try:
            lock = await asyncio.to_thread(self.ctx.locks.try_acquire, key, stage.name, stage.version)
        except Exception as exc:  # noqa: BLE001 - the store (advisory lock) is away: try again in place
            logger.warning("job lock unavailable stage=%s recording=%s error=%s", stage.name, key, brief(exc))
            return Step.AGAIN
        if lock is None:
            logger.info(
                "job waits stage=%s recording=%s: another worker runs it now; its stored result will be reused",
                stage.name,
                key,
            )
            return Step.AGAIN
        held = HeldLock(lock)
        try:
            headers = decode_headers(record.headers)
            from_retry = record.topic == self.topics.retry
            run = _Run(
                tp=tp,
                record=record,
                job=job,
                key=key,
                headers=headers,
                origin=headers.get(ORIGINAL_TOPIC, self.topics.input) if from_retry else record.topic,
                attempt=attempt_of(headers),
                started=time.monotonic(),
            )
            return await self._run_locked(run, held)
        finally:
            held.release()

    async def _run_locked(self, run: _Run, held: HeldLock) -> Step:
        database = self.ctx.database
        where = (run.record.topic, run.tp.partition, run.offset)
        try:
            starts = await asyncio.to_thread(
                begin_delivery, database, *where, key=run.key, stage=self.stage.name
            )
        except Exception as exc:  # noqa: BLE001 - the store is away: not the message's fault
            return self._again("delivery not recorded", run, exc)
        try:
            return await self._run_and_settle(run, held, starts)
        finally:
            # Reached whenever this worker survives the job; only a dead worker leaves its start on record.
            try:
                await asyncio.to_thread(end_delivery, database, *where)
            except Exception as exc:  # noqa: BLE001 - a stale count only matters after more deaths
                logger.warning(
                    "delivery record not cleared stage=%s recording=%s error=%s",
                    self.stage.name,
                    run.key,
                    brief(exc),
                )

    async def _run_and_settle(self, run: _Run, held: HeldLock, starts: int) -> Step:
        stage = self.stage
        self.ctx.on_job(stage.name, run.key, "started")
        poisoned = died_too_often(
            starts,
            max_attempts=self.ctx.bus.max_attempts,
            stage=stage.name,
            key=run.key,
            headers=run.headers,
            payload=run.value,
            topic=run.origin,
        )
        try:
            outcome: Outcome = poisoned if poisoned is not None else await self._run_job(run, held)
        except asyncio.CancelledError:
            self.ctx.on_job(stage.name, run.key, "abandoned")
            raise
        except Exception as exc:  # noqa: BLE001 - the store failed around the stage: not the message's fault
            return self._again("job infrastructure failure", run, exc)
        return await self._finish(run, outcome)

    async def _run_job(self, run: _Run, held: HeldLock) -> Outcome:
        job_fn = partial(
            handle_delivery,
            self.stage,
            run.value,
            topic=run.origin,
            attempt=run.attempt,
            database=self.ctx.database,
            settings=self.ctx.bus,
            headers={**run.headers, "key": run.key},
        )
        return await run_in_daemon_thread(
            partial(held.run, job_fn), name=f"job-{self.stage.name}-{run.tp.partition}-{run.offset}"
        )

    async def _finish(self, run: _Run, outcome: Outcome) -> Step:
        if run.job.abandoned or run.job.revoking:
            self.ctx.on_job(self.stage.name, run.key, "abandoned")
            await self._keep_abandoned_result(outcome, run.key)
            return Step.LOST
        try:
            step = await self._settle_reporting_delays(self._settle(run, outcome), key=run.key)
        except Exception as exc:  # noqa: BLE001 - the store or the cluster failed recording the outcome
            return self._again("job not settled", run, exc)
        if step is Step.NEXT:
            self._log_outcome(run, outcome, time.monotonic() - run.started)
        else:
            self.ctx.on_job(self.stage.name, run.key, "abandoned")
        return step

    def _again(self, what: str, run: _Run, exc: Exception) -> Step:
        """The job ends without an outcome; the same record runs again later, in place (no attempt counted).

        Only ``brief(exc)`` is logged: a database error's full text carries the statement and its parameters.
        """
        self.ctx.on_job(self.stage.name, run.key, "abandoned")
        logger.warning(
            "%s stage=%s recording=%s offset=%s:%s:%s error=%s; retrying in place",
            what,
            self.stage.name,
            run.key,
            run.tp.topic,
            run.tp.partition,
            run.offset,
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
                    describe_cluster(self.ctx.kafka),
                )
        finally:
            task.cancel()

    async def _settle(self, run: _Run, outcome: Outcome) -> Step:
        settler = self.ctx.settler
        if isinstance(outcome, Done):
            stored = await asyncio.to_thread(settler.store, self.stage, outcome)
            await settler.hand_on(self.stage, stored)
        elif isinstance(outcome, Retry):
            await settler.retry(
                self.stage,
                outcome,
                key=run.key,
                value=run.value,
                headers=run.headers,
                origin=run.origin,
                attempt=run.attempt,
            )
        else:
            await asyncio.to_thread(settler.mark_failed, outcome)
            await settler.dead_letter(
                outcome, headers=run.headers, partition=run.tp.partition, offset=run.offset
            )
        return await self._commit(run.tp, run.offset + 1)

    async def _keep_abandoned_result(self, outcome: Outcome, key: str) -> None:
        """A job whose partition is moving: keep its result (idempotent) so the next owner can reuse it.

        A retry or a dead letter is not sent: the next owner runs the (usually quick) failing job again and
        sends it, so the retry topic never holds two copies of one attempt.
        """
        if isinstance(outcome, Done) and not outcome.reused:
            try:
                await asyncio.to_thread(self.ctx.settler.store, self.stage, outcome)
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

    def _log_outcome(self, run: _Run, outcome: Outcome, elapsed_s: float) -> None:
        detail = ""
        if isinstance(outcome, Done):
            phase = "reused" if outcome.reused else "done"
        elif isinstance(outcome, Retry):
            phase = "retry"
            detail = f" next_attempt={run.attempt + 1} delay_s={outcome.delay_s:.1f}"
        else:
            phase = "dead"
            detail = f" error={outcome.failed.error_type}"
        self.ctx.stats.count(self.stage.name, phase)
        logger.log(
            logging.WARNING if phase == "dead" else logging.INFO,
            "job %s stage=%s recording=%s offset=%s:%s:%s attempt=%s trace=%s elapsed_s=%.2f%s",
            phase,
            self.stage.name,
            run.key,
            run.tp.topic,
            run.tp.partition,
            run.offset,
            run.attempt,
            run.headers.get("trace_id", "-"),
            elapsed_s,
            detail,
            # Fields of their own for JSON logs (DEALTALK_LOG_FORMAT=json): log shippers index on them.
            extra={
                "stage": self.stage.name,
                "recording_id": run.key,
                "trace_id": run.headers.get("trace_id", ""),
                "outcome": phase,
                "attempt": run.attempt,
                "elapsed_s": round(elapsed_s, 3),
            },
        )
        self.ctx.on_job(self.stage.name, run.key, phase)


def brief(exc: BaseException) -> str:
    """An exception for a log line: its type and first line (database errors carry whole statements)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__
