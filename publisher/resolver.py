"""Meeting -> opportunity: the ``OpportunityResolver`` over any ``CrmReader`` (fixture or Dataverse).

The reader fetches rows; ``rules.py`` decides. Every link records how it was made (``method``) and why, in a
sentence a sales manager understands (``detail``). Logs carry ids and the method, never names or e-mails.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from dealtalk.contracts.documents import LinkMethod, MeetingInfo, OpportunityLink
from dealtalk.contracts.errors import InvalidInput
from dealtalk.publisher.crm import CrmReader, Opportunity
from dealtalk.publisher.rules import (
    customer_emails,
    is_guid,
    normalize_email,
    pick_appointment,
    pick_opportunity,
)

__all__ = ["CrmOpportunityResolver", "unlinked"]

logger = logging.getLogger(__name__)


def unlinked(detail: str) -> OpportunityLink:
    """A call that stays unlinked until someone runs ``dealtalk link``."""
    return OpportunityLink(opportunity_id=None, method="none", detail=detail)


class CrmOpportunityResolver:
    """Applies the resolution rules to rows read from a CRM.

    Args:
        reader: where the rows come from.
        internal_domains: the tenant's own e-mail domains; attendees outside them are customers.
    """

    def __init__(self, reader: CrmReader, *, internal_domains: Iterable[str]) -> None:
        self._reader = reader
        self._internal_domains = tuple(d.lower() for d in internal_domains)

    @property
    def reader(self) -> CrmReader:
        return self._reader

    def close(self) -> None:
        """Close the reader's connections, when it has any (at shutdown)."""
        close = getattr(self._reader, "close", None)
        if close is not None:
            close()

    def resolve(self, meeting: MeetingInfo) -> OpportunityLink:
        """Find the opportunity of a meeting (see ``rules.py`` for the order). Never raises for "not found".

        Raises:
            TransientError: the CRM could not be reached or throttled us.
        """
        link = self._by_appointment(meeting) or self._by_contacts(meeting)
        logger.info("resolved meeting: method=%s opportunity=%s", link.method, link.opportunity_id or "-")
        return link

    def get_opportunity(self, opportunity_id: str) -> OpportunityLink:
        """Validate an opportunity id given by hand (``dealtalk link``).

        Raises:
            InvalidInput: the id is not a GUID, or no opportunity with that id exists.
        """
        wanted = opportunity_id.strip()
        if not is_guid(wanted):
            raise InvalidInput(
                f"opportunity id {opportunity_id!r} is not a GUID; copy the opportunityid from the "
                "record's URL "
                "(8-4-4-4-12 hex digits, e.g. 680f89c8-b972-592e-9050-7e61dacce2d0)"
            )
        opportunity = self._reader.opportunity(wanted.lower())
        if opportunity is None:
            raise InvalidInput(f"no opportunity with id {wanted} exists in {self._reader.description}")
        state = "" if opportunity.is_open else " (closed)"
        return self._link(opportunity, "manual", f"linked by hand to opportunity '{opportunity.name}'{state}")

    def _by_appointment(self, meeting: MeetingInfo) -> OpportunityLink | None:
        if not (meeting.online_meeting_id or meeting.join_url):
            return None
        appointments = self._reader.appointments_for_meeting(
            online_meeting_id=meeting.online_meeting_id, join_url=meeting.join_url
        )
        appointment = pick_appointment(appointments, meeting)
        if appointment is None or appointment.opportunity_id is None:
            return None
        opportunity = self._reader.opportunity(appointment.opportunity_id)
        if opportunity is None:
            # The appointment points at a deleted opportunity: fall back to the attendees.
            logger.warning("appointment %s regards a missing opportunity", appointment.id)
            return None
        detail = (
            f"appointment '{appointment.subject}' of this Teams meeting "
            f"regards opportunity '{opportunity.name}'"
        )
        return self._link(opportunity, "appointment", detail)

    def _by_contacts(self, meeting: MeetingInfo) -> OpportunityLink:
        emails = customer_emails(meeting, self._internal_domains)
        if not emails:
            return unlinked("no attendee outside the tenant's own domains, so no customer to match")
        contacts = self._reader.contacts_by_email(emails)
        account_ids = sorted({c.account_id for c in contacts if c.account_id})
        if not account_ids:
            return unlinked(
                f"none of the {len(emails)} customer e-mail(s) matches a contact with a parent account"
            )
        candidates = self._reader.open_opportunities(account_ids)
        organizer_ids = self._organizer_user_ids(meeting)
        choice = pick_opportunity(candidates, organizer_user_ids=organizer_ids)
        if choice is None:
            names = ", ".join(self._account_name(a) for a in account_ids)
            return unlinked(f"account {names} has no open opportunity")
        detail = f"attendees' contacts -> account -> opportunity '{choice.opportunity.name}': {choice.reason}"
        return self._link(choice.opportunity, "contact_account", detail)

    def _organizer_user_ids(self, meeting: MeetingInfo) -> tuple[str, ...]:
        if meeting.organizer is None or not meeting.organizer.email:
            return ()
        users = self._reader.users_by_email([normalize_email(meeting.organizer.email)])
        return tuple(u.id for u in users)

    def _account_name(self, account_id: str) -> str:
        account = self._reader.account(account_id)
        return f"'{account.name}'" if account else account_id

    def _link(self, opportunity: Opportunity, method: LinkMethod, detail: str) -> OpportunityLink:
        account = self._reader.account(opportunity.account_id) if opportunity.account_id else None
        return OpportunityLink(
            opportunity_id=opportunity.id,
            method=method,
            detail=detail,
            opportunity_name=opportunity.name,
            account_name=account.name if account else None,
        )
