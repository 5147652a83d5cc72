"""The embedded worker: claims messages from the database queue, runs stages, commits results atomically.

For each message: lease it, renew the lease from a heartbeat thread while the stage runs, then in ONE
transaction store the result and its projection, enqueue the next event and mark the message done. A crash at
any point leaves either nothing (the message is delivered again when its lease expires, and the stage's
idempotent effects make the rerun harmless) or everything.

``burst=True`` (tests, the demo) runs until no message is outstanding on the worker's topics, arq-style.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from dealtalk.contracts.config import BusSettings
from dealtalk.contracts.events import TOPICS, dump_event, topic_of
from dealtalk.contracts.stage import Stage
from dealtalk.pipeline.bus.embedded import Delivery, EmbeddedBus, LeaseLost
from dealtalk.pipeline.runtime.handler import Dead, Done, Retry, handle_delivery, record_success
from dealtalk.pipeline.runtime.stats import JobHook, WorkerStats, combine_hooks, new_worker_id
from dealtalk.pipeline.store.projections import mark_failed

__all__ = ["EmbeddedWorker"]

logger = logging.getLogger(__name__)


class EmbeddedWorker:
    """Runs a set of stages over the embedded bus.

    Args:
        bus: the database queue.
        stages: the stages this worker serves (one consumer per input topic).
        settings: lease, heartbeat, retry and polling settings.
        worker_id: identifies the lease holder; a fresh one per process by default.
        on_job: told (stage, recording id, phase) as jobs start and end (``stats.JobHook``).
    """

    def __init__(
        self,
        bus: EmbeddedBus,
        stages: Sequence[Stage[Any, Any]],
        settings: BusSettings,
        *,
        worker_id: str | None = None,
        on_job: JobHook | None = None,
    ) -> None:
        self.bus = bus
        self.on_job = combine_hooks(on_job)
        self.settings = settings
        self.worker_id = worker_id or new_worker_id()
        self.stages = {TOPICS[stage.consumes]: stage for stage in stages}
        self.stats = WorkerStats()

    @property
    def topics(self) -> list[str]:
        return list(self.stages)

    def run(self, *, burst: bool = False, stop: threading.Event | None = None) -> WorkerStats:
        """Process messages until ``stop`` is set (or, with ``burst``, until nothing is outstanding)."""
        stop = stop or threading.Event()
        logger.info("worker started id=%s topics=%s burst=%s", self.worker_id, ",".join(self.topics), burst)
        while not stop.is_set():
            delivery = self.bus.claim(self.topics, self.worker_id)
            if delivery is None:
                if burst and self.bus.outstanding(self.topics) == 0:
                    break
                stop.wait(self.settings.poll_interval_s)
                continue
            self.run_delivery(delivery)
        logger.info(
            "worker stopped id=%s processed=%s retried=%s dead_lettered=%s",
            self.worker_id,
            self.stats.processed,
            self.stats.retried,
            self.stats.dead_lettered,
        )
        return self.stats

    def run_delivery(self, delivery: Delivery) -> None:
        """Run one delivered message through its stage and make the outcome durable."""
        stage = self.stages[delivery.topic]
        self.on_job(stage.name, delivery.key, "started")
        with _Heartbeat(self.bus, delivery, self.worker_id, self.settings):
            outcome = handle_delivery(
                stage,
                delivery.payload,
                topic=delivery.topic,
                attempt=delivery.attempt,
                database=self.bus.database,
                settings=self.settings,
                headers=delivery.headers,
            )
        if isinstance(outcome, Retry):
            self.bus.retry(delivery, self.worker_id, delay_s=outcome.delay_s, error=outcome.error)
            self.stats.count(stage.name, "retry")
            self.on_job(stage.name, delivery.key, "retry")
            return
        try:
            with self.bus.database.session() as session:
                if isinstance(outcome, Dead):
                    self.bus.dead_letter(session, delivery, outcome.failed, self.worker_id)
                    mark_failed(session, delivery.key, stage.name)
                    self.stats.count(stage.name, "dead")
                else:
                    self._commit(session, stage, delivery, outcome)
        except LeaseLost:
            logger.warning(
                "lease lost message=%s topic=%s; another worker owns it", delivery.message_id, delivery.topic
            )
            return
        if isinstance(outcome, Dead):
            self.on_job(stage.name, delivery.key, "dead")
        else:
            self.on_job(stage.name, delivery.key, "reused" if outcome.reused else "done")

    def _commit(self, session: Any, stage: Stage[Any, Any], delivery: Delivery, done: Done) -> None:
        record_success(session, stage, done, actor=self.worker_id)
        next_topic = topic_of(done.output)
        # Only hand the event on when a stage consumes it here; the final event is recorded in the store.
        if next_topic in _CONSUMED_TOPICS:
            headers = {"trace_id": done.output.trace_id, "stage": stage.name}  # type: ignore[attr-defined]
            self.bus.publish(session, next_topic, delivery.key, dump_event(done.output), headers)
        self.bus.complete(session, delivery, self.worker_id)
        self.stats.count(stage.name, "reused" if done.reused else "done")


# Topics that some stage consumes: everything but the final "calls.published" and the failure topic.
_CONSUMED_TOPICS = frozenset(
    topic for topic in TOPICS.values() if topic not in ("calls.published", "stage.failed")
)


class _Heartbeat:
    """Renews a message's lease while its (possibly long) job runs, so no other worker takes it over."""

    def __init__(self, bus: EmbeddedBus, delivery: Delivery, worker_id: str, settings: BusSettings) -> None:
        self._bus = bus
        self._delivery = delivery
        self._worker_id = worker_id
        self._interval_s = min(settings.heartbeat_s, settings.lease_s / 3)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="lease-heartbeat", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self._interval_s):
            started = time.monotonic()
            if not self._bus.extend_lease(self._delivery, self._worker_id):
                logger.warning("lease renewal failed message=%s", self._delivery.message_id)
                return
            logger.debug(
                "lease renewed message=%s in %.3f s", self._delivery.message_id, time.monotonic() - started
            )
