"""N:N relationships of the Dataverse emulator: ``opportunitycompetitors_association`` (opportunity ↔ competitor).

Per the competitor and opportunitycompetitors table references and "Query data" / "Join tables using OData": an
N:N relationship is a collection-valued navigation property with the relationship's name on both tables (its
rows are pairs in an intersect table, here ``opportunitycompetitors``). It reads as a filtered collection,
``GET opportunities(<id>)/opportunitycompetitors_association`` (``$select $filter $orderby $top``, paging, like
any collection; 404 when the row does not exist), or through ``$expand`` on a row or a collection (only
``$select`` inside, as elsewhere in this emulator). Associating and disassociating (``…/$ref``), deep insert
and the intersect table's own entity set (``opportunitycompetitorscollection``) are not emulated: refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .model import Table
from .odata import ODataError
from .store import not_found

if TYPE_CHECKING:
    from .server import DataverseEmulator
    from .store import Store
    from .writes import Outcome

__all__ = ["ASSOCIATIONS", "Association", "association_of", "read_related", "related_rows"]


@dataclass(frozen=True)
class Association:
    """An N:N relationship between two tables (logical names); pairs are stored ``(first id, second id)``."""

    name: str
    intersect: str
    first: str
    second: str

    def other(self, logical_name: str) -> str:
        return self.second if logical_name == self.first else self.first


ASSOCIATIONS = {
    a.name: a
    for a in (
        Association(
            "opportunitycompetitors_association", "opportunitycompetitors", "opportunity", "competitor"
        ),
    )
}


def association_of(table: Table, name: str) -> Association | None:
    """The N:N whose navigation property ``name`` is on ``table``; None when there is none."""
    association = ASSOCIATIONS.get(name)
    if association is None or table.logical_name not in (association.first, association.second):
        return None
    return association


def related_rows(
    store: Store, association: Association, table: Table, record_id: str
) -> list[dict[str, Any]]:
    """The rows of the other table paired with ``record_id`` (a row of ``table``), ordered by id."""
    pairs = store.associations.get(association.name, set())
    record_id = record_id.lower()
    if table.logical_name == association.first:
        ids = sorted(second for first, second in pairs if first == record_id)
    else:
        ids = sorted(first for first, second in pairs if second == record_id)
    target = store.tables[association.other(table.logical_name)]
    return [row for row_id in ids if (row := store.get(target, row_id)) is not None]


def read_related(
    emulator: DataverseEmulator,
    table: Table,
    segment: str,
    nav_name: str,
    method: str,
    query: dict[str, str],
    headers: dict[str, str],
    authorize: Callable[[str, Table], None],
) -> Outcome:
    """``GET {set}({key})/{nav}`` for a collection-valued (N:N) navigation property."""
    from .queries import query_collection

    association = association_of(table, nav_name)
    if association is None:
        if nav_name in table.navigations:
            raise ODataError(
                f"Reading the single-valued navigation property '{nav_name}' by path is not emulated; "
                f"use $expand={nav_name}.",
                "0x80060888",
                501,
            )
        raise ODataError(f"Resource not found for the segment '{nav_name}'.", "0x8006088a", 404)
    if method != "GET":
        raise ODataError(
            f"The '{method}' method is not supported on '{nav_name}' in this emulator (associate with "
            f"{table.entity_set}(id)/{nav_name}/$ref is not emulated).",
            "0x80060888",
            405,
        )
    target = emulator.store.tables[association.other(table.logical_name)]
    authorize("GET", table)
    authorize("GET", target)
    row, record_id, key = emulator.rows.address(table, segment)
    if row is None:
        raise not_found(table, record_id or ",".join(f"{k}={v}" for k, v in (key or {}).items()))
    rows = related_rows(emulator.store, association, table, row[table.primary_id])
    payload, extra = query_collection(
        emulator, target, query, headers, rows=rows, path=f"{table.entity_set}({segment})/{nav_name}"
    )
    return 200, extra, payload, None
