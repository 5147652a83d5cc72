"""Change-notification subscriptions for the organizers' recordings: create, renew before expiry, reauthorize.

One subscription per organizer on ``users/{id}/onlineMeetings/getAllRecordings`` (``changeType: created``), so a
notification's subscription id tells whose meeting it is. Recording subscriptions live at most 4,320 minutes;
beyond one hour Graph requires a ``lifecycleNotificationUrl``. Graph validates both URLs (the handshake in
``api/notifications.py``) before it answers 201.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from msgraph.generated.models.subscription import Subscription
from pydantic import SecretStr

from dealtalk.contracts.errors import ConfigurationError, DealtalkError, TransientError
from dealtalk.ingest.graph.errors import GraphFailure, graph_error
from dealtalk.ingest.graph.session import GraphSession
from dealtalk.ingest.graph.state import DiscoveryState, SubscriptionRecord

__all__ = ["SubscriptionManager", "SubscriptionPlan"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SubscriptionPlan:
    notification_url: str
    lifecycle_url: str
    client_state: SecretStr
    lifetime: timedelta
    renew_before: timedelta


class SubscriptionManager:
    """Keeps one live subscription per organizer.

    Args:
        session: the Graph session.
        state: where subscription ids and expiries are remembered.
        plan: URLs, client state and timing.
    """

    def __init__(self, session: GraphSession, state: DiscoveryState, plan: SubscriptionPlan) -> None:
        if not plan.notification_url:
            raise ConfigurationError(
                "DEALTALK_GRAPH__NOTIFICATION_URL must be the public HTTPS URL of the API's Graph webhook"
            )
        if not plan.lifecycle_url:
            raise ConfigurationError(
                "DEALTALK_GRAPH__LIFECYCLE_NOTIFICATION_URL is required: recording subscriptions longer than one "
                "hour need it"
            )
        self._session = session
        self._state = state
        self._plan = plan

    def _fail(self, failure: GraphFailure, what: str) -> Exception:
        return graph_error(failure, what, client_id=self._session.client_id)

    def owner(self, subscription_id: str) -> str | None:
        """The organizer a subscription watches, or None for a subscription we do not know."""
        return next((s.organizer_id for s in self._state.subscriptions() if s.id == subscription_id), None)

    def ensure(self, organizer_ids: Sequence[str]) -> dict[str, str]:
        """Create missing subscriptions, renew those close to expiry, delete those of removed organizers.

        Returns:
            organizer id -> what was done ("created", "renewed", "kept", "deleted").
        """
        now = datetime.now(UTC)
        done: dict[str, str] = {}
        current = {s.organizer_id: s for s in self._state.subscriptions()}
        failures: list[DealtalkError] = []
        for organizer_id in organizer_ids:
            record = current.get(organizer_id)
            try:
                if record is None:
                    self._create(organizer_id)
                    done[organizer_id] = "created"
                elif datetime.fromisoformat(record.expires) - now <= self._plan.renew_before:
                    done[organizer_id] = "renewed" if self._renew(record) else "created"
                else:
                    done[organizer_id] = "kept"
            except DealtalkError as exc:
                # One seller's subscription failing must not leave the others without theirs.
                done[organizer_id] = "failed"
                failures.append(exc)
        for organizer_id, record in current.items():
            if organizer_id not in organizer_ids:
                self._delete(record)
                done[organizer_id] = "deleted"
        if failures:
            raise failures[0]
        return done

    def _expiry(self) -> datetime:
        return datetime.now(UTC) + self._plan.lifetime

    def _create(self, organizer_id: str) -> SubscriptionRecord:
        resource = f"users/{organizer_id}/onlineMeetings/getAllRecordings"
        body = Subscription(
            change_type="created",
            notification_url=self._plan.notification_url,
            lifecycle_notification_url=self._plan.lifecycle_url,
            resource=resource,
            expiration_date_time=self._expiry(),
            client_state=self._plan.client_state.get_secret_value(),
        )
        try:
            created = self._session.call(lambda c: c.subscriptions.post(body))
        except GraphFailure as failure:
            raise self._fail(failure, f"a subscription to {resource}") from None
        if created is None or created.id is None:
            raise TransientError(f"Graph answered the subscription to {resource} without an id")
        expires = created.expiration_date_time or body.expiration_date_time
        assert expires is not None
        record = SubscriptionRecord(
            str(created.id), organizer_id, resource, expires.astimezone(UTC).isoformat()
        )
        self._state.save_subscription(record)
        logger.info("created Graph subscription %s for organizer %s", record.id, organizer_id)
        return record

    def _renew(self, record: SubscriptionRecord) -> bool:
        """PATCH a new expiry; a subscription Graph no longer has is recreated. True when renewed."""
        expires = self._expiry()
        try:
            self._session.call(
                lambda c: c.subscriptions.by_subscription_id(record.id).patch(
                    Subscription(expiration_date_time=expires)
                )
            )
        except GraphFailure as failure:
            if failure.status != 404:
                raise self._fail(failure, f"renewing subscription {record.id}") from None
            self._state.drop_subscription(record.id)
            self._create(record.organizer_id)
            return False
        self._state.save_subscription(
            SubscriptionRecord(record.id, record.organizer_id, record.resource, expires.isoformat())
        )
        return True

    def _delete(self, record: SubscriptionRecord) -> None:
        try:
            self._session.call(lambda c: c.subscriptions.by_subscription_id(record.id).delete())
        except GraphFailure as failure:
            if failure.status != 404:
                raise self._fail(failure, f"deleting subscription {record.id}") from None
        self._state.drop_subscription(record.id)

    def reauthorize(self, subscription_id: str) -> None:
        """Answer ``reauthorizationRequired``: reauthorize (renewing too), or recreate a vanished subscription."""
        record = next((s for s in self._state.subscriptions() if s.id == subscription_id), None)
        if record is None:
            logger.warning("reauthorization asked for unknown subscription %s", subscription_id)
            return
        try:
            self._session.call(
                lambda c: c.subscriptions.by_subscription_id(subscription_id).reauthorize.post()
            )
        except GraphFailure as failure:
            if failure.status != 404:
                raise self._fail(failure, f"reauthorizing subscription {subscription_id}") from None
            self.recreate(subscription_id)
            return
        self._renew(record)

    def recreate(self, subscription_id: str) -> str | None:
        """Answer ``subscriptionRemoved``: create a new subscription for the same organizer; returns it."""
        organizer_id = self.owner(subscription_id)
        if organizer_id is None:
            return None
        self._state.drop_subscription(subscription_id)
        self._create(organizer_id)
        return organizer_id
