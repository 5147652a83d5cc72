"""Reading table definitions: ``EntityDefinitions`` and ``Attributes`` with ``$select``, ``$filter``, casts.

Per "Query table definitions using the Web API": metadata queries take ``$select``, ``$filter`` and
``$expand``; ``$filter`` supports ``eq``, ``ne``, ``not``, ``and`` and ``or`` only (no functions, no ordering
comparisons), enum values are written ``Microsoft.Dynamics.CRM.AttributeTypeCode'Picklist'``; the
``Attributes`` collection can be cast to a derived type (``/Attributes/Microsoft.Dynamics.CRM.
PicklistAttributeMetadata``) to reach type-specific properties such as ``OptionSet``. Anything else is a 400.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .model import Column, KeyDef, Table
from .odata import ODataError, parse_filter

__all__ = [
    "TYPE_NAMES",
    "attribute_json",
    "attributes_json",
    "check_query_options",
    "entity_json",
    "filter_and_select",
    "key_json",
    "parse_cast",
]

NS = "Microsoft.Dynamics.CRM."
# AttributeType -> the AttributeMetadata type that describes it.
TYPE_NAMES = {
    "String": "StringAttributeMetadata",
    "Memo": "MemoAttributeMetadata",
    "Integer": "IntegerAttributeMetadata",
    "Decimal": "DecimalAttributeMetadata",
    "Money": "MoneyAttributeMetadata",
    "Picklist": "PicklistAttributeMetadata",
    "State": "StateAttributeMetadata",
    "Status": "StatusAttributeMetadata",
    "Boolean": "BooleanAttributeMetadata",
    "DateTime": "DateTimeAttributeMetadata",
    "Lookup": "LookupAttributeMetadata",
    "Uniqueidentifier": "UniqueIdentifierAttributeMetadata",
}
_WITH_OPTIONS = {"PicklistAttributeMetadata", "StateAttributeMetadata", "StatusAttributeMetadata"}
_METADATA_OPERATORS = frozenset({"eq", "ne", "not", "and", "or"})
# The properties each representation has (what $select and $filter may name).
_PROPERTIES = {
    "EntityMetadata": {
        "MetadataId",
        "LogicalName",
        "SchemaName",
        "EntitySetName",
        "IsActivity",
        "IsCustomEntity",
        "PrimaryIdAttribute",
        "PrimaryNameAttribute",
        "OwnershipType",
        "ActivityTypeMask",
    },
    "EntityKeyMetadata": {"MetadataId", "SchemaName", "LogicalName", "KeyAttributes", "EntityKeyIndexStatus"},
    "AttributeMetadata": {
        "MetadataId",
        "LogicalName",
        "SchemaName",
        "EntityLogicalName",
        "AttributeType",
        "AttributeTypeName",
        "IsPrimaryId",
        "IsPrimaryName",
        "IsCustomAttribute",
        "MaxLength",
    },
}
# Option labels of the standard choice columns the emulator declares (from the tables' reference pages).
_BUILTIN_LABELS: dict[tuple[str, str], dict[int, str]] = {
    ("opportunity", "statuscode"): {1: "In Progress", 2: "On Hold", 3: "Won", 4: "Canceled", 5: "Out-Sold"},
    ("opportunity", "statecode"): {0: "Open", 1: "Won", 2: "Lost"},
    ("account", "statecode"): {0: "Active", 1: "Inactive"},
    ("contact", "statecode"): {0: "Active", 1: "Inactive"},
    ("appointment", "onlinemeetingtype"): {1: "Teams Meeting"},
}
_ACTIVITY_STATES = {0: "Open", 1: "Completed", 2: "Canceled", 3: "Scheduled"}


def check_query_options(query: dict[str, str], allowed: set[str]) -> None:
    for name in query:
        if name not in allowed:
            raise ODataError(
                f"The query parameter {name} is not supported on table definitions; supported: "
                + ", ".join(sorted(allowed))
                + "."
            )


def parse_cast(segment: str) -> str:
    """``Microsoft.Dynamics.CRM.PicklistAttributeMetadata`` -> ``PicklistAttributeMetadata`` (404 otherwise)."""
    name = segment.removeprefix(NS)
    if not segment.startswith(NS) or name not in TYPE_NAMES.values():
        raise ODataError(f"Resource not found for the segment '{segment}'.", "0x8006088a", 404)
    return name


def entity_json(table: Table) -> dict[str, Any]:
    return {
        "MetadataId": table.metadata_id,
        "LogicalName": table.logical_name,
        "SchemaName": table.definition.get("SchemaName", table.logical_name),
        "EntitySetName": table.entity_set,
        "IsActivity": table.is_activity,
        "IsCustomEntity": table.is_custom,
        "PrimaryIdAttribute": table.primary_id,
        "PrimaryNameAttribute": table.primary_name,
        "OwnershipType": table.definition.get("OwnershipType", "UserOwned"),
        "ActivityTypeMask": table.definition.get("ActivityTypeMask"),
    }


def _labels(table: Table, column: Column) -> dict[int, str]:
    declared = (column.definition.get("OptionSet") or {}).get("Options") or []
    labels: dict[int, str] = {}
    for option in declared:
        localized = (option.get("Label") or {}).get("LocalizedLabels") or []
        if localized:
            labels[option["Value"]] = str(localized[0].get("Label", ""))
    if column.type == "State" and table.is_activity:
        return _ACTIVITY_STATES
    return labels or _BUILTIN_LABELS.get((table.logical_name, column.name), {})


def _option_set(table: Table, column: Column) -> dict[str, Any]:
    labels = _labels(table, column)
    options = []
    for value in column.options:
        text = labels.get(value)
        label = {"LocalizedLabels": [{"Label": text, "LanguageCode": 1033}] if text else []}
        options.append(
            {"Value": value, "Label": {**label, "UserLocalizedLabel": label["LocalizedLabels"][:1]}}
        )
    return {"MetadataId": f"{column.metadata_id[:-4]}0501", "IsGlobal": False, "Options": options}


def attribute_json(table: Table, column: Column, *, with_option_set: bool = False) -> dict[str, Any]:
    type_name = TYPE_NAMES.get(column.type, "AttributeMetadata")
    result: dict[str, Any] = {
        "@odata.type": f"#{NS}{type_name}",
        "MetadataId": column.metadata_id,
        "LogicalName": column.name,
        "SchemaName": column.definition.get("SchemaName", column.name),
        "EntityLogicalName": table.logical_name,
        "AttributeType": column.type,
        "AttributeTypeName": {"Value": type_name.removesuffix("AttributeMetadata") + "Type"},
        "IsPrimaryId": column.name == table.primary_id,
        "IsPrimaryName": column.name == table.primary_name,
        "IsCustomAttribute": bool(column.definition),
        "MaxLength": column.max_length,
    }
    if with_option_set and type_name in _WITH_OPTIONS:
        result["OptionSet"] = _option_set(table, column)
    return result


def key_json(key: KeyDef) -> dict[str, Any]:
    return {
        "MetadataId": key.metadata_id,
        "SchemaName": key.schema_name,
        "LogicalName": key.schema_name.lower(),
        "KeyAttributes": list(key.attributes),
        "EntityKeyIndexStatus": key.status,
    }


def _expand(query: dict[str, str], cast: str | None) -> bool:
    """Whether ``$expand=OptionSet[($select=Options)]`` was asked (only valid on a cast with options)."""
    text = query.get("$expand")
    if text is None:
        return False
    match = re.fullmatch(r"\s*OptionSet\s*(?:\(\s*\$select=([A-Za-z,]+)\s*\))?\s*", text)
    if not match or cast not in _WITH_OPTIONS:
        on = f"{NS}{cast}" if cast else f"{NS}AttributeMetadata"
        raise ODataError(f"Could not find a navigation property for '$expand={text}' on type '{on}'.")
    if match.group(1) and set(match.group(1).split(",")) - {"Options", "MetadataId", "IsGlobal"}:
        raise ODataError(f"Could not find a property in '$expand={text}' on type '{NS}OptionSetMetadata'.")
    return True


def filter_and_select(
    items: list[dict[str, Any]], query: dict[str, str], type_name: str, *, keep: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """Apply a metadata ``$filter`` (eq/ne/not/and/or) and ``$select`` to representations of ``type_name``."""
    known = _PROPERTIES.get(type_name, _PROPERTIES["AttributeMetadata"])

    def check(name: str) -> None:
        if name not in known:
            raise ODataError(f"Could not find a property named '{name}' on type '{NS}{type_name}'.")

    text = query.get("$filter")
    if text is not None:
        predicate: Callable[[dict[str, Any]], bool] = parse_filter(text, check, operators=_METADATA_OPERATORS)
        items = [item for item in items if predicate(item)]
    select = query.get("$select")
    if select:
        names = select.split(",")
        for name in names:
            check(name)
        always = {"MetadataId", "@odata.type", *keep}
        items = [{k: v for k, v in item.items() if k in names or k in always} for item in items]
    return items


def attributes_json(table: Table, query: dict[str, str], cast: str | None) -> list[dict[str, Any]]:
    """The (optionally cast) ``Attributes`` collection of ``table`` after ``$filter``/``$select``/``$expand``."""
    check_query_options(query, {"$select", "$filter", "$expand"})
    with_options = _expand(query, cast)
    columns = [c for c in table.columns.values() if cast is None or TYPE_NAMES.get(c.type) == cast]
    items = [attribute_json(table, c, with_option_set=with_options) for c in columns]
    keep = ("OptionSet",) if with_options else ()
    return filter_and_select(items, query, cast or "AttributeMetadata", keep=keep)
