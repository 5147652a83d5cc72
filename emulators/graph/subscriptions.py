"""Change-notification subscriptions of the Graph emulator: create/renew/reauthorize/delete, delivery, lifecycle.

Per "Receive change notifications through webhooks", "Lifecycle notifications" and the Teams recording page:

* ``resource`` must be one of the recording/transcript resources (a user-scoped one only for a user the
  application access policy covers, as for the API itself), ``changeType`` ``created``,
  ``expirationDateTime`` in the future and at most 4,320 minutes away, ``clientState`` at most 128 characters,
  ``lifecycleNotificationUrl`` required beyond one hour, HTTPS URLs (loopback HTTP only when the emulator is
  told to allow it, for tests);
* before answering 201, a validation request (``POST ?validationToken=…``, text/plain) goes to the
  notification URL and then the lifecycle URL; anything but 200 text/plain echoing the token within 10 s fails
  the creation;
* a subscription belongs to the app that created it: another app cannot read, renew or delete it (404);
* notifications are POSTed as ``{"value": [...]}`` with the ``clientState``; a receiver that does not answer
  2xx within 3 s gets retries (on a compressed schedule here).
"""

from __future__ import annotations

import re
import secrets
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from .state import Recording, Tenant, iso

__all__ = ["GraphError", "Subscription", "Subscriptions"]

MAX_MINUTES = 4320
_RESOURCES = [
    re.compile(r"^communications/onlineMeetings/getAll(Recordings|Transcripts)$"),
    re.compile(r"^users/([^/]+)/onlineMeetings/getAll(Recordings|Transcripts)$"),
    re.compile(r"^communications/onlineMeetings/([^/]+)/(recordings|transcripts)$"),
]


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.headers = headers or {}


@dataclass
class Subscription:
    id: str
    resource: str
    change_type: str
    notification_url: str
    lifecycle_url: str | None
    client_state: str | None
    expires: datetime
    app_id: str
    needs_reauthorization: bool = False
    deliveries: list[dict[str, Any]] = field(
        default_factory=list
    )  # what was sent, with the receiver's status

    def json(self) -> dict[str, Any]:
        return {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity",
            "id": self.id,
            "resource": self.resource,
            "applicationId": self.app_id,
            "changeType": self.change_type,
            "clientState": self.client_state,
            "notificationUrl": self.notification_url,
            "lifecycleNotificationUrl": self.lifecycle_url,
            "expirationDateTime": iso(self.expires),
            "creatorId": self.app_id,
            "includeResourceData": False,
            "latestSupportedTlsVersion": "v1_2",
            "encryptionCertificate": None,
            "encryptionCertificateId": None,
            "notificationUrlAppId": None,
        }

    def covers(self, recording: Recording) -> bool:
        if self.resource == "communications/onlineMeetings/getAllRecordings":
            return True
        if self.resource == f"users/{recording.organizer_id}/onlineMeetings/getAllRecordings":
            return True
        return self.resource == f"communications/onlineMeetings/{recording.meeting_id}/recordings"


class Subscriptions:
    """The subscription store and the notifier."""

    def __init__(
        self,
        tenant: Tenant,
        *,
        allow_http_loopback: bool = False,
        retry_delays_s: tuple[float, ...] = (0.2, 0.5),
    ) -> None:
        self.tenant = tenant
        self.allow_http_loopback = allow_http_loopback
        self.retry_delays_s = retry_delays_s
        self.items: dict[str, Subscription] = {}
        self.lock = threading.RLock()
        self.validation_timeout_s = 10.0
        self.delivery_timeout_s = 3.0
        self._threads: list[threading.Thread] = []

    # --- validation of requests -----------------------------------------------------------------------
    def _check_url(self, name: str, url: Any) -> str:
        parts = urllib.parse.urlsplit(url) if isinstance(url, str) else None
        if parts is None or not parts.netloc:
            raise GraphError(400, "InvalidRequest", f"{name} must be an absolute URL.")
        loopback = parts.hostname in ("127.0.0.1", "localhost") and self.allow_http_loopback
        if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
            raise GraphError(400, "InvalidRequest", f"{name} must be HTTPS.")
        return str(url)

    def _check_expiry(self, value: Any, has_lifecycle_url: bool) -> datetime:
        try:
            expires = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise GraphError(400, "InvalidRequest", "expirationDateTime is not a valid date.") from None
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        now = datetime.now(UTC)
        if expires <= now:
            raise GraphError(400, "InvalidRequest", "Subscription expiration can only be in the future.")
        if expires > now + timedelta(minutes=MAX_MINUTES, seconds=30):
            raise GraphError(
                400,
                "InvalidRequest",
                f"Subscription expiration exceeds the maximum of {MAX_MINUTES} minutes for this resource.",
            )
        if expires > now + timedelta(hours=1) and not has_lifecycle_url:
            raise GraphError(
                400,
                "InvalidRequest",
                "lifecycleNotificationUrl is required for subscription creation on this resource when the "
                "expirationDateTime value exceeds 1 hour",
            )
        return expires

    def _validate_endpoint(self, url: str) -> None:
        token = secrets.token_urlsafe(24)
        target = url + ("&" if "?" in url else "?") + urllib.parse.urlencode({"validationToken": token})
        try:
            response = httpx.post(
                target,
                content=b"",
                headers={"Content-Type": "text/plain; charset=utf-8"},
                timeout=self.validation_timeout_s,
            )
        except httpx.HTTPError as exc:
            raise GraphError(
                400, "ValidationError", f"Subscription validation request failed: {exc!r}."
            ) from None
        ok = (
            response.status_code == 200
            and response.headers.get("content-type", "").startswith("text/plain")
            and response.text == token
        )
        if not ok:
            raise GraphError(
                400,
                "ValidationError",
                "Subscription validation request failed. Notification endpoint must respond with 200 OK to "
                "validation request.",
            )

    # --- operations --------------------------------------------------------------------------------------
    def create(self, body: Any, app_id: str) -> Subscription:
        if not isinstance(body, dict):
            raise GraphError(400, "InvalidRequest", "The request body must be a subscription object.")
        resource = body.get("resource")
        if not isinstance(resource, str) or not any(p.match(resource) for p in _RESOURCES):
            raise GraphError(400, "InvalidRequest", f"Resource '{resource}' is not supported for this API.")
        if body.get("changeType") != "created":
            raise GraphError(
                400, "InvalidRequest", "Only 'created' changeType is supported for this resource."
            )
        client_state = body.get("clientState")
        if client_state is not None and (not isinstance(client_state, str) or len(client_state) > 128):
            raise GraphError(400, "InvalidRequest", "clientState must be a string of at most 128 characters.")
        if body.get("includeResourceData"):
            if not body.get("encryptionCertificate") or not body.get("encryptionCertificateId"):
                raise GraphError(
                    400,
                    "InvalidRequest",
                    "encryptionCertificate and encryptionCertificateId are required when includeResourceData is true.",
                )
            raise GraphError(
                501, "NotImplemented", "This emulator does not deliver notifications with resource data."
            )
        user_scoped = re.match(r"^users/([^/]+)/", resource)
        if user_scoped:
            user = self.tenant.user(user_scoped.group(1))
            if user is None:
                raise GraphError(404, "NotFound", f"User {user_scoped.group(1)} was not found.")
            if user.id not in self.tenant.policy_users:
                raise GraphError(403, "Forbidden", "No application access policy found for this app.")
        notification_url = self._check_url("notificationUrl", body.get("notificationUrl"))
        lifecycle = body.get("lifecycleNotificationUrl")
        lifecycle_url = self._check_url("lifecycleNotificationUrl", lifecycle) if lifecycle else None
        expires = self._check_expiry(body.get("expirationDateTime"), lifecycle_url is not None)
        self._validate_endpoint(notification_url)
        if lifecycle_url:
            self._validate_endpoint(lifecycle_url)
        subscription = Subscription(
            id=str(uuid.uuid4()),
            resource=resource,
            change_type="created",
            notification_url=notification_url,
            lifecycle_url=lifecycle_url,
            client_state=client_state,
            expires=expires,
            app_id=app_id,
        )
        with self.lock:
            self.items[subscription.id] = subscription
        return subscription

    def get(self, subscription_id: str, app_id: str) -> Subscription:
        """The subscription, if it is live and ``app_id`` created it (another app's is invisible: 404)."""
        with self.lock:
            subscription = self.items.get(subscription_id)
        if subscription is None or subscription.expires <= datetime.now(UTC) or subscription.app_id != app_id:
            raise GraphError(
                404, "ResourceNotFound", f"The object was not found: subscription {subscription_id}."
            )
        return subscription

    def update(self, subscription_id: str, app_id: str, body: Any) -> Subscription:
        subscription = self.get(subscription_id, app_id)
        if not isinstance(body, dict) or set(body) - {"expirationDateTime", "notificationUrl"}:
            raise GraphError(
                400,
                "InvalidRequest",
                "Only expirationDateTime and notificationUrl can be updated; recreate the subscription to add "
                "a lifecycleNotificationUrl.",
            )
        if "expirationDateTime" in body:
            subscription.expires = self._check_expiry(
                body["expirationDateTime"], subscription.lifecycle_url is not None
            )
        if "notificationUrl" in body:
            url = self._check_url("notificationUrl", body["notificationUrl"])
            self._validate_endpoint(url)
            subscription.notification_url = url
        subscription.needs_reauthorization = False
        return subscription

    def reauthorize(self, subscription_id: str, app_id: str) -> None:
        self.get(subscription_id, app_id).needs_reauthorization = False

    def delete(self, subscription_id: str, app_id: str) -> None:
        self.get(subscription_id, app_id)
        with self.lock:
            del self.items[subscription_id]

    # --- delivery ----------------------------------------------------------------------------------------
    def _post(self, subscription: Subscription, url: str, payload: dict[str, Any]) -> None:
        for delay in (0.0, *self.retry_delays_s):
            time.sleep(delay)
            try:
                status = httpx.post(url, json=payload, timeout=self.delivery_timeout_s).status_code
            except httpx.HTTPError as exc:
                status = 0
                subscription.deliveries.append({"payload": payload, "status": status, "error": repr(exc)})
                continue
            subscription.deliveries.append({"payload": payload, "status": status})
            if 200 <= status < 300:
                return

    def _send(self, subscription: Subscription, url: str, payload: dict[str, Any]) -> None:
        # Graph delivers asynchronously: the recording's creation does not wait for the webhook.
        thread = threading.Thread(target=self._post, args=(subscription, url, payload), daemon=True)
        self._threads.append(thread)
        thread.start()

    def notify_created(self, recording: Recording) -> int:
        """Deliver a ``created`` notification to every live, authorized subscription that covers it."""
        sent = 0
        now = datetime.now(UTC)
        with self.lock:
            targets = [
                s
                for s in self.items.values()
                if s.expires > now and not s.needs_reauthorization and s.covers(recording)
            ]
        for subscription in targets:
            resource = f"communications/onlineMeetings('{recording.meeting_id}')/recordings('{recording.id}')"
            notification = {
                "subscriptionId": subscription.id,
                "subscriptionExpirationDateTime": iso(subscription.expires),
                "changeType": "created",
                "clientState": subscription.client_state,
                "tenantId": self.tenant.tenant_id,
                "resource": resource,
                "resourceData": {
                    "id": recording.id,
                    "@odata.type": "#Microsoft.Graph.callRecording",
                    "@odata.id": resource,
                },
            }
            self._send(subscription, subscription.notification_url, {"value": [notification]})
            sent += 1
        return sent

    def lifecycle(self, subscription_id: str, event: str) -> None:
        """Emit a lifecycle notification (``reauthorizationRequired``, ``subscriptionRemoved``, ``missed``)."""
        with self.lock:
            subscription = self.items[subscription_id]
            if event == "reauthorizationRequired":
                subscription.needs_reauthorization = True
            if event == "subscriptionRemoved":
                del self.items[subscription_id]
        if subscription.lifecycle_url is None:
            return
        payload = {
            "value": [
                {
                    "subscriptionId": subscription.id,
                    "subscriptionExpirationDateTime": iso(subscription.expires),
                    "tenantId": self.tenant.tenant_id,
                    "clientState": subscription.client_state,
                    "lifecycleEvent": event,
                }
            ]
        }
        self._send(subscription, subscription.lifecycle_url, payload)

    def join(self, timeout_s: float = 10.0) -> None:
        """Wait for deliveries in flight (tests)."""
        deadline = time.monotonic() + timeout_s
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))
