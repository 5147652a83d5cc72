"""The outbox relay: events committed to the outbox table go to their Kafka topic, then leave the table.

Every process of a Kafka deployment that may find rows there runs one (the API process, every worker);
``SELECT ... FOR UPDATE SKIP LOCKED`` gives each row to one relay at a time on PostgreSQL. A row is deleted in
the same transaction that locked it, after the broker acknowledged the record (``acks=all``): a relay killed in
between leaves the row, and the next relay sends it again. Downstream, the stage's idempotency record
(recording + stage + model version) turns that second copy into a reuse, so no call is processed twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

from sqlalchemy import func, select

from dealtalk.contracts.config import KafkaSettings
from dealtalk.contracts.errors import DealtalkError, InvalidInput
from dealtalk.contracts.events import StageFailed, dump_event, new_trace_id
from dealtalk.pipeline.bus.kafka.producer import KafkaProducer
from dealtalk.pipeline.bus.kafka.topics import TopicNames
from dealtalk.pipeline.store import Database
from dealtalk.pipeline.store.coordination import OutboxRow

__all__ = ["OutboxRelay", "RelayThread", "outbox_size"]

logger = logging.getLogger(__name__)

_BATCH = 100
_IDLE_WAIT_S = 0.5
_FAILED_WAIT_S = 5.0


def outbox_size(database: Database) -> int:
    """Rows not relayed yet (burst workers wait for zero; a metric for operators)."""
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(OutboxRow)) or 0)


class OutboxRelay:
    """Moves outbox rows to Kafka with ``producer`` (started by the caller)."""

    def __init__(self, database: Database, producer: KafkaProducer, names: TopicNames) -> None:
        self.database = database
        self.producer = producer
        self.names = names
        self.relayed = 0

    async def relay_once(self) -> int:
        """Send up to one batch; returns how many rows left the outbox.

        Raises:
            TransientError: the cluster is unreachable (the rows stay for the next try).
        """
        with self.database.session() as session:
            rows = session.scalars(
                select(OutboxRow).order_by(OutboxRow.id).limit(_BATCH).with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                try:
                    await self.producer.send(row.topic, row.key, row.payload, row.headers)
                except InvalidInput as exc:
                    # Too large for the cluster: sending again cannot help; the reason goes to the DLQ.
                    await self._dead_letter(row, str(exc))
                session.delete(row)
        self.relayed += len(rows)
        if rows:
            logger.info("outbox relayed records=%d", len(rows))
        return len(rows)

    async def _dead_letter(self, row: OutboxRow, reason: str) -> None:
        failed = StageFailed(
            recording_id=row.key,
            trace_id=str(row.headers.get("trace_id") or new_trace_id()),
            stage="relay",
            reason=reason,
            error_type="InvalidInput",
            attempt=1,
            retriable=False,
            original=row.payload[:10_000],
            original_topic=row.topic,
        )
        headers = {"dlq_reason": reason[:1000], "dlq_stage": "relay"}
        await self.producer.send(self.names.dead_letters, row.key, dump_event(failed), headers)

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop``: at once while there is work, then every half second; back off on failure."""
        while not stop.is_set():
            try:
                sent = await self.relay_once()
            except DealtalkError as exc:
                logger.warning("outbox relay failed (retrying in %.0f s): %s", _FAILED_WAIT_S, exc)
                wait = _FAILED_WAIT_S
            else:
                wait = 0.0 if sent == _BATCH else _IDLE_WAIT_S
            if wait:
                await _wait(stop, wait)


class RelayThread:
    """An ``OutboxRelay`` with its own event loop in a daemon thread, for processes that are not async
    (the API server's discovery, the CLI). ``close()`` stops it after the batch in flight."""

    def __init__(self, database: Database, kafka: KafkaSettings, *, client_id_suffix: str = "-relay") -> None:
        self._database = database
        self._kafka = kafka
        self._suffix = client_id_suffix
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="outbox-relay", daemon=True)
        self._thread.start()
        self._ready.wait(timeout=10)

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._run())

    async def _run(self) -> None:
        self._stop = asyncio.Event()
        self._ready.set()
        names = TopicNames.from_settings(self._kafka)
        while not self._stop.is_set():
            try:
                async with KafkaProducer(self._kafka, client_id_suffix=self._suffix) as producer:
                    await OutboxRelay(self._database, producer, names).run(self._stop)
            except DealtalkError as exc:
                # The broker is down at start: the rows wait in the outbox; try again shortly.
                logger.warning("outbox relay cannot connect (retrying in %.0f s): %s", _FAILED_WAIT_S, exc)
                await _wait(self._stop, _FAILED_WAIT_S)

    def close(self) -> None:
        stop = self._stop
        if stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(stop.set)
        self._thread.join(timeout=30)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds`` or until ``stop`` is set, whichever comes first."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
