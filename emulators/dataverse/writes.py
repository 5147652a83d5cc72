"""Row operations of the Dataverse emulator: create, read one, update/upsert, delete.

Per "Create a table row", "Retrieve a table row", "Update and delete table rows", "Use Upsert" and "Perform
conditional operations": ``If-Match``/``If-None-Match`` upserts with 404/412, ETags and 304, alternate keys
only once Active, ``Prefer: return=representation``. A row is addressed by its id (``accounts(<guid>)``), by
its primary key in key-as-segment form (``accounts(accountid=<guid>)``) or by an active alternate key.
Each operation needs the caller's privilege on the table (``security.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .model import Table
from .odata import ODataError, parse_expand, parse_key_segment
from .records import WriteContext, apply_write, check_property, project, write_parties
from .store import Store, not_found, now_iso

__all__ = ["Outcome", "RowApi", "select_of"]

# (status, headers, JSON body or None, the written row as (table, id) for Content-ID references)
Outcome = tuple[int, dict[str, str], Any, tuple[Table, str] | None]
# (privilege verb "GET"/"POST"/"PATCH"/"DELETE", table) -> raises the 403
Authorize = Callable[[str, Table], None]


def select_of(table: Table, query: dict[str, str]) -> list[str] | None:
    if "$select" not in query:
        return None
    names = query["$select"].split(",")
    for name in names:
        check_property(table, name)
    return names


class RowApi:
    def __init__(self, store: Store, api_root: Callable[[], str]) -> None:
        self.store = store
        self._api_root = api_root

    @property
    def api_root(self) -> str:
        return self._api_root()

    def address(
        self, table: Table, segment: str
    ) -> tuple[dict[str, Any] | None, str | None, dict[str, Any] | None]:
        """(existing row, primary id when addressed by id, key values when addressed by alternate key)."""
        key = parse_key_segment(segment)
        if isinstance(key, dict) and set(key) == {table.primary_id}:
            value = key[table.primary_id]  # key-as-segment form of the primary key
            if not isinstance(value, str) or len(value) != 36:
                raise ODataError(f"The key value of '{table.primary_id}' must be a GUID.", "0x80060891")
            key = value.lower()
        if isinstance(key, str):
            return self.store.get(table, key), key, None
        if table.active_key_for(set(key)) is None:
            raise ODataError(
                f"The specified key attributes are not a defined key for the {table.logical_name} entity.",
                "0x80060891",
            )
        return self.store.find_by_key(table, key), None, key

    def single(
        self,
        table: Table,
        method: str,
        segment: str,
        body: Any,
        query: dict[str, str],
        headers: dict[str, str],
        ctx: WriteContext,
        authorize: Authorize,
    ) -> Outcome:
        row, record_id, key = self.address(table, segment)
        where = record_id or ",".join(f"{k}={v}" for k, v in (key or {}).items())
        entity_id = {"OData-EntityId": f"{self.api_root}{table.entity_set}({segment})"}
        if method == "GET":
            authorize("GET", table)
            if row is None:
                raise not_found(table, where)
            select = select_of(table, query)
            expand = parse_expand(query["$expand"]) if "$expand" in query else None
            etag = f'W/"{row["versionnumber"]}"'
            annotated = "odata.include-annotations" in headers.get("prefer", "")
            if headers.get("if-none-match") == etag and not expand and not annotated:
                return 304, {"ETag": etag}, None, None
            payload = project(self.store, table, row, select=select, expand=expand, annotations=annotated)
            return 200, {"ETag": etag}, payload, None
        if method == "DELETE":
            authorize("DELETE", table)
            if row is None:
                raise not_found(table, where)
            self.store.delete(table, row[table.primary_id])
            return 204, {}, None, None
        if method != "PATCH":
            raise ODataError(
                f"The '{method}' method is not supported on a single {table.logical_name}.", "0x80060888", 405
            )
        authorize("PATCH" if row is not None else "POST", table)
        if_match, if_none_match = headers.get("if-match"), headers.get("if-none-match")
        if if_none_match == "*" and row is not None:
            raise ODataError("A record with matching key values already exists.", "", 412)
        if if_match is not None and row is None:
            raise not_found(table, where)
        if if_match not in (None, "*") and row is not None and if_match != f'W/"{row["versionnumber"]}"':
            raise ODataError(
                "The version of the existing record doesn't match the RowVersion property provided.",
                "0x80060882",
                412,
            )
        return self.write(table, row, record_id, key, body, query, headers, ctx, entity_id)

    def write(
        self,
        table: Table,
        row: dict[str, Any] | None,
        record_id: str | None,
        key: dict[str, Any] | None,
        body: Any,
        query: dict[str, str],
        headers: dict[str, str],
        ctx: WriteContext,
        entity_id: dict[str, str],
    ) -> Outcome:
        """Apply ``body`` to ``row`` (None: create with ``record_id`` or the ``key`` values)."""
        creating = row is None
        working = dict(row) if row is not None else {table.primary_id: record_id or self.store.new_id()}
        if isinstance(body, dict) and key and not creating:
            body = {k: v for k, v in body.items() if k not in key}  # the URL's key values win on update
        parties = apply_write(self.store, table, working, body, ctx)
        if creating and key:
            for name, value in key.items():
                working.setdefault(name, value)
        self.save(table, working, creating, parties)
        return self.written(table, working, creating, headers, query, entity_id)

    def create(
        self, table: Table, body: Any, query: dict[str, str], headers: dict[str, str], ctx: WriteContext
    ) -> Outcome:
        given = body.get(table.primary_id) if isinstance(body, dict) else None
        working: dict[str, Any] = {table.primary_id: str(given).lower() if given else self.store.new_id()}
        if self.store.get(table, working[table.primary_id]) is not None:
            raise ODataError("Cannot insert duplicate key.", "0x80040237", 412)
        parties = apply_write(self.store, table, working, body, ctx)
        self.save(table, working, True, parties)
        entity_id = {"OData-EntityId": f"{self.api_root}{table.entity_set}({working[table.primary_id]})"}
        return self.written(table, working, True, headers, query, entity_id)

    def save(
        self, table: Table, row: dict[str, Any], creating: bool, parties: list[dict[str, Any]] | None
    ) -> None:
        for key in table.keys.values():
            if key.status != "Active":
                continue
            values = {a: row.get(a) for a in key.attributes}
            other = (
                self.store.find_by_key(table, values) if all(v is not None for v in values.values()) else None
            )
            if other is not None and other[table.primary_id] != row[table.primary_id]:
                raise ODataError("A record with matching key values already exists.", "", 412)
        stamp = now_iso()
        if creating:
            row["createdon"] = stamp
            if table.is_activity:
                row["activitytypecode"] = table.logical_name
                row.setdefault("statecode", 0)
        row["modifiedon"] = stamp
        row["versionnumber"] = self.store.next_version()
        self.store.put(table, row)
        if parties is not None:
            write_parties(self.store, table, row[table.primary_id], parties)

    def written(
        self,
        table: Table,
        row: dict[str, Any],
        creating: bool,
        headers: dict[str, str],
        query: dict[str, str],
        entity_id: dict[str, str],
    ) -> Outcome:
        if "return=representation" in headers.get("prefer", ""):
            payload = project(self.store, table, row, select=select_of(table, query))
            extra = {
                **entity_id,
                "Preference-Applied": "return=representation",
                "ETag": payload["@odata.etag"],
            }
            return (201 if creating else 200), extra, payload, (table, row[table.primary_id])
        return 204, entity_id, None, (table, row[table.primary_id])
