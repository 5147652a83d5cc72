"""Graph change and lifecycle notifications: parse the POSTed collection, check ``clientState``, make work items.

The webhook must answer within 3 seconds (Microsoft's delivery contract), so this only validates and turns
each notification into a small ``NotificationWork``; fetching happens later, off the request. A notification
whose ``clientState`` differs from ours did not come from our subscription and is dropped.
"""

from __future__ import annotations

import hmac
import logging
import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dealtalk.contracts.errors import InvalidInput

__all__ = ["AcceptedNotifications", "NotificationWork", "WorkKind", "accept_notifications"]

logger = logging.getLogger(__name__)

WorkKind = Literal["created", "reauthorizationRequired", "subscriptionRemoved", "missed"]
_LIFECYCLE = ("reauthorizationRequired", "subscriptionRemoved", "missed")
# Ids are quoted in the resource path and may contain "/" and "+" (base64).
_RESOURCE = re.compile(r"onlineMeetings\('([^']+)'\)/recordings\('([^']+)'\)")


class _Notification(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    subscription_id: str = Field(alias="subscriptionId", min_length=1)
    client_state: str | None = Field(default=None, alias="clientState")
    change_type: str | None = Field(default=None, alias="changeType")
    resource: str | None = None
    lifecycle_event: str | None = Field(default=None, alias="lifecycleEvent")


class _Collection(BaseModel):
    model_config = ConfigDict(extra="ignore")

    value: list[_Notification]


@dataclass(frozen=True, slots=True)
class NotificationWork:
    """One thing to do because Graph told us: fetch a new recording, or react to a lifecycle event."""

    kind: WorkKind
    subscription_id: str
    meeting_id: str | None = None
    recording_id: str | None = None


@dataclass(frozen=True, slots=True)
class AcceptedNotifications:
    work: tuple[NotificationWork, ...]
    rejected: int  # clientState mismatches
    ignored: int  # other change types or resources we do not handle


def accept_notifications(body: bytes, *, client_state: str) -> AcceptedNotifications:
    """Validate a notification POST body and turn it into work.

    Raises:
        InvalidInput: the body is not a ``{"value": [...]}`` notification collection.
    """
    try:
        collection = _Collection.model_validate_json(body)
    except ValidationError as exc:
        raise InvalidInput(f"not a Graph notification collection: {exc.errors()[0]['msg']}") from exc
    work: list[NotificationWork] = []
    rejected = ignored = 0
    for item in collection.value:
        if not hmac.compare_digest((item.client_state or "").encode(), client_state.encode()):
            rejected += 1
            continue
        if item.lifecycle_event is not None:
            if item.lifecycle_event in _LIFECYCLE:
                work.append(NotificationWork(item.lifecycle_event, item.subscription_id))  # type: ignore[arg-type]
            else:
                ignored += 1
            continue
        match = _RESOURCE.search(item.resource or "")
        if item.change_type != "created" or match is None:
            ignored += 1
            continue
        work.append(NotificationWork("created", item.subscription_id, match.group(1), match.group(2)))
    if rejected:
        logger.warning("dropped %d Graph notification(s) with a wrong clientState", rejected)
    return AcceptedNotifications(tuple(work), rejected, ignored)
