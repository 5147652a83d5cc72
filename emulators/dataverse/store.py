"""Rows and metadata of the Dataverse emulator, with snapshots (change-set rollback) and a JSON state file.

Rows are kept in their Web API read shape: plain columns by name, lookups as ``_<name>_value`` with the
target table remembered beside them (``lookup_targets``), the row version in ``versionnumber``.
"""

from __future__ import annotations

import copy
import json
import threading
import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .model import Column, KeyDef, Table, activity_table, builtin_tables
from .odata import ODataError

__all__ = ["Store", "not_found", "now_iso"]


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def not_found(table: Table, record_id: str) -> ODataError:
    return ODataError(f"{table.logical_name} With Id = {record_id} Does Not Exist", "0x80040217", 404)


class Store:
    """All state of one emulated organisation; callers hold ``lock`` around a whole request."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tables: dict[str, Table] = builtin_tables()
        self.rows: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in self.tables}
        # (table, row id, lookup column) -> target logical name
        self.lookup_targets: dict[tuple[str, str, str], str] = {}
        # N:N relationship name -> (first table's row id, second table's row id) pairs (``associations.py``)
        self.associations: dict[str, set[tuple[str, str]]] = {}
        self.version = 1000

    # --- tables ------------------------------------------------------------------------------------
    def by_entity_set(self, entity_set: str) -> Table:
        for table in self.tables.values():
            if table.entity_set == entity_set:
                return table
        raise ODataError(f"Resource not found for the segment '{entity_set}'.", "0x8006088a", 404)

    def table(self, logical_name: str) -> Table:
        try:
            return self.tables[logical_name]
        except KeyError:
            raise ODataError(
                f"Could not find a table with logical name '{logical_name}'.", "0x80060888", 404
            ) from None

    def add_table(self, table: Table) -> None:
        self.tables[table.logical_name] = table
        self.rows.setdefault(table.logical_name, {})
        if table.is_activity:
            # Every activity can be regarded and noted: annotations and parties point at it.
            annotation = self.tables["annotation"]
            objectid = annotation.columns["objectid"]
            objectid.targets = (*objectid.targets, table.logical_name)
            nav = f"objectid_{table.logical_name}"
            from .model import Navigation

            annotation.navigations[nav] = Navigation(nav, "objectid", table.logical_name)
            activity = self.tables["activityparty"].columns["activityid"]
            activity.targets = (*activity.targets, table.logical_name)

    def activity_tables(self) -> list[Table]:
        return [t for t in self.tables.values() if t.is_activity]

    # --- rows --------------------------------------------------------------------------------------
    def next_version(self) -> int:
        self.version += 1
        return self.version

    def get(self, table: Table, record_id: str) -> dict[str, Any] | None:
        return self.rows[table.logical_name].get(record_id.lower())

    def require(self, table: Table, record_id: str) -> dict[str, Any]:
        row = self.get(table, record_id)
        if row is None:
            raise not_found(table, record_id)
        return row

    def find_by_key(self, table: Table, values: dict[str, Any]) -> dict[str, Any] | None:
        for row in self.rows[table.logical_name].values():
            if all(_same(row.get(_read_name(table, k)), v) for k, v in values.items()):
                return row
        return None

    def put(self, table: Table, row: dict[str, Any]) -> None:
        self.rows[table.logical_name][row[table.primary_id]] = row

    def delete(self, table: Table, record_id: str) -> None:
        self.rows[table.logical_name].pop(record_id.lower(), None)
        for key in [k for k in self.lookup_targets if k[0] == table.logical_name and k[1] == record_id]:
            del self.lookup_targets[key]
        for pairs in self.associations.values():  # a deleted row leaves its N:N pairs (ids are GUIDs)
            pairs -= {pair for pair in pairs if record_id.lower() in pair}

    def new_id(self) -> str:
        return str(uuid.uuid4())

    # --- snapshots and persistence -----------------------------------------------------------------
    def snapshot(self) -> tuple[Any, ...]:
        return copy.deepcopy((self.tables, self.rows, self.lookup_targets, self.associations, self.version))

    def restore(self, snapshot: tuple[Any, ...]) -> None:
        self.tables, self.rows, self.lookup_targets, self.associations, self.version = snapshot

    def dump(self) -> dict[str, Any]:
        """Rows of every table (entity set -> rows), for ``--dump`` and the sandbox."""
        return {
            t.entity_set: sorted(
                self.rows[t.logical_name].values(), key=lambda r: str(r.get("createdon", ""))
            )
            for t in self.tables.values()
            if self.rows[t.logical_name]
        }

    def save(self, path: Path) -> None:
        custom = [
            {
                "table": {k: v for k, v in asdict(t).items() if k not in ("columns", "keys", "navigations")},
                "columns": [asdict(c) for c in t.columns.values()],
                "keys": [asdict(k) for k in t.keys.values()],
            }
            for t in self.tables.values()
            if t.is_custom
        ]
        state = {
            "version": self.version,
            "custom_tables": custom,
            "rows": self.rows,
            "lookup_targets": [[*k, v] for k, v in self.lookup_targets.items()],
            "associations": {name: sorted(pairs) for name, pairs in self.associations.items()},
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, default=list), encoding="utf-8")
        tmp.replace(path)

    def load(self, path: Path) -> None:
        state = json.loads(path.read_text(encoding="utf-8"))
        for saved in state["custom_tables"]:
            info = saved["table"]
            table = activity_table(
                info["logical_name"], info["entity_set"], subject_max=200, custom=True, masks=None
            )
            table.metadata_id = info["metadata_id"]
            table.definition = info["definition"]
            for column in saved["columns"]:
                column["options"] = tuple(column["options"])
                column["targets"] = tuple(column["targets"])
                table.columns[column["name"]] = Column(**column)
            for key in saved["keys"]:
                key["attributes"] = tuple(key["attributes"])
                table.keys[key["schema_name"]] = KeyDef(**key)
            self.add_table(table)
        for logical, rows in state["rows"].items():
            self.rows.setdefault(logical, {}).update(rows)
        self.lookup_targets = {(a, b, c): d for a, b, c, d in state["lookup_targets"]}
        self.associations = {
            name: {(first, second) for first, second in pairs}
            for name, pairs in state.get("associations", {}).items()
        }
        self.version = state["version"]


def _read_name(table: Table, column: str) -> str:
    col = table.columns.get(column)
    return f"_{column}_value" if col is not None and col.type == "Lookup" else column


def _same(stored: Any, wanted: Any) -> bool:
    if isinstance(stored, str) and isinstance(wanted, str):
        return stored.lower() == wanted.lower()
    return bool(stored == wanted)
