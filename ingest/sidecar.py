"""The meeting sidecar of the local-folder source, and how its people get their roles.

Roles follow the tenant: an attendee whose e-mail domain is one of the tenant's own domains is a seller, any
other address a customer; the organizer of a sales call is a seller. Without an e-mail the role is unknown.
"""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from dealtalk.contracts.config import TenantSettings
from dealtalk.contracts.documents import MeetingInfo, Participant, Role

__all__ = ["MeetingSidecar", "SidecarPerson", "meeting_from_sidecar", "role_for_email"]


class SidecarPerson(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class MeetingSidecar(BaseModel):
    """``<recording>.meeting.json``: organizer and start time are required, the rest is optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    recording_id: str | None = Field(default=None, min_length=1, max_length=512, pattern=r"^[\w.:@-]+$")
    subject: str | None = None
    organizer: SidecarPerson
    attendees: tuple[SidecarPerson, ...] = ()
    start_time: AwareDatetime
    end_time: AwareDatetime | None = None
    duration_s: float | None = Field(default=None, ge=0)
    join_url: str | None = None
    online_meeting_id: str | None = None
    locale: str | None = Field(default=None, pattern=r"^[a-zA-Z]{2,3}([-_][a-zA-Z0-9]{2,8})*$")
    # Participants for whom recording was disabled (their e-mail addresses).
    recording_declined: tuple[str, ...] = ()


def role_for_email(email: str | None, tenant: TenantSettings) -> Role:
    if not email:
        return "unknown"
    domain = email.rsplit("@", 1)[-1].lower()
    internal = {d.lower() for d in tenant.internal_domains}
    return "seller" if domain in internal else "customer"


def meeting_from_sidecar(sidecar: MeetingSidecar, tenant: TenantSettings) -> MeetingInfo:
    organizer = Participant(
        name=sidecar.organizer.name, email=sidecar.organizer.email, role="seller", is_organizer=True
    )
    attendees = tuple(
        Participant(name=person.name, email=person.email, role=role_for_email(person.email, tenant))
        for person in sidecar.attendees
    )
    return MeetingInfo(
        subject=sidecar.subject,
        organizer=organizer,
        attendees=attendees,
        start_time=sidecar.start_time,
        end_time=sidecar.end_time,
        join_url=sidecar.join_url,
        online_meeting_id=sidecar.online_meeting_id,
        locale=sidecar.locale,
        recording_declined=tuple(e.strip().lower() for e in sidecar.recording_declined),
    )
