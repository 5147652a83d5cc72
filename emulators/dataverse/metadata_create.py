"""Creating table definitions: custom activity tables, their columns and alternate keys.

Per "Create and update table definitions using the Web API", "Create and update column definitions" and
"Define alternate keys": Microsoft's rules for custom *activity* tables (``IsActivity``, a primary
``Subject`` column, no ``HasActivities``, no mail merge, user/team ownership), the attribute types dealtalk
creates, and alternate keys (the ``@odata.type`` of a key is optional: the ``Keys`` collection implies
``EntityKeyMetadata``). Other kinds of table answer 501.
"""

from __future__ import annotations

import re
from typing import Any

from .model import Column, KeyDef, Table, activity_table
from .odata import ODataError
from .store import Store

__all__ = ["create_attribute", "create_key", "create_table"]

_NS = "Microsoft.Dynamics.CRM."
_ATTRIBUTE_TYPES = {
    "StringAttributeMetadata": "String",
    "MemoAttributeMetadata": "Memo",
    "IntegerAttributeMetadata": "Integer",
    "DecimalAttributeMetadata": "Decimal",
    "MoneyAttributeMetadata": "Money",
    "PicklistAttributeMetadata": "Picklist",
    "BooleanAttributeMetadata": "Boolean",
    "DateTimeAttributeMetadata": "DateTime",
}
_KEYABLE = {"String", "Integer", "Decimal", "DateTime", "Lookup", "Picklist"}
_SCHEMA_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{1,7}_[A-Za-z0-9_]{1,40}$")


def _require_label(body: dict[str, Any], name: str) -> None:
    label = body.get(name)
    labels = label.get("LocalizedLabels") if isinstance(label, dict) else None
    if not labels or not all(
        isinstance(item, dict) and item.get("Label") and item.get("LanguageCode") for item in labels
    ):
        raise ODataError(f"{name} must be a Label with at least one LocalizedLabel (Label, LanguageCode).")


def create_table(store: Store, body: Any, root: str) -> tuple[int, Any, dict[str, str]]:
    if not isinstance(body, dict) or body.get("@odata.type") != _NS + "EntityMetadata":
        raise ODataError("The body must be a Microsoft.Dynamics.CRM.EntityMetadata object.")
    schema = body.get("SchemaName", "")
    if not isinstance(schema, str) or not _SCHEMA_NAME.match(schema):
        raise ODataError(f"SchemaName '{schema}' must start with a customization prefix and an underscore.")
    logical = schema.lower()
    if logical in store.tables:
        raise ODataError(
            "An entity with the specified name already exists. Please specify a unique name.",
            "0x80047013",
        )
    for label in ("DisplayName", "DisplayCollectionName"):
        _require_label(body, label)
    if body.get("IsActivity") is not True:
        raise ODataError(
            "This emulator creates custom activity tables only (IsActivity true).", "0x80060888", 501
        )
    rules = {
        "HasActivities": False,
        "IsMailMergeEnabled": False,
        "HasNotes": True,
        "IsAvailableOffline": True,
    }
    for name, wanted in rules.items():
        if body.get(name) is not wanted:
            raise ODataError(f"A custom activity table must be created with {name} = {str(wanted).lower()}.")
    if body.get("OwnershipType") not in ("UserOwned", "TeamOwned"):
        raise ODataError("A custom activity table must be UserOwned or TeamOwned.")
    if body.get("ActivityTypeMask", 1) not in (0, 1):
        raise ODataError("ActivityTypeMask must be 0 or 1.")
    primaries = [a for a in body.get("Attributes") or [] if isinstance(a, dict) and a.get("IsPrimaryName")]
    if len(primaries) != 1 or primaries[0].get("@odata.type") != _NS + "StringAttributeMetadata":
        raise ODataError("Attributes must contain exactly one primary name StringAttributeMetadata.")
    if primaries[0].get("SchemaName") != "Subject":
        raise ODataError("The primary attribute of an activity table must have SchemaName 'Subject'.")
    max_length = primaries[0].get("MaxLength")
    if not isinstance(max_length, int) or not 1 <= max_length <= 4000:
        raise ODataError("The primary attribute needs a MaxLength between 1 and 4000.")
    entity_set = body.get("EntitySetName") or (logical + ("es" if logical.endswith("s") else "s"))
    if any(t.entity_set == entity_set for t in store.tables.values()):
        raise ODataError(f"The EntitySetName '{entity_set}' is already in use.")
    table = activity_table(logical, entity_set, subject_max=max_length, custom=True, masks=None)
    table.definition = {k: v for k, v in body.items() if k != "Attributes"}
    store.add_table(table)
    return 204, None, {"OData-EntityId": f"{root}EntityDefinitions({table.metadata_id})"}


def create_attribute(table: Table, body: Any, root: str) -> tuple[int, Any, dict[str, str]]:
    kind = str(body.get("@odata.type", "")).removeprefix(_NS) if isinstance(body, dict) else ""
    if kind not in _ATTRIBUTE_TYPES:
        raise ODataError(f"Unsupported attribute @odata.type '{kind}'.")
    schema = body.get("SchemaName", "")
    if not isinstance(schema, str) or not _SCHEMA_NAME.match(schema):
        raise ODataError(f"SchemaName '{schema}' must start with a customization prefix and an underscore.")
    logical = schema.lower()
    if logical in table.columns:
        raise ODataError(
            f"An attribute with the name '{logical}' already exists on '{table.logical_name}'.",
            "0x80047013",
        )
    type_ = _ATTRIBUTE_TYPES[kind]
    if body.get("AttributeType") != type_:
        raise ODataError(f"AttributeType must be '{type_}' for a {kind}.")
    _require_label(body, "DisplayName")
    if not isinstance(body.get("RequiredLevel"), dict) or "Value" not in body["RequiredLevel"]:
        raise ODataError("RequiredLevel must be an object with a Value.")
    column = Column(logical, type_, definition=dict(body))
    if type_ in ("String", "Memo"):
        limit = 4000 if type_ == "String" else 1048576
        length = body.get("MaxLength")
        if not isinstance(length, int) or not 1 <= length <= limit:
            raise ODataError(f"MaxLength must be between 1 and {limit} for a {kind}.")
        column.max_length = length
    elif type_ in ("Integer", "Decimal", "Money"):
        low, high = body.get("MinValue"), body.get("MaxValue")
        if not all(isinstance(v, int | float) for v in (low, high)) or low > high:
            raise ODataError("MinValue and MaxValue must be numbers with MinValue <= MaxValue.")
        column.min_value, column.max_value = low, high
        if type_ == "Decimal":
            precision = body.get("Precision")
            if not isinstance(precision, int) or not 0 <= precision <= 10:
                raise ODataError("Precision must be between 0 and 10.")
            column.precision = precision
    elif type_ == "Picklist":
        options = (body.get("OptionSet") or {}).get("Options")
        if not options or not all(isinstance(o.get("Value"), int) and o.get("Label") for o in options):
            raise ODataError("A PicklistAttributeMetadata needs an OptionSet with Options (Value, Label).")
        column.options = tuple(o["Value"] for o in options)
    table.columns[logical] = column
    return (
        204,
        None,
        {
            "OData-EntityId": (
                f"{root}EntityDefinitions({table.metadata_id})/Attributes({column.metadata_id})"
            )
        },
    )


def create_key(table: Table, body: Any, root: str) -> tuple[KeyDef, dict[str, str]]:
    if (
        not isinstance(body, dict)
        or body.get("@odata.type", _NS + "EntityKeyMetadata") != _NS + "EntityKeyMetadata"
    ):
        raise ODataError("The body must be a Microsoft.Dynamics.CRM.EntityKeyMetadata object.")
    schema = body.get("SchemaName", "")
    if not isinstance(schema, str) or not _SCHEMA_NAME.match(schema):
        raise ODataError(f"SchemaName '{schema}' must start with a customization prefix and an underscore.")
    _require_label(body, "DisplayName")
    attributes = body.get("KeyAttributes")
    if not isinstance(attributes, list) or not 1 <= len(attributes) <= 16:
        raise ODataError("KeyAttributes must list 1 to 16 column logical names.")
    for name in attributes:
        column = table.columns.get(name)
        if column is None or column.type not in _KEYABLE:
            raise ODataError(
                f"'{name}' cannot be part of a key: it is missing or of a type keys do not support."
            )
    if len(table.keys) >= 10:
        raise ODataError("A table can have at most 10 alternate keys.")
    if schema in table.keys or any(set(k.attributes) == set(attributes) for k in table.keys.values()):
        raise ODataError("A key with the same name or the same columns already exists.", "0x80047013")
    key = KeyDef(schema, tuple(attributes), definition=dict(body))
    table.keys[schema] = key
    return key, {"OData-EntityId": f"{root}EntityDefinitions({table.metadata_id})/Keys({key.metadata_id})"}
