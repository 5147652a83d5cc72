"""Rows that coordinate processes through the shared store: the event outbox, Graph discovery state, leases.

* ``OutboxRow``: an event a producer outside a stage (discovery, manual link, replay) committed together with
  its own rows; a relay hands it to Kafka and deletes it. Committing here instead of producing directly is what
  keeps "registered" and "on the bus" together when the process dies in between.
* ``GraphStateRow``: what Graph discovery remembers (delta links, subscriptions, ids already emitted), shared by
  every API replica instead of a file on one of them.
* ``LeaseRow``: a named lease ("graph-discovery") that one process at a time holds and renews; a killed holder's
  lease expires and another process takes over.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dealtalk.pipeline.store.schema import Base, utcnow

__all__ = ["GraphStateRow", "LeaseRow", "OutboxRow"]


class OutboxRow(Base):
    """One event waiting for the relay; ``topic`` is the bus topic it goes to."""

    __tablename__ = "event_outbox"
    __table_args__ = (Index("ix_event_outbox_created", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    topic: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(512))
    payload: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict[str, Any]]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GraphStateRow(Base):
    """One entry of Graph discovery state: ``kind`` is delta_link | seen | subscription | user_id."""

    __tablename__ = "graph_state"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(1024), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class LeaseRow(Base):
    """A lease on a named cluster-wide duty, held by ``holder`` until ``expires_at`` unless renewed."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)
