"""The embedded bus: a durable queue in the same SQLite/PostgreSQL database as the results.

Semantics match what the Kafka bus gives (so the same stage code runs on either):

* at-least-once: a message is done only when the worker completes it; a crashed worker's lease expires and
  another worker (or the restarted one) gets the message again;
* a lease per message, renewed by the worker's heartbeat while a long job runs;
* retries with exponential backoff (``available_at`` in the future), then the dead-letter table;
* ordering per key (recording id) within a topic: a message is not handed out while an earlier message with
  the same key on the same topic is still pending, leased or waiting for its retry.

Completing a message, storing the stage's result and enqueueing the next event happen in one transaction
(``complete`` and ``publish`` take the caller's session), so a crash never leaves one without the other.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from dealtalk.contracts.config import BusSettings
from dealtalk.contracts.events import StageFailed
from dealtalk.pipeline.store import Database
from dealtalk.pipeline.store.schema import BusMessageRow, DeadLetterRow, utcnow

__all__ = ["Delivery", "EmbeddedBus", "LeaseLost"]

logger = logging.getLogger(__name__)


class LeaseLost(RuntimeError):
    """The worker no longer holds the message's lease (it expired and another worker took the message)."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message handed to one worker. ``attempt`` counts deliveries, starting at 1."""

    message_id: int
    topic: str
    key: str
    payload: str
    headers: dict[str, str]
    attempt: int


class EmbeddedBus:
    def __init__(self, database: Database, settings: BusSettings) -> None:
        self.database = database
        self.settings = settings

    # --- producing -------------------------------------------------------------------------------------
    def publish(
        self, session: Session, topic: str, key: str, payload: str, headers: dict[str, str] | None = None
    ) -> None:
        """Enqueue a message inside the caller's transaction."""
        session.add(
            BusMessageRow(
                topic=topic,
                key=key,
                payload=payload,
                headers=headers or {},
                status="pending",
                attempt=0,
                available_at=utcnow(),
            )
        )

    def publish_now(self, topic: str, key: str, payload: str, headers: dict[str, str] | None = None) -> None:
        """Enqueue a message in a transaction of its own."""
        with self.database.session() as session:
            self.publish(session, topic, key, payload, headers)

    # --- consuming -------------------------------------------------------------------------------------
    def claim(self, topics: Sequence[str], worker_id: str) -> Delivery | None:
        """Lease the oldest deliverable message on ``topics``, or return None when there is none.

        A message delivered more than ``max_attempts`` times without completing (its workers kept dying)
        goes to the dead-letter table here instead of being handed out again.
        """
        while True:
            delivery = self._claim_one(topics, worker_id)
            if delivery is None or delivery.attempt <= self.settings.max_attempts:
                return delivery
            reason = (
                f"gave up after {delivery.attempt - 1} deliveries: each time the worker stopped (crash, kill or "
                "lease timeout) before finishing"
            )
            failed = StageFailed(
                recording_id=delivery.key,
                trace_id=delivery.headers.get("trace_id", "unknown"),
                stage=delivery.headers.get("stage", delivery.topic),
                reason=reason,
                error_type="LeaseExpired",
                attempt=delivery.attempt - 1,
                retriable=True,
                original=delivery.payload,
                original_topic=delivery.topic,
            )
            with self.database.session() as session:
                self.dead_letter(session, delivery, failed, worker_id)

    def _claim_one(self, topics: Sequence[str], worker_id: str) -> Delivery | None:
        now = utcnow()
        earlier = aliased(BusMessageRow)
        blocked_by_earlier = exists().where(
            and_(
                earlier.topic == BusMessageRow.topic,
                earlier.key == BusMessageRow.key,
                earlier.status == "pending",
                earlier.id < BusMessageRow.id,
            )
        )
        lease_free = or_(BusMessageRow.lease_expires_at.is_(None), BusMessageRow.lease_expires_at <= now)
        candidate = (
            select(BusMessageRow.id)
            .where(
                BusMessageRow.topic.in_(topics),
                BusMessageRow.status == "pending",
                BusMessageRow.available_at <= now,
                lease_free,
                ~blocked_by_earlier,
            )
            .order_by(BusMessageRow.id)
            .limit(1)
            # PostgreSQL: concurrent claimers skip rows another worker is leasing right now.
            # SQLite ignores this; its single writer makes the UPDATE below atomic anyway.
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        statement = (
            update(BusMessageRow)
            .where(BusMessageRow.id == candidate, lease_free)
            .values(
                leased_by=worker_id,
                lease_expires_at=now + timedelta(seconds=self.settings.lease_s),
                attempt=BusMessageRow.attempt + 1,
            )
            .returning(
                BusMessageRow.id,
                BusMessageRow.topic,
                BusMessageRow.key,
                BusMessageRow.payload,
                BusMessageRow.headers,
                BusMessageRow.attempt,
            )
        )
        with self.database.session() as session:
            row = session.execute(statement).first()
        if row is None:
            return None
        return Delivery(
            message_id=row.id,
            topic=row.topic,
            key=row.key,
            payload=row.payload,
            headers={str(k): str(v) for k, v in (row.headers or {}).items()},
            attempt=row.attempt,
        )

    def extend_lease(self, delivery: Delivery, worker_id: str) -> bool:
        """Renew the lease (the heartbeat); False when the lease was lost."""
        with self.database.session() as session:
            result = session.execute(
                update(BusMessageRow)
                .where(
                    BusMessageRow.id == delivery.message_id,
                    BusMessageRow.leased_by == worker_id,
                    BusMessageRow.status == "pending",
                )
                .values(lease_expires_at=utcnow() + timedelta(seconds=self.settings.lease_s))
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def complete(self, session: Session, delivery: Delivery, worker_id: str) -> None:
        """Mark the message done inside the caller's transaction.

        Raises:
            LeaseLost: another worker holds the message now; the caller must roll back its transaction.
        """
        result = session.execute(
            update(BusMessageRow)
            .where(
                BusMessageRow.id == delivery.message_id,
                BusMessageRow.leased_by == worker_id,
                BusMessageRow.status == "pending",
            )
            .values(status="done", done_at=utcnow(), lease_expires_at=None)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            raise LeaseLost(f"message {delivery.message_id} is no longer leased by {worker_id}")

    def retry(self, delivery: Delivery, worker_id: str, *, delay_s: float, error: str) -> None:
        """Release the message to be delivered again after ``delay_s``."""
        with self.database.session() as session:
            session.execute(
                update(BusMessageRow)
                .where(BusMessageRow.id == delivery.message_id, BusMessageRow.leased_by == worker_id)
                .values(
                    available_at=utcnow() + timedelta(seconds=delay_s),
                    leased_by=None,
                    lease_expires_at=None,
                    last_error=error[:2000],
                )
            )

    def dead_letter(self, session: Session, delivery: Delivery, failed: StageFailed, worker_id: str) -> None:
        """Move the message to the dead-letter table with the reason, inside the caller's transaction."""
        session.execute(
            update(BusMessageRow)
            .where(BusMessageRow.id == delivery.message_id)
            .values(status="dead", done_at=utcnow(), lease_expires_at=None, last_error=failed.reason[:2000])
        )
        session.add(
            DeadLetterRow(
                topic=delivery.topic,
                stage=failed.stage,
                recording_id=delivery.key,
                reason=failed.reason,
                error_type=failed.error_type,
                attempt=failed.attempt,
                payload=delivery.payload,
                headers={**delivery.headers, "dead_lettered_by": worker_id},
                replayed=False,
            )
        )
        logger.warning(
            "dead-lettered message=%s topic=%s recording=%s stage=%s attempt=%s error=%s",
            delivery.message_id,
            delivery.topic,
            delivery.key,
            failed.stage,
            failed.attempt,
            failed.error_type,
        )

    # --- inspection ------------------------------------------------------------------------------------
    def outstanding(self, topics: Sequence[str]) -> int:
        """Messages on ``topics`` not yet done or dead (pending, leased or waiting for a retry)."""
        with self.database.session() as session:
            count = session.scalar(
                select(func.count())
                .select_from(BusMessageRow)
                .where(BusMessageRow.topic.in_(topics), BusMessageRow.status == "pending")
            )
        return int(count or 0)
