"""The metadata API of the Dataverse emulator: ``EntityDefinitions``, their ``Attributes`` and ``Keys``.

It enforces Microsoft's rules for custom activity tables (``IsActivity``, a primary ``Subject`` column, no
``HasActivities``, no mail merge, user/team ownership), the attribute types dealtalk creates, and alternate
keys that start ``Pending`` and become ``Active`` (or ``Failed`` when existing rows break uniqueness) after
an indexing delay. Only custom *activity* tables can be created here; other tables answer 501.
"""

from __future__ import annotations

import re
import time
from typing import Any

from .model import Column, KeyDef, Table, activity_table
from .odata import ODataError, parse_key_segment
from .store import Store

__all__ = ["MetadataApi"]

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


class MetadataApi:
    """Handles requests under ``EntityDefinitions`` and the ``PublishXml`` action."""

    def __init__(
        self, store: Store, *, key_activation_s: float = 0.2, allow_create_tables: bool = True
    ) -> None:
        self.store = store
        self.key_activation_s = key_activation_s
        self.allow_create_tables = allow_create_tables
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
            values = tuple(str(row.get(a, "")).lower() for a in key.attributes)
            if values in seen:
                return False
            seen.add(values)
        return True

    # --- routing ---------------------------------------------------------------------------------------
    def handle(
        self, method: str, segments: list[str], body: Any, query: dict[str, str], root: str
    ) -> tuple[int, Any, dict[str, str]]:
        """Returns (status, JSON body or None, extra headers)."""
        self.refresh_keys()
        head = segments[0]
        if head == "PublishXml":
            return self._publish(method, body)
        if head == "EntityDefinitions":
            if len(segments) != 1:
                raise ODataError("Unsupported metadata path.", "0x8006088a", 404)
            if method == "GET":
                return 200, {"value": [self._entity_json(t, query) for t in self._filtered(query)]}, {}
            if method == "POST":
                return self._create_table(body, root)
            raise ODataError(
                "The requested method is not allowed on the EntityDefinitions collection.", "0x80060888", 405
            )
        table = self._table_from_segment(head)
        if len(segments) == 1:
            if method == "GET":
                return 200, self._entity_json(table, query), {}
            raise ODataError(
                "Table definitions are updated with PUT of the full definition; this emulator reads them.",
                "0x80060888",
                405,
            )
        child = segments[1]
        if child == "Attributes" and len(segments) == 2:
            if method == "GET":
                return 200, {"value": [self._attribute_json(c) for c in table.columns.values()]}, {}
            if method == "POST":
                return self._create_attribute(table, body, root)
        if child.startswith("Attributes(") and method == "GET":
            wanted = parse_key_segment(child[len("Attributes(") : -1])
            for column in table.columns.values():
                if wanted in (column.metadata_id, {"LogicalName": column.name}):
                    return 200, self._attribute_json(column), {}
            raise ODataError(f"Could not find attribute {wanted} on {table.logical_name}.", "0x80060888", 404)
        if child == "Keys" and len(segments) == 2:
            if method == "GET":
                return 200, {"value": [self._key_json(k) for k in table.keys.values()]}, {}
            if method == "POST":
                return self._create_key(table, body, root)
        if child.startswith("Keys(") and method in ("GET", "DELETE"):
            wanted = parse_key_segment(child[len("Keys(") : -1])
            for name, key in list(table.keys.items()):
                if wanted in (key.metadata_id, {"LogicalName": key.schema_name.lower()}):
                    if method == "DELETE":
                        del table.keys[name]
                        return 204, None, {}
                    return 200, self._key_json(key), {}
            raise ODataError(f"Could not find key {wanted} on {table.logical_name}.", "0x80060888", 404)
        raise ODataError(
            f"No HTTP resource was found that matches the request URI for {method} {child}.", "", 404
        )

    def _filtered(self, query: dict[str, str]) -> list[Table]:
        tables = list(self.store.tables.values())
        text = query.get("$filter")
        if text:
            match = re.fullmatch(r"\s*LogicalName eq '([a-z0-9_]+)'\s*", text)
            if not match:
                raise ODataError(
                    f"Only LogicalName eq '...' is supported in $filter on EntityDefinitions, got '{text}'."
                )
            tables = [t for t in tables if t.logical_name == match.group(1)]
        return tables

    def _table_from_segment(self, segment: str) -> Table:
        match = re.fullmatch(r"EntityDefinitions\((.*)\)", segment)
        if not match:
            raise ODataError(f"Resource not found for the segment '{segment}'.", "0x8006088a", 404)
        key = parse_key_segment(match.group(1))
        for table in self.store.tables.values():
            if key in (table.metadata_id, {"LogicalName": table.logical_name}):
                return table
        raise ODataError(f"Could not find a table with {match.group(1)}.", "0x80060888", 404)

    # --- representations -------------------------------------------------------------------------------
    def _entity_json(self, table: Table, query: dict[str, str]) -> dict[str, Any]:
        full = {
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
        select = query.get("$select")
        if select:
            names = select.split(",")
            unknown = [n for n in names if n not in full]
            if unknown:
                raise ODataError(
                    f"Could not find a property named '{unknown[0]}' on type "
                    "'Microsoft.Dynamics.CRM.EntityMetadata'."
                )
            full = {n: full[n] for n in names}
        return full

    @staticmethod
    def _attribute_json(column: Column) -> dict[str, Any]:
        return {
            "MetadataId": column.metadata_id,
            "LogicalName": column.name,
            "SchemaName": column.definition.get("SchemaName", column.name),
            "AttributeType": column.type,
            "MaxLength": column.max_length,
        }

    @staticmethod
    def _key_json(key: KeyDef) -> dict[str, Any]:
        return {
            "MetadataId": key.metadata_id,
            "SchemaName": key.schema_name,
            "LogicalName": key.schema_name.lower(),
            "KeyAttributes": list(key.attributes),
            "EntityKeyIndexStatus": key.status,
        }

    # --- creation --------------------------------------------------------------------------------------
    def _create_table(self, body: Any, root: str) -> tuple[int, Any, dict[str, str]]:
        if not self.allow_create_tables:
            raise ODataError(
                "Principal user is missing prvCreateEntity privilege (Id=…) on OTC=1 for entity 'entity'.",
                "0x80040220",
                403,
            )
        if not isinstance(body, dict) or body.get("@odata.type") != _NS + "EntityMetadata":
            raise ODataError("The body must be a Microsoft.Dynamics.CRM.EntityMetadata object.")
        schema = body.get("SchemaName", "")
        if not isinstance(schema, str) or not _SCHEMA_NAME.match(schema):
            raise ODataError(
                f"SchemaName '{schema}' must start with a customization prefix and an underscore."
            )
        logical = schema.lower()
        if logical in self.store.tables:
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
                raise ODataError(
                    f"A custom activity table must be created with {name} = {str(wanted).lower()}."
                )
        if body.get("OwnershipType") not in ("UserOwned", "TeamOwned"):
            raise ODataError("A custom activity table must be UserOwned or TeamOwned.")
        if body.get("ActivityTypeMask", 1) not in (0, 1):
            raise ODataError("ActivityTypeMask must be 0 or 1.")
        primaries = [
            a for a in body.get("Attributes") or [] if isinstance(a, dict) and a.get("IsPrimaryName")
        ]
        if len(primaries) != 1 or primaries[0].get("@odata.type") != _NS + "StringAttributeMetadata":
            raise ODataError("Attributes must contain exactly one primary name StringAttributeMetadata.")
        if primaries[0].get("SchemaName") != "Subject":
            raise ODataError("The primary attribute of an activity table must have SchemaName 'Subject'.")
        max_length = primaries[0].get("MaxLength")
        if not isinstance(max_length, int) or not 1 <= max_length <= 4000:
            raise ODataError("The primary attribute needs a MaxLength between 1 and 4000.")
        entity_set = body.get("EntitySetName") or (logical + ("es" if logical.endswith("s") else "s"))
        if any(t.entity_set == entity_set for t in self.store.tables.values()):
            raise ODataError(f"The EntitySetName '{entity_set}' is already in use.")
        table = activity_table(logical, entity_set, subject_max=max_length, custom=True, masks=None)
        table.definition = {k: v for k, v in body.items() if k != "Attributes"}
        self.store.add_table(table)
        return 204, None, {"OData-EntityId": f"{root}EntityDefinitions({table.metadata_id})"}

    def _create_attribute(self, table: Table, body: Any, root: str) -> tuple[int, Any, dict[str, str]]:
        kind = str(body.get("@odata.type", "")).removeprefix(_NS) if isinstance(body, dict) else ""
        if kind not in _ATTRIBUTE_TYPES:
            raise ODataError(f"Unsupported attribute @odata.type '{kind}'.")
        schema = body.get("SchemaName", "")
        if not isinstance(schema, str) or not _SCHEMA_NAME.match(schema):
            raise ODataError(
                f"SchemaName '{schema}' must start with a customization prefix and an underscore."
            )
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
                raise ODataError(
                    "A PicklistAttributeMetadata needs an OptionSet with Options (Value, Label)."
                )
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

    def _create_key(self, table: Table, body: Any, root: str) -> tuple[int, Any, dict[str, str]]:
        if not isinstance(body, dict) or body.get("@odata.type") != _NS + "EntityKeyMetadata":
            raise ODataError("The body must be a Microsoft.Dynamics.CRM.EntityKeyMetadata object.")
        schema = body.get("SchemaName", "")
        if not isinstance(schema, str) or not _SCHEMA_NAME.match(schema):
            raise ODataError(
                f"SchemaName '{schema}' must start with a customization prefix and an underscore."
            )
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
        self._key_created[key.metadata_id] = time.monotonic()
        return (
            204,
            None,
            {"OData-EntityId": f"{root}EntityDefinitions({table.metadata_id})/Keys({key.metadata_id})"},
        )

    def _publish(self, method: str, body: Any) -> tuple[int, Any, dict[str, str]]:
        if method != "POST":
            raise ODataError("No HTTP resource was found that matches the request URI 'PublishXml'.", "", 404)
        xml = body.get("ParameterXml") if isinstance(body, dict) else None
        if not isinstance(xml, str) or "<importexportxml>" not in xml:
            raise ODataError("PublishXml needs a ParameterXml string with an <importexportxml> document.")
        self.published.append(xml)
        return 204, None, {}
