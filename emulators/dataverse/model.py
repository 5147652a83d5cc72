"""Table metadata of the Dataverse emulator: the Sales tables dealtalk touches, plus runtime-created tables.

Column types, maximum lengths and lookup targets follow Microsoft's table reference pages (opportunity,
account, contact, systemuser, appointment, phonecall, annotation, activityparty, competitor). Only the columns dealtalk
and its seed data use are declared; anything else in a request is an unknown property, as in Dataverse.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Column", "KeyDef", "Navigation", "Table", "activity_table", "builtin_tables"]

ACTIVITY_REGARDING_TARGETS = ("opportunity", "account", "contact")
PARTY_TARGETS = ("systemuser", "contact", "account")


@dataclass
class Column:
    name: str
    # Uniqueidentifier, String, Memo, Integer, Decimal, Money, Boolean, DateTime, Picklist, State, Status, Lookup
    type: str
    max_length: int | None = None
    min_value: float | None = None
    max_value: float | None = None
    precision: int | None = None
    options: tuple[int, ...] = ()
    targets: tuple[str, ...] = ()  # lookup targets (logical names)
    read_only: bool = False
    metadata_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    definition: dict[str, Any] = field(default_factory=dict)  # the AttributeMetadata as created


@dataclass
class Navigation:
    """A single-valued navigation property: binding it sets ``column`` to a row of ``target``."""

    name: str
    column: str
    target: str


@dataclass
class KeyDef:
    schema_name: str
    attributes: tuple[str, ...]
    status: str = "Pending"  # Pending -> Active (or Failed)
    metadata_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    definition: dict[str, Any] = field(default_factory=dict)


@dataclass
class Table:
    logical_name: str
    entity_set: str
    primary_id: str
    primary_name: str
    columns: dict[str, Column]
    is_activity: bool = False
    is_custom: bool = False
    # Masks an activity's parties may use; None means every type (custom activities).
    party_masks: frozenset[int] | None = None
    read_only: bool = False  # activityparty and activitypointer: RetrieveMultiple only
    keys: dict[str, KeyDef] = field(default_factory=dict)
    metadata_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    definition: dict[str, Any] = field(default_factory=dict)
    navigations: dict[str, Navigation] = field(default_factory=dict)

    @property
    def parties_navigation(self) -> str | None:
        return f"{self.logical_name}_activity_parties" if self.is_activity else None

    def lookup_columns(self) -> list[Column]:
        return [c for c in self.columns.values() if c.type == "Lookup"]

    def active_key_for(self, attributes: set[str]) -> KeyDef | None:
        for key in self.keys.values():
            if key.status == "Active" and set(key.attributes) == attributes:
                return key
        return None


def _c(name: str, type_: str, **kw: Any) -> Column:
    return Column(name, type_, **kw)


def _table(logical: str, entity_set: str, name_column: str, columns: list[Column], **kw: Any) -> Table:
    primary = f"{logical}id" if not kw.get("is_activity") else "activityid"
    all_columns = [_c(primary, "Uniqueidentifier"), *columns]
    all_columns += [
        _c("createdon", "DateTime", read_only=True),
        _c("modifiedon", "DateTime"),
        _c("versionnumber", "Integer", read_only=True),
    ]
    return Table(logical, entity_set, primary, name_column, {c.name: c for c in all_columns}, **kw)


def activity_table(
    logical: str, entity_set: str, *, subject_max: int, custom: bool, masks: frozenset[int] | None
) -> Table:
    """An activity table with the columns every activity inherits from activitypointer."""
    columns = [
        _c("subject", "String", max_length=subject_max),
        _c("description", "Memo", max_length=2000),
        _c("scheduledstart", "DateTime"),
        _c("scheduledend", "DateTime"),
        _c("actualstart", "DateTime"),
        _c("actualend", "DateTime"),
        _c("actualdurationminutes", "Integer", min_value=0, max_value=2147483647),
        _c("regardingobjectid", "Lookup", targets=ACTIVITY_REGARDING_TARGETS),
        _c("ownerid", "Lookup", targets=("systemuser",)),
        _c("statecode", "State", options=(0, 1, 2, 3)),
        _c("activitytypecode", "String", max_length=100, read_only=True),
    ]
    table = _table(
        logical, entity_set, "subject", columns, is_activity=True, is_custom=custom, party_masks=masks
    )
    table.navigations = {
        f"regardingobjectid_{target}_{logical}": Navigation(
            f"regardingobjectid_{target}_{logical}", "regardingobjectid", target
        )
        for target in ACTIVITY_REGARDING_TARGETS
    }
    table.navigations["ownerid"] = Navigation("ownerid", "ownerid", "systemuser")
    return table


def builtin_tables() -> dict[str, Table]:
    """The standard tables, keyed by logical name."""
    systemuser = _table(
        "systemuser",
        "systemusers",
        "fullname",
        [
            _c("fullname", "String", max_length=200),
            _c("firstname", "String", max_length=256),
            _c("lastname", "String", max_length=256),
            _c("internalemailaddress", "String", max_length=100),
            _c("azureactivedirectoryobjectid", "Uniqueidentifier"),
            _c("isdisabled", "Boolean"),
            # The user's manager (Dataverse's "Manager" lookup): the API's team scope follows it.
            _c("parentsystemuserid", "Lookup", targets=("systemuser",)),
        ],
    )
    systemuser.navigations = {
        "parentsystemuserid": Navigation("parentsystemuserid", "parentsystemuserid", "systemuser")
    }
    account = _table(
        "account",
        "accounts",
        "name",
        [
            _c("name", "String", max_length=160),
            _c("emailaddress1", "String", max_length=100),
            _c("accountnumber", "String", max_length=20),
            _c("address1_city", "String", max_length=80),
            _c("ownerid", "Lookup", targets=("systemuser",)),
            _c("statecode", "State", options=(0, 1)),
        ],
    )
    contact = _table(
        "contact",
        "contacts",
        "fullname",
        [
            _c("fullname", "String", max_length=160),
            _c("firstname", "String", max_length=50),
            _c("lastname", "String", max_length=50),
            _c("emailaddress1", "String", max_length=100),
            _c("jobtitle", "String", max_length=100),
            _c("parentcustomerid", "Lookup", targets=("account", "contact")),
            _c("ownerid", "Lookup", targets=("systemuser",)),
            _c("statecode", "State", options=(0, 1)),
        ],
    )
    contact.navigations = {
        "parentcustomerid_account": Navigation("parentcustomerid_account", "parentcustomerid", "account"),
        "parentcustomerid_contact": Navigation("parentcustomerid_contact", "parentcustomerid", "contact"),
    }
    opportunity = _table(
        "opportunity",
        "opportunities",
        "name",
        [
            _c("name", "String", max_length=300),
            _c("parentaccountid", "Lookup", targets=("account",)),
            _c("ownerid", "Lookup", targets=("systemuser",)),
            _c("statecode", "State", options=(0, 1, 2)),
            _c("statuscode", "Status", options=(1, 2, 3, 4, 5)),
            _c("estimatedvalue", "Money", min_value=-922337203685477, max_value=922337203685477),
        ],
    )
    opportunity.navigations = {
        "parentaccountid": Navigation("parentaccountid", "parentaccountid", "account"),
        "ownerid": Navigation("ownerid", "ownerid", "systemuser"),
    }
    # Organization-owned, no state: a competitor is neither owned nor deactivated. Its N:N with opportunity
    # (opportunitycompetitors_association) lives in associations.py.
    competitor = _table(
        "competitor",
        "competitors",
        "name",
        [_c("name", "String", max_length=100), _c("websiteurl", "String", max_length=200)],
    )
    appointment = activity_table(
        "appointment", "appointments", subject_max=200, custom=False, masks=frozenset({5, 6, 7, 9})
    )
    appointment.columns.update(
        {
            c.name: c
            for c in [
                _c("onlinemeetingjoinurl", "String", max_length=600),
                _c("onlinemeetingid", "String", max_length=300),
                _c("onlinemeetingchatid", "String", max_length=200),
                _c("isonlinemeeting", "Boolean"),
                _c("onlinemeetingtype", "Picklist", options=(1,)),
            ]
        }
    )
    phonecall = activity_table(
        "phonecall", "phonecalls", subject_max=200, custom=False, masks=frozenset({1, 2, 9})
    )
    phonecall.columns.update(
        {
            c.name: c
            for c in [
                _c("directioncode", "Boolean"),
                _c("phonenumber", "String", max_length=200),
            ]
        }
    )
    annotation = _table(
        "annotation",
        "annotations",
        "subject",
        [
            _c("subject", "String", max_length=500),
            _c("notetext", "Memo", max_length=100000),
            _c("isdocument", "Boolean"),
            _c("filename", "String", max_length=255),
            _c("mimetype", "String", max_length=256),
            _c("documentbody", "Memo", max_length=1073741823),
            _c(
                "objectid",
                "Lookup",
                targets=("opportunity", "account", "contact", "phonecall", "appointment"),
            ),
        ],
    )
    annotation.navigations = {
        f"objectid_{t}": Navigation(f"objectid_{t}", "objectid", t)
        for t in ("opportunity", "account", "contact", "phonecall", "appointment")
    }
    activityparty = _table(
        "activityparty",
        "activityparties",
        "partyidname",
        [
            _c("activityid", "Lookup", targets=("appointment", "phonecall")),
            _c("partyid", "Lookup", targets=PARTY_TARGETS),
            _c("participationtypemask", "Picklist", options=tuple(range(1, 14))),
            _c("addressused", "String", max_length=320),
        ],
        read_only=True,
    )
    activityparty.navigations = {
        f"partyid_{t}": Navigation(f"partyid_{t}", "partyid", t) for t in PARTY_TARGETS
    }
    tables = [
        systemuser,
        account,
        contact,
        opportunity,
        competitor,
        appointment,
        phonecall,
        annotation,
        activityparty,
    ]
    return {t.logical_name: t for t in tables}
