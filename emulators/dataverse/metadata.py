"""The metadata API of the Dataverse emulator: ``EntityDefinitions``, their ``Attributes`` and ``Keys``.

Reads follow "Query table definitions using the Web API" (``metadata_read.py``); creation follows Microsoft's
rules for custom activity tables (``metadata_create.py``). Alternate keys start ``Pending`` and become
``Active`` (or ``Failed`` when existing rows break uniqueness; rows with an empty key column are not
indexed, so they never collide) after an indexing delay. Customizing needs the privileges of "Security
roles and privileges" (``prvCreateEntity``, ``prvCreateAttribute``, ``prvCreateEntityKey``,
``prvDeleteEntityKey``, ``prvPublishCustomizations``). ``CreateEntities`` and ``RetrieveMetadataChanges``
are not emulated and answer 400 saying so.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from .metadata_create import create_attribute, create_key, create_table
from .metadata_read import (
    attributes_json,
    check_query_options,
    entity_json,
    filter_and_select,
    key_json,
    parse_cast,
)
from .model import KeyDef, Table
from .odata import ODataError, parse_key_segment
from .store import Store

__all__ = ["METADATA_HEADS", "MetadataApi"]

# Path heads the metadata API answers (the server routes these here).
METADATA_HEADS = ("EntityDefinitions", "PublishXml", "CreateEntities", "RetrieveMetadataChanges")
# (privilege, the entity the privilege is on) -> raises the 403 when the caller lacks it
Require = Callable[[str, str], None]


def _not_emulated(name: str) -> ODataError:
    return ODataError(
        f"The {name} message is not emulated; create tables with POST EntityDefinitions and read them with "
        "GET EntityDefinitions.",
        "0x80060888",
    )


class MetadataApi:
    """Handles requests under ``EntityDefinitions`` and the ``PublishXml`` action."""

    def __init__(self, store: Store, *, key_activation_s: float = 0.2) -> None:
        self.store = store
        self.key_activation_s = key_activation_s
        self._key_created: dict[str, float] = {}
        self.published: list[str] = []

    # --- keys become active after an indexing delay ---------------------------------------------------
    def refresh_keys(self) -> None:
        now = time.monotonic()
        for table in self.store.tables.values():
            for key in table.keys.values():
                created = self._key_created.get(key.metadata_id, 0.0)
                if key.status == "Pending" and now - created >= self.key_activation_s:
                    key.status = "Active" if self._unique(table, key) else "Failed"

    def _unique(self, table: Table, key: KeyDef) -> bool:
        seen = set()
        for row in self.store.rows[table.logical_name].values():
            raw = [row.get(a, row.get(f"_{a}_value")) for a in key.attributes]
            if any(v is None or v == "" for v in raw):
                continue  # an empty key value is not indexed
            values = tuple(str(v).lower() for v in raw)
            if values in seen:
                return False
            seen.add(values)
        return True

    # --- routing ---------------------------------------------------------------------------------------
    def handle(
        self,
        method: str,
        segments: list[str],
        body: Any,
        query: dict[str, str],
        root: str,
        require: Require,
    ) -> tuple[int, Any, dict[str, str]]:
        """Returns (status, JSON body or None, extra headers)."""
        self.refresh_keys()
        head = segments[0]
        if head == "PublishXml":
            require("prvPublishCustomizations", "customization")
            return self._publish(method, body)
        if head == "CreateEntities" or head.startswith("RetrieveMetadataChanges"):
            raise _not_emulated(head.split("(")[0])
        if head == "EntityDefinitions":
            if len(segments) != 1:
                raise ODataError("Unsupported metadata path.", "0x8006088a", 404)
            if method == "GET":
                check_query_options(query, {"$select", "$filter"})
                items = [entity_json(t) for t in self.store.tables.values()]
                return 200, {"value": filter_and_select(items, query, "EntityMetadata")}, {}
            if method == "POST":
                require("prvCreateEntity", "entity")
                return create_table(self.store, body, root)
            raise ODataError(
                "The requested method is not allowed on the EntityDefinitions collection.", "0x80060888", 405
            )
        table = self._table_from_segment(head)
        if len(segments) == 1:
            if method == "GET":
                check_query_options(query, {"$select"})
                return 200, filter_and_select([entity_json(table)], query, "EntityMetadata")[0], {}
            raise ODataError(
                "Table definitions are updated with PUT of the full definition; this emulator reads them.",
                "0x80060888",
                405,
            )
        return self._child(method, table, segments[1:], body, query, root, require)

    def _child(
        self,
        method: str,
        table: Table,
        rest: list[str],
        body: Any,
        query: dict[str, str],
        root: str,
        require: Require,
    ) -> tuple[int, Any, dict[str, str]]:
        child = rest[0]
        if child == "Attributes" and method == "GET" and len(rest) <= 2:
            cast = parse_cast(rest[1]) if len(rest) == 2 else None
            return 200, {"value": attributes_json(table, query, cast)}, {}
        if child == "Attributes" and method == "POST" and len(rest) == 1:
            require("prvCreateAttribute", "attribute")
            return create_attribute(table, body, root)
        if child.startswith("Attributes(") and method == "GET" and len(rest) <= 2:
            wanted = parse_key_segment(child[len("Attributes(") : -1])
            for column in table.columns.values():
                if wanted in (column.metadata_id, {"LogicalName": column.name}):
                    cast = parse_cast(rest[1]) if len(rest) == 2 else None
                    found = attributes_json(table, query, cast)
                    match = [a for a in found if a["MetadataId"] == column.metadata_id]
                    if not match:
                        raise ODataError(
                            f"The attribute {column.name} is not of type {cast}.", "0x8006088a", 404
                        )
                    return 200, match[0], {}
            raise ODataError(f"Could not find attribute {wanted} on {table.logical_name}.", "0x80060888", 404)
        if child == "Keys" and len(rest) == 1:
            if method == "GET":
                check_query_options(query, {"$select", "$filter"})
                items = [key_json(k) for k in table.keys.values()]
                return 200, {"value": filter_and_select(items, query, "EntityKeyMetadata")}, {}
            if method == "POST":
                require("prvCreateEntityKey", "entitykey")
                key, headers = create_key(table, body, root)
                self._key_created[key.metadata_id] = time.monotonic()
                return 204, None, headers
        if child.startswith("Keys(") and method in ("GET", "DELETE") and len(rest) == 1:
            wanted = parse_key_segment(child[len("Keys(") : -1])
            for name, key in list(table.keys.items()):
                if wanted in (key.metadata_id, {"LogicalName": key.schema_name.lower()}):
                    if method == "DELETE":
                        require("prvDeleteEntityKey", "entitykey")
                        del table.keys[name]
                        return 204, None, {}
                    return 200, key_json(key), {}
            raise ODataError(f"Could not find key {wanted} on {table.logical_name}.", "0x80060888", 404)
        raise ODataError(
            f"No HTTP resource was found that matches the request URI for {method} {'/'.join(rest)}.", "", 404
        )

    def _table_from_segment(self, segment: str) -> Table:
        match = re.fullmatch(r"EntityDefinitions\((.*)\)", segment)
        if not match:
            raise ODataError(f"Resource not found for the segment '{segment}'.", "0x8006088a", 404)
        key = parse_key_segment(match.group(1))
        for table in self.store.tables.values():
            if key in (table.metadata_id, {"LogicalName": table.logical_name}):
                return table
        raise ODataError(f"Could not find a table with {match.group(1)}.", "0x80060888", 404)

    def _publish(self, method: str, body: Any) -> tuple[int, Any, dict[str, str]]:
        if method != "POST":
            raise ODataError("No HTTP resource was found that matches the request URI 'PublishXml'.", "", 404)
        xml = body.get("ParameterXml") if isinstance(body, dict) else None
        if not isinstance(xml, str) or "<importexportxml>" not in xml:
            raise ODataError("PublishXml needs a ParameterXml string with an <importexportxml> document.")
        self.published.append(xml)
        return 204, None, {}
