"""The bulk messages of the Dataverse emulator: ``CreateMultiple``, ``UpdateMultiple``, ``UpsertMultiple``.

Per "Use bulk operation messages" and the CreateMultiple/UpdateMultiple/UpsertMultiple action pages:
``POST {set}/Microsoft.Dynamics.CRM.<Message>`` with ``{"Targets": [...]}``; every target carries
``@odata.type`` ``Microsoft.Dynamics.CRM.<table>`` of the bound table; UpdateMultiple targets carry the primary
key; UpsertMultiple targets name their row with ``@odata.id`` (``accounts(accountnumber='A-1')``) or the
primary key. The message is one transaction: any failing target rolls back all of them and answers that
target's error. CreateMultiple and UpsertMultiple answer 200 with ``Ids``; UpdateMultiple answers 204.
"""

from __future__ import annotations

import re
from typing import Any

from .model import Table
from .odata import ODataError
from .records import WriteContext
from .writes import Authorize, Outcome, RowApi

__all__ = ["BULK_MESSAGES", "run_bulk"]

BULK_MESSAGES = ("CreateMultiple", "UpdateMultiple", "UpsertMultiple")
_ODATA_ID = re.compile(r"^(?:.*/)?([A-Za-z_][A-Za-z0-9_]*)\((.+)\)$")


def _targets(table: Table, body: Any, message: str) -> list[dict[str, Any]]:
    targets = body.get("Targets") if isinstance(body, dict) else None
    if not isinstance(targets, list) or not targets or not all(isinstance(t, dict) for t in targets):
        raise ODataError(f"{message} needs a non-empty 'Targets' array of {table.logical_name} records.")
    if set(body) - {"Targets"}:
        raise ODataError(f"{message} has no parameter '{sorted(set(body) - {'Targets'})[0]}'.")
    wanted = f"Microsoft.Dynamics.CRM.{table.logical_name}"
    for target in targets:
        if str(target.get("@odata.type", "")).lstrip("#") != wanted:
            raise ODataError(
                f'Each target of {message} must carry "@odata.type": "{wanted}" (the bound table\'s type).',
                "0x80048d19",
            )
    return targets


def run_bulk(
    rows: RowApi, table: Table, message: str, body: Any, ctx: WriteContext, authorize: Authorize
) -> Outcome:
    if table.read_only:
        raise ODataError(f"The {message} message is not supported on entity '{table.logical_name}'.", "", 405)
    targets = _targets(table, body, message)
    snapshot = rows.store.snapshot()
    ids: list[str] = []
    try:
        for target in targets:
            record = {k: v for k, v in target.items() if k not in ("@odata.type", "@odata.id")}
            if message == "CreateMultiple":
                authorize("POST", table)
                _, _, _, written = rows.create(table, record, {}, {}, ctx)
            else:
                written = _update_or_upsert(rows, table, message, target, record, ctx, authorize)
            assert written is not None
            ids.append(written[1])
    except ODataError:
        rows.store.restore(snapshot)  # one transaction: nothing of the message stays
        raise
    if message == "UpdateMultiple":
        return 204, {}, None, None
    context = f"{rows.api_root}$metadata#Microsoft.Dynamics.CRM.{message}Response"
    return 200, {}, {"@odata.context": context, "Ids": ids}, None


def _update_or_upsert(
    rows: RowApi,
    table: Table,
    message: str,
    target: dict[str, Any],
    record: dict[str, Any],
    ctx: WriteContext,
    authorize: Authorize,
) -> tuple[Table, str] | None:
    reference = target.get("@odata.id")
    if isinstance(reference, str) and message == "UpsertMultiple":
        match = _ODATA_ID.match(reference)
        if not match or match.group(1) != table.entity_set:
            raise ODataError(f"The @odata.id '{reference}' does not address a {table.logical_name} row.")
        segment = match.group(2)
    elif isinstance(record.get(table.primary_id), str):
        segment = record[table.primary_id]
    else:
        raise ODataError(
            f"Each target of {message} must identify its row"
            + (" with @odata.id or" if message == "UpsertMultiple" else " with")
            + f" the primary key '{table.primary_id}'."
        )
    row, record_id, key = rows.address(table, segment)
    if row is None and message == "UpdateMultiple":
        raise ODataError(f"{table.logical_name} With Id = {segment} Does Not Exist", "0x80040217", 404)
    authorize("PATCH" if row is not None else "POST", table)
    if row is not None:
        record = {k: v for k, v in record.items() if k != table.primary_id}
    return rows.write(table, row, record_id, key, record, {}, {}, ctx, {})[3]
