"""A Graph ``onlineMeeting`` -> ``MeetingInfo``: subject, times, join URL, organizer and attendees with roles.

Roles follow the tenant (``ingest/sidecar.role_for_email``): attendees whose e-mail domain is one of the
tenant's own domains are sellers, others customers; the organizer is a seller. Graph gives attendees as UPNs
(a guest's UPN is their e-mail) and often no display name; then the name is the address's local part.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dealtalk.contracts.config import TenantSettings
from dealtalk.contracts.documents import MeetingInfo, Participant
from dealtalk.ingest.sidecar import role_for_email

__all__ = ["meeting_info"]


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _name(upn: str | None, identity: Any) -> str:
    user = getattr(identity, "user", None)
    display = getattr(user, "display_name", None)
    if display:
        return str(display)
    return (upn or "unknown").split("@", 1)[0].replace(".", " ").title()


def meeting_info(meeting: Any, tenant: TenantSettings, *, locale: str | None = None) -> MeetingInfo:
    """Map an ``msgraph.generated.models.online_meeting.OnlineMeeting`` to ``MeetingInfo``.

    Args:
        meeting: the SDK model (attributes ``subject``, ``start_date_time``, ``participants``...).
        tenant: the tenant's own e-mail domains decide sellers and customers.
        locale: a known meeting language, if any (Graph's meeting has none).
    """
    participants = getattr(meeting, "participants", None)
    organizer_info = getattr(participants, "organizer", None)
    organizer = None
    if organizer_info is not None:
        upn = getattr(organizer_info, "upn", None)
        organizer = Participant(
            name=_name(upn, getattr(organizer_info, "identity", None)),
            email=upn,
            role="seller",
            is_organizer=True,
        )
    attendees = []
    for attendee in getattr(participants, "attendees", None) or []:
        upn = getattr(attendee, "upn", None)
        attendees.append(
            Participant(
                name=_name(upn, getattr(attendee, "identity", None)),
                email=upn,
                role=role_for_email(upn, tenant),
            )
        )
    return MeetingInfo(
        subject=getattr(meeting, "subject", None),
        organizer=organizer,
        attendees=tuple(attendees),
        start_time=_aware(getattr(meeting, "start_date_time", None)),
        end_time=_aware(getattr(meeting, "end_date_time", None)),
        join_url=getattr(meeting, "join_web_url", None),
        online_meeting_id=getattr(meeting, "id", None),
        locale=locale,
    )
