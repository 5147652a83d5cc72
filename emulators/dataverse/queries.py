"""Collection queries of the Dataverse emulator: ``$filter $select $expand $orderby $top $count`` and paging.

Paging follows "Page results": ``Prefer: odata.maxpagesize=n`` (at most 5,000, echoed in
``Preference-Applied``), an ``@odata.nextLink`` whose ``$skiptoken`` is opaque and bound to the query, and
``$top`` ignored when a page size is asked for. ``$skip`` is not supported by Dataverse and is refused.
``activitypointers`` is the read-only view over every activity table (what a timeline lists).
"""

from __future__ import annotations

import hashlib
import re
import urllib.parse
from typing import TYPE_CHECKING, Any

from .model import Table
from .odata import ODataError, parse_expand, parse_filter, parse_orderby
from .records import check_property, project

if TYPE_CHECKING:
    from .server import DataverseEmulator

__all__ = ["query_collection"]

_ALLOWED = {"$select", "$filter", "$orderby", "$top", "$count", "$expand", "$skiptoken"}
_MAX_PAGE = 5000
_POINTER_COLUMNS = {
    "activityid",
    "subject",
    "description",
    "activitytypecode",
    "_regardingobjectid_value",
    "actualstart",
    "actualend",
    "statecode",
    "createdon",
    "modifiedon",
}


def _pointer_rows(emulator: DataverseEmulator) -> list[dict[str, Any]]:
    rows = []
    for table in emulator.store.activity_tables():
        for row in emulator.store.rows[table.logical_name].values():
            rows.append(
                {k: row.get(k) for k in _POINTER_COLUMNS} | {"versionnumber": row.get("versionnumber")}
            )
    return rows


def _check_pointer(name: str) -> None:
    if name not in _POINTER_COLUMNS:
        raise ODataError(
            f"Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.activitypointer'."
        )


def _sort_key(value: Any) -> tuple[int, Any]:
    """Numbers and booleans by value, strings case-insensitively, nulls last (ascending)."""
    if value is None:
        return (3, 0)
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, int | float):
        return (1, value)
    return (2, str(value).lower())


def query_collection(
    emulator: DataverseEmulator,
    table: Table | None,
    query: dict[str, str],
    headers: dict[str, str],
    *,
    rows: list[dict[str, Any]] | None = None,
    path: str | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """The JSON of ``GET /{set}?…`` and its extra headers (``table`` None means ``activitypointers``).

    ``rows`` and ``path``: a filtered collection (an N:N navigation of one row) instead of the whole set.
    """
    if "$skip" in query:
        raise ODataError("The query parameter $skip is not supported.", "0x0")
    for name in ("fetchXml", "sql"):
        if name in query:
            raise ODataError(
                f"The {name} query parameter is not emulated: this emulator answers OData queries only "
                "($select, $filter, $orderby, $top, $count, $expand).",
                "0x80060888",
            )
    unknown = [k for k in query if k not in _ALLOWED and not k.startswith("@")]
    if unknown:
        raise ODataError(f"The query parameter {unknown[0]} is not supported.")

    def check(name: str) -> None:
        if table is None:
            _check_pointer(name)
        else:
            check_property(table, name)

    if rows is None:
        rows = (
            _pointer_rows(emulator)
            if table is None
            else list(emulator.store.rows[table.logical_name].values())
        )
    else:
        rows = list(rows)
    if "$filter" in query:
        predicate = parse_filter(query["$filter"], check)
        rows = [r for r in rows if predicate(r)]
    for name, descending in reversed(parse_orderby(query["$orderby"], check) if "$orderby" in query else []):
        rows.sort(key=lambda r: _sort_key(r.get(name)), reverse=descending)
    select = query["$select"].split(",") if "$select" in query else None
    for name in select or []:
        check(name)
    expand = parse_expand(query["$expand"]) if "$expand" in query and table is not None else None
    prefer = headers.get("prefer", "")
    page_match = re.search(r"odata\.maxpagesize=(\d+)", prefer)
    page_size = min(int(page_match.group(1)), _MAX_PAGE) if page_match else _MAX_PAGE
    matches = len(rows)
    if "$top" in query:
        if not query["$top"].isdigit():
            raise ODataError(f"Invalid value '{query['$top']}' for $top.")
        if not page_match:
            rows = rows[: int(query["$top"])]
    entity_set = table.entity_set if table is not None else "activitypointers"
    fingerprint = hashlib.sha256(
        (
            (path or entity_set)
            + urllib.parse.urlencode(sorted((k, v) for k, v in query.items() if k != "$skiptoken"))
        ).encode()
    ).hexdigest()[:16]
    offset = emulator.read_skiptoken(query["$skiptoken"], fingerprint) if "$skiptoken" in query else 0
    page = rows[offset : offset + page_size]
    annotated = "odata.include-annotations" in prefer
    result: dict[str, Any] = {"@odata.context": f"{emulator.api_root}$metadata#{entity_set}"}
    if query.get("$count") == "true":
        result["@odata.count"] = min(matches, 5000)  # every match, not the page or the $top
    if table is None:
        result["value"] = [
            {
                "@odata.etag": f'W/"{r["versionnumber"]}"',
                **{k: r.get(k) for k in (select or sorted(_POINTER_COLUMNS))},
            }
            for r in page
        ]
    else:
        result["value"] = [
            project(emulator.store, table, r, select=select, expand=expand, annotations=annotated)
            for r in page
        ]
    if offset + page_size < len(rows):
        rest = {k: v for k, v in query.items() if k != "$skiptoken"}
        rest["$skiptoken"] = emulator.skiptoken(offset + page_size, fingerprint)
        result["@odata.nextLink"] = (
            f"{emulator.api_root}{path or entity_set}?"
            f"{urllib.parse.urlencode(rest, quote_via=urllib.parse.quote)}"
        )
    applied = {"Preference-Applied": f"odata.maxpagesize={page_size}"} if page_match else {}
    return result, applied
