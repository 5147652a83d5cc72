"""The CRM fixture: Dataverse-shaped rows in one JSON file (``samples/crm.json``), a ``CrmReader`` and
a ``CompetitorReader``.

The file holds the entity sets the resolution rules use, with Dataverse's column names (``systemusers``,
``accounts``, ``contacts``, ``opportunities``, ``appointments``, ``competitors``), so the same file seeds the
Dataverse emulator and feeds the embedded demo. It is validated once, at load time.

Competitors are ``competitor`` rows (``competitorid``, ``name``; an older fixture's rows without an id are
accepted but cannot be linked). Which competitors an opportunity has (Dataverse's N:N
``opportunitycompetitors_association``) is the list ``opportunitycompetitors``, one row per pair in the shape
of its intersect table ``opportunitycompetitors``::

    "opportunitycompetitors": [
      {"opportunityid": "5b3faca1-…", "competitorid": "ddf179e7-…"}
    ]

A pair that names an opportunity or competitor the file does not hold is refused at load time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dealtalk.contracts.errors import ConfigurationError
from dealtalk.publisher.crm import Account, Appointment, Competitor, Contact, Opportunity, SystemUser
from dealtalk.publisher.rules import normalize_email
from dealtalk.samples import CRM_FIXTURE

__all__ = ["CrmFixture", "FixtureCrmReader", "load_fixture"]


class _Row(BaseModel):
    # Rows may carry more Dataverse columns than we read (address, job title...): ignore them.
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class _SystemUserRow(_Row):
    systemuserid: str
    fullname: str
    internalemailaddress: str


class _AccountRow(_Row):
    accountid: str
    name: str
    emailaddress1: str | None = None


class _ContactRow(_Row):
    contactid: str
    fullname: str
    emailaddress1: str | None = None
    parentcustomerid: str | None = Field(default=None, alias="_parentcustomerid_value")


class _OpportunityRow(_Row):
    opportunityid: str
    name: str
    parentaccountid: str | None = Field(default=None, alias="_parentaccountid_value")
    ownerid: str | None = Field(default=None, alias="_ownerid_value")
    statecode: int = 0
    modifiedon: datetime | None = None


class _AppointmentRow(_Row):
    activityid: str
    subject: str
    scheduledstart: datetime | None = None
    onlinemeetingjoinurl: str | None = None
    onlinemeetingid: str | None = None
    regardingobjectid: str | None = Field(default=None, alias="_regardingobjectid_value")
    regardingobjecttypecode: str | None = None


class _CompetitorRow(_Row):
    competitorid: str | None = None
    name: str


class _OpportunityCompetitorRow(_Row):
    opportunityid: str
    competitorid: str


class CrmFixture(BaseModel):
    """The whole fixture file, validated."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    systemusers: tuple[_SystemUserRow, ...] = ()
    accounts: tuple[_AccountRow, ...] = ()
    contacts: tuple[_ContactRow, ...] = ()
    opportunities: tuple[_OpportunityRow, ...] = ()
    appointments: tuple[_AppointmentRow, ...] = ()
    competitors: tuple[_CompetitorRow, ...] = ()
    opportunitycompetitors: tuple[_OpportunityCompetitorRow, ...] = ()

    @model_validator(mode="after")
    def _links_point_at_rows(self) -> CrmFixture:
        opportunities = {o.opportunityid.lower() for o in self.opportunities}
        competitors = {c.competitorid.lower() for c in self.competitors if c.competitorid}
        for link in self.opportunitycompetitors:
            if link.opportunityid.lower() not in opportunities:
                raise ValueError(
                    f"opportunitycompetitors names opportunity {link.opportunityid}, not in the file"
                )
            if link.competitorid.lower() not in competitors:
                raise ValueError(
                    f"opportunitycompetitors names competitor {link.competitorid}, not in the file"
                )
        return self


def load_fixture(path: Path | None = None) -> CrmFixture:
    """Read and validate a CRM fixture file.

    Args:
        path: the JSON file; None means the bundled sample tenant.

    Raises:
        ConfigurationError: the file is missing, not JSON, or not in the fixture's shape.
    """
    path = path or CRM_FIXTURE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigurationError(
            f"CRM fixture {path} does not exist; set DEALTALK_CRM__FIXTURE_PATH to a crm.json file"
        ) from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigurationError(f"CRM fixture {path} is not readable JSON: {exc}") from exc
    try:
        return CrmFixture.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigurationError(f"CRM fixture {path} is malformed at {where}: {first['msg']}") from exc


class FixtureCrmReader:
    """A ``CrmReader`` over a fixture file, held in memory (the file is small by design)."""

    def __init__(self, fixture: CrmFixture, *, source: str = "the CRM fixture") -> None:
        self._source = source
        account_ids = {a.accountid for a in fixture.accounts}
        self._users = tuple(
            SystemUser(u.systemuserid, u.fullname, u.internalemailaddress) for u in fixture.systemusers
        )
        self._accounts = {a.accountid.lower(): Account(a.accountid, a.name) for a in fixture.accounts}
        self._contacts = tuple(
            Contact(
                c.contactid,
                c.fullname,
                c.emailaddress1 or "",
                # A contact's parent customer may be another contact; only accounts lead to opportunities.
                c.parentcustomerid if c.parentcustomerid in account_ids else None,
            )
            for c in fixture.contacts
        )
        self._opportunities = {
            o.opportunityid.lower(): Opportunity(
                o.opportunityid, o.name, o.parentaccountid, o.ownerid, o.statecode == 0, o.modifiedon
            )
            for o in fixture.opportunities
        }
        self._appointments = tuple(
            Appointment(
                a.activityid,
                a.subject,
                a.regardingobjectid if a.regardingobjecttypecode in (None, "opportunity") else None,
                a.onlinemeetingid,
                a.onlinemeetingjoinurl,
                a.scheduledstart,
            )
            for a in fixture.appointments
        )
        self._competitors = tuple(
            Competitor((c.competitorid or "").lower(), c.name) for c in fixture.competitors
        )
        by_id = {c.id: c for c in self._competitors if c.id}
        self._opportunity_competitors: dict[str, tuple[Competitor, ...]] = {}
        for link in fixture.opportunitycompetitors:
            key = link.opportunityid.lower()
            competitor = by_id[link.competitorid.lower()]
            if competitor not in self._opportunity_competitors.get(key, ()):
                self._opportunity_competitors[key] = (*self._opportunity_competitors.get(key, ()), competitor)

    @classmethod
    def from_path(cls, path: Path | None = None) -> FixtureCrmReader:
        """Load a fixture file (None: the bundled sample tenant). Raises ``ConfigurationError``."""
        path = path or CRM_FIXTURE
        return cls(load_fixture(path), source=f"the CRM fixture {path.name}")

    @property
    def description(self) -> str:
        return self._source

    def appointments_for_meeting(
        self, *, online_meeting_id: str | None, join_url: str | None
    ) -> Sequence[Appointment]:
        # Dataverse compares strings case-insensitively; so does the fixture.
        meeting_id = (online_meeting_id or "").lower()
        url = (join_url or "").lower()
        return tuple(
            a
            for a in self._appointments
            if (meeting_id and (a.online_meeting_id or "").lower() == meeting_id)
            or (url and (a.join_url or "").lower() == url)
        )

    def contacts_by_email(self, emails: Sequence[str]) -> Sequence[Contact]:
        wanted = {normalize_email(e) for e in emails}
        return tuple(c for c in self._contacts if c.email and normalize_email(c.email) in wanted)

    def users_by_email(self, emails: Sequence[str]) -> Sequence[SystemUser]:
        wanted = {normalize_email(e) for e in emails}
        return tuple(u for u in self._users if normalize_email(u.email) in wanted)

    def open_opportunities(self, account_ids: Sequence[str]) -> Sequence[Opportunity]:
        wanted = {a.lower() for a in account_ids}
        return tuple(
            o for o in self._opportunities.values() if o.is_open and (o.account_id or "").lower() in wanted
        )

    def opportunity(self, opportunity_id: str) -> Opportunity | None:
        return self._opportunities.get(opportunity_id.lower())

    def account(self, account_id: str) -> Account | None:
        return self._accounts.get(account_id.lower())

    def competitors(self) -> Sequence[Competitor]:
        return self._competitors

    def opportunity_competitors(self, opportunity_id: str) -> Sequence[Competitor]:
        return self._opportunity_competitors.get(opportunity_id.lower(), ())
