"""The resolution rules: pure functions from CRM rows to one opportunity, shared by every CRM backend.

1. The appointment of the Teams meeting (same online meeting id, or the same join URL) that regards an
   opportunity wins: a seller linked it by hand in Outlook/D365.
2. Otherwise the customers' e-mails lead to contacts, their parent accounts and those accounts' open
   opportunities. With several, the organizer's own opportunities come first, then the most recently
   modified one (ties broken by id, so every run picks the same).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from dealtalk.contracts.documents import MeetingInfo
from dealtalk.publisher.crm import Appointment, Opportunity

__all__ = [
    "OpportunityChoice",
    "customer_emails",
    "email_domain",
    "is_guid",
    "normalize_email",
    "normalize_join_url",
    "pick_appointment",
    "pick_opportunity",
]

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class OpportunityChoice:
    """The chosen opportunity and the rule that chose it, in words."""

    opportunity: Opportunity
    reason: str


def is_guid(value: str) -> bool:
    """True for a Dataverse id in its canonical 8-4-4-4-12 hex form."""
    return bool(_GUID.fullmatch(value))  # fullmatch: "$" would let a trailing newline through


def normalize_email(email: str) -> str:
    return email.strip().lower()


def email_domain(email: str) -> str:
    return normalize_email(email).rpartition("@")[2]


def normalize_join_url(url: str) -> str:
    """A Teams join URL in a comparable form.

    Why: the same meeting's link arrives as ``19%3ameeting_…`` from one client and ``19%3Ameeting_…`` or
    ``19:meeting_…`` from another, often with a ``?context=…`` query. The path identifies the meeting.
    """
    parts = urllib.parse.urlsplit(url.strip())
    path = urllib.parse.unquote(parts.path).rstrip("/")
    return f"{parts.netloc.lower()}{path}".lower()


def customer_emails(meeting: MeetingInfo, internal_domains: Iterable[str]) -> tuple[str, ...]:
    """E-mails of the meeting's people outside the tenant's own domains, normalized, in meeting order."""
    internal = {domain.strip().lower() for domain in internal_domains}
    emails: list[str] = []
    for person in meeting.participants:
        if person.email and email_domain(person.email) not in internal:
            email = normalize_email(person.email)
            if email not in emails:
                emails.append(email)
    return tuple(emails)


def _matches_meeting(appointment: Appointment, meeting: MeetingInfo) -> bool:
    if meeting.online_meeting_id and appointment.online_meeting_id == meeting.online_meeting_id:
        return True
    return bool(
        meeting.join_url
        and appointment.join_url
        and normalize_join_url(appointment.join_url) == normalize_join_url(meeting.join_url)
    )


def pick_appointment(appointments: Sequence[Appointment], meeting: MeetingInfo) -> Appointment | None:
    """The appointment of this Teams meeting that regards an opportunity, or None.

    A recurring meeting shares one join URL across occurrences, so with several the one scheduled closest to
    the meeting's start wins.
    """
    matching = [a for a in appointments if a.opportunity_id and _matches_meeting(a, meeting)]
    if not matching:
        return None
    start = meeting.start_time

    def distance(appointment: Appointment) -> tuple[float, str]:
        if start is None or appointment.scheduled_start is None:
            return (float("inf"), appointment.id)
        return (abs((appointment.scheduled_start - start).total_seconds()), appointment.id)

    return min(matching, key=distance)


def _most_recent(opportunities: Sequence[Opportunity]) -> Opportunity:
    # Sort key: newest first, then by id so that equal timestamps still give one answer.
    return min(opportunities, key=lambda o: (-(o.modified_on or _EPOCH).timestamp(), o.id))


def pick_opportunity(
    candidates: Sequence[Opportunity], *, organizer_user_ids: Iterable[str] = ()
) -> OpportunityChoice | None:
    """Choose one of the open opportunities of the attendees' accounts.

    Args:
        candidates: open opportunities (duplicates by id are ignored).
        organizer_user_ids: systemuser ids of the meeting organizer (usually zero or one).

    Returns:
        The choice with its reason, or None when there is no candidate.
    """
    unique = list({o.id: o for o in candidates if o.is_open}.values())
    if not unique:
        return None
    if len(unique) == 1:
        return OpportunityChoice(unique[0], "the only open opportunity of the attendees' account")
    organizers = {user_id.lower() for user_id in organizer_user_ids}
    owned = [o for o in unique if o.owner_id and o.owner_id.lower() in organizers]
    if len(owned) == 1:
        return OpportunityChoice(
            owned[0], f"the one of {len(unique)} open opportunities owned by the organizer"
        )
    if owned:
        return OpportunityChoice(
            _most_recent(owned),
            f"the most recently modified of {len(owned)} open opportunities owned by the organizer",
        )
    return OpportunityChoice(
        _most_recent(unique),
        f"the most recently modified of {len(unique)} open opportunities (none owned by the organizer)",
    )
