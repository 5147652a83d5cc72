"""What the publish stage reads from the CRM: the few Dataverse rows that link a meeting to an opportunity.

The rows are frozen dataclasses in Dataverse's vocabulary (``systemuser``, ``contact``, ``account``,
``opportunity``, ``appointment``, ``competitor``). Two readers produce them behind the ``CrmReader`` and
``CompetitorReader`` protocols: the fixture (``samples/crm.json``) and the Dataverse Web API. The
resolution rules in ``rules.py`` only see rows, so both backends link a meeting the same way; the competitor
rows feed the names the insight rules look for (``publisher/competitors.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

__all__ = [
    "Account",
    "Appointment",
    "Competitor",
    "CompetitorReader",
    "Contact",
    "CrmBackend",
    "CrmReader",
    "Opportunity",
    "SystemUser",
]


@dataclass(frozen=True, slots=True)
class SystemUser:
    """A seller (``systemuser``): matched on ``internalemailaddress``."""

    id: str
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class Contact:
    """A customer person (``contact``); ``account_id`` is set only when the parent customer is an account."""

    id: str
    name: str
    email: str
    account_id: str | None


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Opportunity:
    """An ``opportunity`` row; ``is_open`` is ``statecode == 0``."""

    id: str
    name: str
    account_id: str | None
    owner_id: str | None
    is_open: bool
    modified_on: datetime | None


@dataclass(frozen=True, slots=True)
class Appointment:
    """A D365 ``appointment`` that carries a Teams meeting; ``opportunity_id`` when it regards one."""

    id: str
    subject: str
    opportunity_id: str | None
    online_meeting_id: str | None
    join_url: str | None
    scheduled_start: datetime | None


@dataclass(frozen=True, slots=True)
class Competitor:
    """A ``competitor`` row (a business competing for a sale): ``competitorid`` and ``name``."""

    id: str
    name: str


class CrmReader(Protocol):
    """Read access to the CRM rows the resolution rules need. Implementations never raise for "not found"."""

    @property
    def description(self) -> str:
        """Where the rows come from, for messages ("the CRM fixture crm.json", "Dataverse at https://…")."""

    def appointments_for_meeting(
        self, *, online_meeting_id: str | None, join_url: str | None
    ) -> Sequence[Appointment]:
        """Appointments whose Teams meeting id or join URL equals the given one (either may be None)."""

    def contacts_by_email(self, emails: Sequence[str]) -> Sequence[Contact]:
        """Contacts whose primary e-mail is one of ``emails`` (case-insensitive)."""

    def users_by_email(self, emails: Sequence[str]) -> Sequence[SystemUser]:
        """Users whose primary e-mail is one of ``emails`` (case-insensitive)."""

    def open_opportunities(self, account_ids: Sequence[str]) -> Sequence[Opportunity]:
        """Open opportunities (``statecode`` 0) whose parent account is one of ``account_ids``."""

    def opportunity(self, opportunity_id: str) -> Opportunity | None:
        """One opportunity by id, open or closed; None when it does not exist."""

    def account(self, account_id: str) -> Account | None:
        """One account by id; None when it does not exist."""


class CompetitorReader(Protocol):
    """Read access to the CRM's ``competitor`` table and its N:N with ``opportunity``.

    Unlike ``CrmReader`` lookups these may raise ``DealtalkError`` when the CRM cannot be read (the caller,
    ``CompetitorNames``, keeps the last known names then).
    """

    @property
    def description(self) -> str:
        """Where the rows come from, for messages."""

    def competitors(self) -> Sequence[Competitor]:
        """Every row of the competitor table."""

    def opportunity_competitors(self, opportunity_id: str) -> Sequence[Competitor]:
        """The competitors associated with one opportunity (``opportunitycompetitors_association``); empty
        when it has none or does not exist."""


class CrmBackend(CrmReader, CompetitorReader, Protocol):
    """What a CRM backend (the fixture, Dataverse) reads: the resolution rows and the competitors."""
