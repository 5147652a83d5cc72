"""Row writes (validation against the table's columns, ``@odata.bind``, activity parties) and row reads.

Error codes and message formats are Dataverse's: unknown property ``0x0`` "Invalid property 'x' was found
in entity 'Microsoft.Dynamics.CRM.t'", undeclared navigation ``0x80048d19``, validation ``0x80044331``
(length, range), missing bound record ``0x80040217`` (404).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from .associations import association_of, related_rows
from .model import Column, Table
from .odata import ODataError
from .store import Store, now_iso

__all__ = ["WriteContext", "apply_write", "check_property", "project"]

_BIND_VALUE = re.compile(
    r"^(?:https?://[^/]+)?/?(?:api/data/v9\.\d/)?([A-Za-z_][A-Za-z0-9_]*)\(([0-9a-fA-F-]{36})\)$"
)


class WriteContext:
    """Who writes (the application id, for privilege checks) and what a write may refer to: ``$n``
    Content-ID references inside a change set."""

    def __init__(self, content_ids: dict[str, tuple[Table, str]] | None = None, *, app_id: str = "") -> None:
        self.content_ids = content_ids or {}
        self.app_id = app_id


def check_property(table: Table, name: str) -> None:
    """Raise the Dataverse error for a name that is not a readable property of ``table``."""
    column = table.columns.get(name)
    if column is not None and column.type != "Lookup":
        return
    match = re.fullmatch(r"_([a-z0-9_]+)_value", name)
    if match and (lookup := table.columns.get(match.group(1))) is not None and lookup.type == "Lookup":
        return
    raise ODataError(
        f"Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.{table.logical_name}'."
    )


def _validation(message: str) -> ODataError:
    return ODataError(f"A validation error occurred. {message}", "0x80044331")


def _check_value(table: Table, column: Column, value: Any) -> Any:
    if value is None:
        return None
    where = f"'{column.name}' attribute of the '{table.logical_name}' entity"
    if column.type in ("String", "Memo"):
        if not isinstance(value, str):
            raise ODataError(f"Cannot convert the literal '{value}' to the expected type 'Edm.String'.")
        if column.max_length is not None and len(value) > column.max_length:
            raise _validation(
                f"The length of the {where} exceeded the maximum allowed length of '{column.max_length}'."
            )
        return value
    if column.type in ("Integer", "Decimal", "Money"):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (column.type == "Integer" and not isinstance(value, int))
        ):
            raise ODataError(
                f"Cannot convert the literal '{value}' to the expected type for '{column.name}'."
            )
        low, high = column.min_value, column.max_value
        if (low is not None and value < low) or (high is not None and value > high):
            raise _validation(
                f"The value {value} of '{column.name}' on record of type '{table.logical_name}' is outside "
                f"the valid range. Accepted Values: Between {low} and {high}"
            )
        return round(value, column.precision) if column.precision is not None else value
    if column.type == "Boolean":
        if not isinstance(value, bool):
            raise ODataError(f"Cannot convert the literal '{value}' to the expected type 'Edm.Boolean'.")
        return value
    if column.type == "DateTime":
        try:
            datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise ODataError(
                f"Cannot convert the literal '{value}' to the expected type 'Edm.DateTimeOffset'."
            ) from None
        return value
    if column.type in ("Picklist", "State", "Status"):
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or (column.options and value not in column.options)
        ):
            raise _validation(
                f"The value {value} of '{column.name}' on record of type '{table.logical_name}' is outside "
                "the valid range."
            )
        return value
    if column.type == "Uniqueidentifier":
        if not isinstance(value, str) or not re.fullmatch(r"[0-9a-fA-F-]{36}", value):
            raise ODataError(f"Cannot convert the literal '{value}' to the expected type 'Edm.Guid'.")
        return value.lower()
    raise ODataError(
        f"Invalid property '{column.name}' was found in entity 'Microsoft.Dynamics.CRM.{table.logical_name}'."
    )


def _resolve_bind(store: Store, value: Any, ctx: WriteContext) -> tuple[Table, str]:
    if isinstance(value, str) and value.startswith("$"):
        if value not in ctx.content_ids:
            raise ODataError(f"Content-ID Reference: '{value}' does not exist in the batch context.")
        return ctx.content_ids[value]
    match = _BIND_VALUE.match(value) if isinstance(value, str) else None
    if not match:
        raise ODataError(
            f"The value '{value}' of an @odata.bind annotation is not a valid entity reference URL.",
            "0x80048d19",
        )
    target = store.by_entity_set(match.group(1))
    record_id = match.group(2).lower()
    store.require(target, record_id)
    return target, record_id


def _undeclared(table: Table, name: str) -> ODataError:
    return ODataError(
        f"Error identified in Payload provided by the user for Entity :'{table.entity_set}', ----> "
        f"InnerException : Microsoft.OData.ODataException: An undeclared property '{name}' which only has "
        "property annotations in the payload but no property value was found in the payload. In OData, only "
        "declared navigation properties and declared named streams can be represented as properties without "
        "values.",
        "0x80048d19",
    )


def apply_write(
    store: Store, table: Table, row: dict[str, Any], body: dict[str, Any], ctx: WriteContext
) -> list[dict[str, Any]] | None:
    """Validate ``body`` and apply it to ``row`` in place; return the activity parties to write, if any."""
    if not isinstance(body, dict):
        raise ODataError("The request body must be a JSON object.")
    parties: list[dict[str, Any]] | None = None
    for name, value in body.items():
        if name.startswith("@odata."):
            continue
        if name.endswith("@odata.bind"):
            nav_name = name.removesuffix("@odata.bind")
            navigation = table.navigations.get(nav_name)
            if navigation is None:
                raise _undeclared(table, nav_name)
            target, record_id = _resolve_bind(store, value, ctx)
            if target.logical_name != navigation.target:
                raise ODataError(
                    f"The entity '{target.logical_name}' cannot be bound through navigation property "
                    f"'{nav_name}', which expects '{navigation.target}'.",
                    "0x80048d19",
                )
            row[f"_{navigation.column}_value"] = record_id
            store.lookup_targets[(table.logical_name, row[table.primary_id], navigation.column)] = (
                target.logical_name
            )
            continue
        if table.parties_navigation and name == table.parties_navigation:
            if not isinstance(value, list):
                raise ODataError(f"'{name}' must be a JSON array of activity parties.")
            parties = [_check_party(store, table, item, ctx) for item in value]
            continue
        column = table.columns.get(name)
        if column is None or column.type == "Lookup" or column.read_only:
            raise ODataError(
                f"Invalid property '{name}' was found in entity "
                f"'Microsoft.Dynamics.CRM.{table.logical_name}'."
            )
        if column.name == table.primary_id and row.get(name) not in (None, str(value).lower()):
            raise ODataError(f"The primary key '{name}' cannot be changed.")
        row[name] = _check_value(table, column, value)
    return parties


def _check_party(store: Store, activity: Table, item: Any, ctx: WriteContext) -> dict[str, Any]:
    party_table = store.tables["activityparty"]
    if not isinstance(item, dict):
        raise ODataError("An activity party must be a JSON object.")
    binds = [k for k in item if k.endswith("@odata.bind")]
    unknown = [k for k in item if k not in binds and k not in ("participationtypemask", "addressused")]
    if unknown:
        raise ODataError(
            f"Invalid property '{unknown[0]}' was found in entity 'Microsoft.Dynamics.CRM.activityparty'."
        )
    mask = item.get("participationtypemask")
    if isinstance(mask, bool) or not isinstance(mask, int) or not 1 <= mask <= 13:
        raise _validation(
            f"The value {mask} of 'participationtypemask' on record of type 'activityparty' is outside the "
            "valid range."
        )
    if activity.party_masks is not None and mask not in activity.party_masks:
        raise ODataError(
            f"Participation type {mask} is not valid for an activity of type '{activity.logical_name}'.",
            "0x80040203",
        )
    party: dict[str, Any] = {"participationtypemask": mask}
    if "addressused" in item:
        party["addressused"] = _check_value(
            party_table, party_table.columns["addressused"], item["addressused"]
        )
    if len(binds) > 1:
        raise ODataError("An activity party can point at one record only.")
    if binds:
        nav = binds[0].removesuffix("@odata.bind")
        navigation = party_table.navigations.get(nav)
        if navigation is None:
            raise _undeclared(party_table, nav)
        target, record_id = _resolve_bind(store, item[binds[0]], ctx)
        if target.logical_name != navigation.target:
            raise ODataError(
                f"'{nav}' expects a {navigation.target}, got a {target.logical_name}.", "0x80048d19"
            )
        party["_partyid_value"] = record_id
        party["__target"] = target.logical_name
    elif "addressused" not in party:
        raise ODataError("An activity party needs a partyid binding or an addressused value.", "0x80040203")
    return party


def write_parties(store: Store, activity: Table, activity_id: str, parties: list[dict[str, Any]]) -> None:
    """Replace the activity's parties of each participation type present in ``parties`` (a PartyList set)."""
    table = store.tables["activityparty"]
    masks = {p["participationtypemask"] for p in parties}
    for row in list(store.rows["activityparty"].values()):
        if row.get("_activityid_value") == activity_id and row["participationtypemask"] in masks:
            store.delete(table, row["activitypartyid"])
    for party in parties:
        party_id = store.new_id()
        target = party.pop("__target", None)
        row = {"activitypartyid": party_id, "_activityid_value": activity_id, **party}
        row.update({"createdon": now_iso(), "modifiedon": now_iso(), "versionnumber": store.next_version()})
        store.put(table, row)
        store.lookup_targets[("activityparty", party_id, "activityid")] = activity.logical_name
        if target:
            store.lookup_targets[("activityparty", party_id, "partyid")] = target


def project(
    store: Store,
    table: Table,
    row: dict[str, Any],
    *,
    select: list[str] | None,
    expand: dict[str, list[str] | None] | None = None,
    annotations: bool = False,
) -> dict[str, Any]:
    """A row as the Web API returns it: ``@odata.etag``, the selected columns, lookups as ``_x_value``."""
    out: dict[str, Any] = {"@odata.etag": f'W/"{row.get("versionnumber", 0)}"'}
    names = select or [f"_{c.name}_value" if c.type == "Lookup" else c.name for c in table.columns.values()]
    for name in names:
        out[name] = row.get(name)
        match = re.fullmatch(r"_([a-z0-9_]+)_value", name)
        if annotations and match and row.get(name):
            target = store.lookup_targets.get((table.logical_name, row[table.primary_id], match.group(1)))
            if target:
                out[f"{name}@Microsoft.Dynamics.CRM.lookuplogicalname"] = target
                target_row = store.get(store.tables[target], row[name])
                if target_row:
                    name_column = store.tables[target].primary_name
                    out[f"{name}@OData.Community.Display.V1.FormattedValue"] = target_row.get(name_column)
    if table.primary_id not in out:
        out[table.primary_id] = row[table.primary_id]
    for nav_name, nested_select in (expand or {}).items():
        navigation = table.navigations.get(nav_name)
        association = association_of(table, nav_name)
        if navigation is None and association is not None:
            related = store.tables[association.other(table.logical_name)]
            for column in nested_select or []:
                check_property(related, column)
            out[nav_name] = [
                project(store, related, r, select=nested_select)
                for r in related_rows(store, association, table, row[table.primary_id])
            ]
            continue
        if navigation is None:
            raise ODataError(
                f"Could not find a property named '{nav_name}' on type "
                f"'Microsoft.Dynamics.CRM.{table.logical_name}'."
            )
        nav_table = store.tables[navigation.target]
        for column in nested_select or []:
            check_property(nav_table, column)
        target_id = row.get(f"_{navigation.column}_value")
        actual = store.lookup_targets.get((table.logical_name, row[table.primary_id], navigation.column))
        nav_row = store.get(nav_table, target_id) if target_id and actual == nav_table.logical_name else None
        out[nav_name] = project(store, nav_table, nav_row, select=nested_select) if nav_row else None
    return out
