"""``CrmReader`` over the Dataverse Web API: the rows the resolution rules need, by OData query.

Values go into ``$filter`` as OData string literals (quotes doubled) or as validated GUIDs, never raw.
Polymorphic lookups (an appointment's regarding, a contact's parent customer) are typed through the
``Microsoft.Dynamics.CRM.lookuplogicalname`` annotation, so an appointment regarding an account is not
mistaken for one regarding an opportunity.

Competitors are the ``competitor`` table (``competitors``: ``competitorid``, ``name``) and, per opportunity,
the collection-valued navigation property of the N:N ``opportunitycompetitors_association``
(``GET opportunities(id)/opportunitycompetitors_association``), both paged through ``@odata.nextLink``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from dealtalk.publisher.crm import Account, Appointment, Competitor, Contact, Opportunity, SystemUser
from dealtalk.publisher.dataverse.client import DataverseClient
from dealtalk.publisher.request import DataverseRequest, collection_path, odata_string
from dealtalk.publisher.rules import is_guid, normalize_email

__all__ = ["DataverseCrmReader"]

_LOOKUP_TYPE = "@Microsoft.Dynamics.CRM.lookuplogicalname"
# Keep each $filter short: a URL carries at most a few KB through proxies.
_CHUNK = 15
_OPPORTUNITY_COLUMNS = "opportunityid,name,_parentaccountid_value,_ownerid_value,statecode,modifiedon"
_COMPETITOR_COLUMNS = "competitorid,name"
# The N:N between opportunity and competitor (intersect table ``opportunitycompetitors``): the navigation
# property has the relationship's name on both sides.
_OPPORTUNITY_COMPETITORS = "opportunitycompetitors_association"


def _chunks(values: Sequence[str]) -> list[Sequence[str]]:
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)]


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None


def _opportunity(row: dict[str, Any]) -> Opportunity:
    return Opportunity(
        id=str(row["opportunityid"]).lower(),
        name=str(row.get("name") or ""),
        account_id=row.get("_parentaccountid_value"),
        owner_id=row.get("_ownerid_value"),
        is_open=row.get("statecode") == 0,
        modified_on=_when(row.get("modifiedon")),
    )


def _competitors(rows: list[dict[str, Any]]) -> tuple[Competitor, ...]:
    # ``name`` is required in Dataverse, but a row read without it (column security) names nothing to match.
    return tuple(
        Competitor(str(row["competitorid"]).lower(), str(row["name"]).strip())
        for row in rows
        if str(row.get("name") or "").strip()
    )


class DataverseCrmReader:
    """Reads systemusers, contacts, accounts, opportunities, appointments and competitors from one
    organisation."""

    def __init__(self, client: DataverseClient) -> None:
        self._client = client

    @property
    def description(self) -> str:
        return f"Dataverse at {self._client.org_url}"

    def close(self) -> None:
        self._client.close()

    def appointments_for_meeting(
        self, *, online_meeting_id: str | None, join_url: str | None
    ) -> Sequence[Appointment]:
        conditions = []
        if online_meeting_id:
            conditions.append(f"onlinemeetingid eq {odata_string(online_meeting_id)}")
        if join_url:
            conditions.append(f"onlinemeetingjoinurl eq {odata_string(join_url)}")
        if not conditions:
            return ()
        select = (
            "activityid,subject,scheduledstart,onlinemeetingid,onlinemeetingjoinurl,_regardingobjectid_value"
        )
        rows = self._client.get_all(
            collection_path("appointments", {"$select": select, "$filter": " or ".join(conditions)}),
            purpose="find the appointment of a Teams meeting",
            annotations=_LOOKUP_TYPE.removeprefix("@"),
        )
        return tuple(
            Appointment(
                id=row["activityid"],
                subject=str(row.get("subject") or ""),
                opportunity_id=row.get("_regardingobjectid_value")
                if row.get(f"_regardingobjectid_value{_LOOKUP_TYPE}") == "opportunity"
                else None,
                online_meeting_id=row.get("onlinemeetingid"),
                join_url=row.get("onlinemeetingjoinurl"),
                scheduled_start=_when(row.get("scheduledstart")),
            )
            for row in rows
        )

    def contacts_by_email(self, emails: Sequence[str]) -> Sequence[Contact]:
        contacts: list[Contact] = []
        for chunk in _chunks([normalize_email(e) for e in emails]):
            condition = " or ".join(f"emailaddress1 eq {odata_string(e)}" for e in chunk)
            rows = self._client.get_all(
                collection_path(
                    "contacts",
                    {
                        "$select": "contactid,fullname,emailaddress1,_parentcustomerid_value",
                        "$filter": condition,
                    },
                ),
                purpose="find attendees' contacts",
                annotations=_LOOKUP_TYPE.removeprefix("@"),
            )
            for row in rows:
                is_account = row.get(f"_parentcustomerid_value{_LOOKUP_TYPE}") == "account"
                contacts.append(
                    Contact(
                        id=row["contactid"],
                        name=str(row.get("fullname") or ""),
                        email=str(row.get("emailaddress1") or ""),
                        account_id=row.get("_parentcustomerid_value") if is_account else None,
                    )
                )
        return tuple(contacts)

    def users_by_email(self, emails: Sequence[str]) -> Sequence[SystemUser]:
        users: list[SystemUser] = []
        for chunk in _chunks([normalize_email(e) for e in emails]):
            condition = " or ".join(f"internalemailaddress eq {odata_string(e)}" for e in chunk)
            rows = self._client.get_all(
                collection_path(
                    "systemusers",
                    {"$select": "systemuserid,fullname,internalemailaddress", "$filter": condition},
                ),
                purpose="find the sellers among the attendees",
            )
            users += [
                SystemUser(
                    row["systemuserid"], str(row.get("fullname") or ""), str(row["internalemailaddress"])
                )
                for row in rows
            ]
        return tuple(users)

    def open_opportunities(self, account_ids: Sequence[str]) -> Sequence[Opportunity]:
        wanted = [a.lower() for a in account_ids if is_guid(a)]
        opportunities: list[Opportunity] = []
        for chunk in _chunks(wanted):
            accounts = " or ".join(f"_parentaccountid_value eq {a}" for a in chunk)
            rows = self._client.get_all(
                collection_path(
                    "opportunities",
                    {"$select": _OPPORTUNITY_COLUMNS, "$filter": f"statecode eq 0 and ({accounts})"},
                ),
                purpose="list the accounts' open opportunities",
            )
            opportunities += [_opportunity(row) for row in rows]
        return tuple(opportunities)

    def opportunity(self, opportunity_id: str) -> Opportunity | None:
        if not is_guid(opportunity_id):
            return None
        response = self._client.send(
            DataverseRequest(
                "GET",
                f"opportunities({opportunity_id.lower()})?$select={_OPPORTUNITY_COLUMNS}",
                purpose="read an opportunity",
            ),
            allow_not_found=True,
        )
        return _opportunity(response.body) if response is not None else None

    def account(self, account_id: str) -> Account | None:
        if not is_guid(account_id):
            return None
        response = self._client.send(
            DataverseRequest(
                "GET", f"accounts({account_id.lower()})?$select=accountid,name", purpose="read an account"
            ),
            allow_not_found=True,
        )
        if response is None:
            return None
        return Account(str(response.body["accountid"]), str(response.body.get("name") or ""))

    def competitors(self) -> Sequence[Competitor]:
        rows = self._client.get_all(
            collection_path("competitors", {"$select": _COMPETITOR_COLUMNS, "$orderby": "name"}),
            purpose="read the competitor table",
        )
        return _competitors(rows)

    def opportunity_competitors(self, opportunity_id: str) -> Sequence[Competitor]:
        if not is_guid(opportunity_id):
            return ()
        rows = self._client.get_all(
            collection_path(
                f"opportunities({opportunity_id.lower()})/{_OPPORTUNITY_COMPETITORS}",
                {"$select": _COMPETITOR_COLUMNS},
            ),
            purpose="read an opportunity's competitors",
            allow_not_found=True,
        )
        return _competitors(rows)
