"""Named leases in the shared store: one process at a time does a cluster-wide duty (Graph discovery).

``Lease.hold()`` takes the lease when it is free or expired, or renews it when this holder has it; the row's
update is conditional, so two processes racing for it cannot both win. A killed holder stops renewing and the
lease passes on after ``ttl``. Works the same on PostgreSQL and SQLite (no advisory locks needed).
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import CursorResult, or_, update
from sqlalchemy.exc import IntegrityError

from dealtalk.pipeline.store.coordination import LeaseRow
from dealtalk.pipeline.store.engine import Database
from dealtalk.pipeline.store.schema import utcnow

__all__ = ["Lease", "new_holder_id"]

logger = logging.getLogger(__name__)


def new_holder_id() -> str:
    """Host, process and a random part: unique per process, readable in the leases table."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Lease:
    """The lease ``name`` as seen by ``holder``.

    Args:
        database: the shared store.
        name: what the lease guards ("graph-discovery").
        holder: this process (``new_holder_id()``).
        ttl: how long a taken or renewed lease lasts without renewal.
    """

    def __init__(self, database: Database, name: str, holder: str, *, ttl: timedelta) -> None:
        self.database = database
        self.name = name
        self.holder = holder
        self.ttl = ttl
        self.held = False
        # Renew well before expiry: a third of the lifetime leaves two missed renewals of slack.
        self.renew_s = ttl.total_seconds() / 3

    def hold(self) -> bool:
        """Take or renew the lease; True while this holder has it."""
        now = utcnow()
        with self.database.session() as session:
            result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
                update(LeaseRow)
                .where(
                    LeaseRow.name == self.name,
                    or_(LeaseRow.holder == self.holder, LeaseRow.expires_at < now),
                )
                .values(holder=self.holder, expires_at=now + self.ttl)
                .execution_options(synchronize_session=False)
            )
            taken = result.rowcount
        if not taken:
            taken = self._create()
        held = bool(taken)
        if held != self.held:
            logger.info("lease %s %s by %s", self.name, "taken" if held else "lost", self.holder)
        self.held = held
        return held

    def _create(self) -> int:
        try:
            with self.database.session() as session:
                if session.get(LeaseRow, self.name) is not None:
                    return 0
                session.add(LeaseRow(name=self.name, holder=self.holder, expires_at=utcnow() + self.ttl))
        except IntegrityError:
            return 0  # another process created it first
        return 1

    def release(self) -> None:
        """Give the lease up now (a graceful stop), so another process takes over without waiting."""
        with self.database.session() as session:
            session.execute(
                update(LeaseRow)
                .where(LeaseRow.name == self.name, LeaseRow.holder == self.holder)
                .values(expires_at=utcnow() - timedelta(seconds=1))
                .execution_options(synchronize_session=False)
            )
        self.held = False
