"""Graph discovery state in the shared store (``graph_state`` rows), so that any number of API replicas agree.

Implements ``ingest.graph.state.DiscoveryState``: delta links per organizer, recordings already emitted (pruned
after 120 days, as in the file version), live subscriptions and resolved organizer ids. Each call is one short
transaction; the leader lease (``store/leases.py``) decides which replica runs the delta sync and renewals.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from dealtalk.ingest.graph.state import SubscriptionRecord
from dealtalk.pipeline.store.coordination import GraphStateRow
from dealtalk.pipeline.store.engine import Database
from dealtalk.pipeline.store.schema import utcnow

__all__ = ["DatabaseDiscoveryState"]

_SEEN_RETENTION = timedelta(days=120)


class DatabaseDiscoveryState:
    """``DiscoveryState`` in ``graph_state`` rows (kind, key) -> value."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def _get(self, kind: str, key: str) -> str | None:
        with self.database.session() as session:
            row = session.get(GraphStateRow, (kind, key))
            return row.value if row is not None else None

    def _put(self, kind: str, key: str, value: str) -> None:
        try:
            with self.database.session() as session:
                row = session.get(GraphStateRow, (kind, key))
                if row is None:
                    session.add(GraphStateRow(kind=kind, key=key, value=value, updated_at=utcnow()))
                else:
                    row.value, row.updated_at = value, utcnow()
        except IntegrityError:
            # Another replica inserted the same entry in between: write over it.
            with self.database.session() as session:
                row = session.get(GraphStateRow, (kind, key))
                if row is not None:
                    row.value, row.updated_at = value, utcnow()

    def _drop(self, kind: str, key: str) -> None:
        with self.database.session() as session:
            session.execute(delete(GraphStateRow).where(GraphStateRow.kind == kind, GraphStateRow.key == key))

    def delta_link(self, organizer_id: str) -> str | None:
        return self._get("delta_link", organizer_id)

    def save_delta_link(self, organizer_id: str, url: str | None) -> None:
        if url is None:
            self._drop("delta_link", organizer_id)
        else:
            self._put("delta_link", organizer_id, url)

    def seen(self, recording_id: str) -> bool:
        return self._get("seen", recording_id) is not None

    def mark_seen(self, recording_id: str) -> None:
        now = utcnow()
        with self.database.session() as session:
            session.execute(
                delete(GraphStateRow).where(
                    GraphStateRow.kind == "seen", GraphStateRow.updated_at < now - _SEEN_RETENTION
                )
            )
        self._put("seen", recording_id, now.isoformat())

    def subscriptions(self) -> list[SubscriptionRecord]:
        with self.database.session() as session:
            values = session.scalars(select(GraphStateRow.value).where(GraphStateRow.kind == "subscription"))
            return [SubscriptionRecord(**json.loads(value)) for value in values]

    def save_subscription(self, record: SubscriptionRecord) -> None:
        self._put("subscription", record.id, json.dumps(asdict(record)))

    def drop_subscription(self, subscription_id: str) -> None:
        self._drop("subscription", subscription_id)

    def user_id(self, organizer: str) -> str | None:
        return self._get("user_id", organizer.lower())

    def save_user_id(self, organizer: str, user_id: str) -> None:
        self._put("user_id", organizer.lower(), user_id)
