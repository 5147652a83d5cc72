"""Seed the Dataverse emulator from a CRM fixture in Dataverse's read shape (``samples/crm.json``).

Rows are written as they would read back: ``_x_value`` lookups (the target table is inferred from the id, or
from ``regardingobjecttypecode`` for activities). Columns the table does not declare are refused, so the
fixture cannot drift from the emulated schema unnoticed. ``opportunitycompetitors`` pairs (the intersect table
of ``opportunitycompetitors_association``) become the N:N's pairs; each must name seeded rows.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from .associations import ASSOCIATIONS
from .records import _check_value
from .store import Store, now_iso

__all__ = ["seed_from_fixture"]

_SETS = ("systemusers", "accounts", "contacts", "opportunities", "competitors", "appointments")


def seed_from_fixture(store: Store, path: Path) -> None:
    raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    owners: dict[str, str] = {}
    for entity_set in _SETS:
        table = store.by_entity_set(entity_set)
        for source in raw.get(entity_set, []):
            owners[source[table.primary_id].lower()] = table.logical_name
    for entity_set in _SETS:
        table = store.by_entity_set(entity_set)
        for source in raw.get(entity_set, []):
            record_id = source[table.primary_id].lower()
            row: dict[str, Any] = {table.primary_id: record_id}
            regarding_type = source.get("regardingobjecttypecode")
            for name, value in source.items():
                if name in (table.primary_id, "regardingobjecttypecode"):
                    continue
                lookup = re.fullmatch(r"_([a-z0-9_]+)_value", name)
                if lookup:
                    column = table.columns.get(lookup.group(1))
                    if column is None or column.type != "Lookup":
                        raise ValueError(f"{entity_set}: {name} is not a lookup of {table.logical_name}")
                    target = (
                        regarding_type
                        if column.name == "regardingobjectid" and regarding_type
                        else owners.get(value.lower())
                    )
                    if target not in column.targets:
                        raise ValueError(
                            f"{entity_set}: {name} points at {value}, not one of {column.targets}"
                        )
                    row[name] = value.lower()
                    store.lookup_targets[(table.logical_name, record_id, column.name)] = target
                    continue
                column = table.columns.get(name)
                if column is None:
                    raise ValueError(f"{entity_set}: column {name} is not declared on {table.logical_name}")
                row[name] = _check_value(table, column, value)
            row.setdefault("createdon", now_iso())
            row.setdefault("modifiedon", row["createdon"])
            row["versionnumber"] = store.next_version()
            if table.is_activity:
                row["activitytypecode"] = table.logical_name
                row.setdefault("statecode", 0)
            store.put(table, row)
    _seed_associations(store, raw)


def _seed_associations(store: Store, raw: dict[str, Any]) -> None:
    for association in ASSOCIATIONS.values():
        first, second = store.tables[association.first], store.tables[association.second]
        pairs = store.associations.setdefault(association.name, set())
        for link in raw.get(association.intersect, []):
            ids = (link[first.primary_id].lower(), link[second.primary_id].lower())
            for table, record_id in zip((first, second), ids, strict=True):
                if store.get(table, record_id) is None:
                    raise ValueError(
                        f"{association.intersect}: {table.logical_name} {record_id} is not seeded"
                    )
            pairs.add(ids)
