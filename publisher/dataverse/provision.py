"""``dealtalk dataverse provision``: create the call-insights activity table (metadata API), idempotently.

Steps (each skipped when already done, so a second run changes nothing):

1. the table, a custom activity (``IsActivity``) with ``Subject`` as its primary column, so its rows show
   on the timeline of the record they regard;
2. its columns from the table definition (``deploy/dataverse/call_insights.table.json``);
3. the alternate key on the recording-id column, then a wait until Dataverse has built its index (keys go
   Pending -> Active, or Failed when existing rows collide);
4. ``PublishXml`` for the table when anything was created, so the apps show it.

Bodies follow "Create and update table definitions using the Web API" and "...column definitions...".
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Literal

from dealtalk.contracts.errors import ConfigurationError
from dealtalk.publisher.dataverse.client import DataverseClient
from dealtalk.publisher.request import DataverseRequest, odata_string
from dealtalk.publisher.schema import ActivitySchema, ColumnDef

__all__ = ["ProvisionStep", "attribute_body", "provision", "table_body"]

logger = logging.getLogger(__name__)

_NS = "Microsoft.Dynamics.CRM."
_LANGUAGE = 1033
_REQUIRED_NONE = {
    "Value": "None",
    "CanBeChanged": True,
    "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings",
}


@dataclass(frozen=True, slots=True)
class ProvisionStep:
    """What provisioning did to one piece: created it, found it present, or the key's final state."""

    item: str
    outcome: Literal["created", "present", "active", "pending", "failed"]


def _label(text: str) -> dict[str, Any]:
    return {
        "@odata.type": _NS + "Label",
        "LocalizedLabels": [
            {"@odata.type": _NS + "LocalizedLabel", "Label": text, "LanguageCode": _LANGUAGE}
        ],
    }


def table_body(schema: ActivitySchema) -> dict[str, Any]:
    """The ``EntityMetadata`` of the call-insights activity table."""
    table = schema.definition.table
    return {
        "@odata.type": _NS + "EntityMetadata",
        "SchemaName": schema.logical_name,
        "EntitySetName": schema.entity_set,
        "DisplayName": _label(table.display_name),
        "DisplayCollectionName": _label(table.display_collection_name),
        "Description": _label(table.description),
        "OwnershipType": table.ownership_type,
        # The rules for custom activities ("Custom activities in Dataverse").
        "IsActivity": True,
        "HasActivities": False,
        "HasNotes": True,
        "IsAvailableOffline": True,
        "IsMailMergeEnabled": False,
        "ActivityTypeMask": table.activity_type_mask,
        "Attributes": [
            {
                "@odata.type": _NS + "StringAttributeMetadata",
                "SchemaName": "Subject",
                "AttributeType": "String",
                "AttributeTypeName": {"Value": "StringType"},
                "FormatName": {"Value": "Text"},
                "MaxLength": table.subject_max_length,
                "RequiredLevel": _REQUIRED_NONE,
                "DisplayName": _label("Subject"),
                "Description": _label("What the call was about."),
                "IsPrimaryName": True,
            }
        ],
    }


def attribute_body(schema: ActivitySchema, column: ColumnDef) -> dict[str, Any]:
    """The ``AttributeMetadata`` of one column of the definition."""
    body: dict[str, Any] = {
        "SchemaName": schema.column(column.suffix),
        "AttributeType": column.type,
        "AttributeTypeName": {"Value": f"{column.type}Type"},
        "DisplayName": _label(column.label),
        "Description": _label(column.description or column.label),
        "RequiredLevel": _REQUIRED_NONE,
    }
    if column.type == "String":
        body |= {
            "@odata.type": _NS + "StringAttributeMetadata",
            "MaxLength": column.max_length,
            "FormatName": {"Value": column.format},
        }
    elif column.type == "Memo":
        body |= {
            "@odata.type": _NS + "MemoAttributeMetadata",
            "MaxLength": column.max_length,
            "Format": "TextArea",
            "ImeMode": "Disabled",
            "IsLocalizable": False,
        }
    elif column.type == "Integer":
        body |= {
            "@odata.type": _NS + "IntegerAttributeMetadata",
            "MinValue": int(column.min_value or 0),
            "MaxValue": int(column.max_value or 2147483647),
            "Format": "None",
        }
    elif column.type == "Decimal":
        body |= {
            "@odata.type": _NS + "DecimalAttributeMetadata",
            "MinValue": column.min_value,
            "MaxValue": column.max_value,
            "Precision": column.precision,
        }
    else:  # Picklist
        body |= {
            "@odata.type": _NS + "PicklistAttributeMetadata",
            "OptionSet": {
                "@odata.type": _NS + "OptionSetMetadata",
                "IsGlobal": False,
                "OptionSetType": "Picklist",
                "Options": [{"Value": o.value, "Label": _label(o.label)} for o in column.options],
            },
        }
    return body


def provision(
    client: DataverseClient,
    schema: ActivitySchema,
    *,
    solution: str = "",
    wait_for_key_s: float = 120.0,
    poll_s: float = 2.0,
) -> list[ProvisionStep]:
    """Create whatever of the call-insights table is missing; return what was done, step by step.

    Raises:
        ConfigurationError: a table of that name exists but is not an activity, or has another entity set.
        InvalidInput / TransientError: Dataverse refused a definition or is failing.
    """
    headers = {"MSCRM.SolutionUniqueName": solution} if solution else {}
    table_path = f"EntityDefinitions(LogicalName={odata_string(schema.logical_name)})"
    steps: list[ProvisionStep] = []
    existing = client.send(
        DataverseRequest(
            "GET",
            f"{table_path}?$select=MetadataId,LogicalName,EntitySetName,IsActivity",
            purpose="read the table definition",
        ),
        allow_not_found=True,
    )
    if existing is None:
        client.send(
            DataverseRequest(
                "POST", "EntityDefinitions", table_body(schema), headers, "create the call-insights table"
            )
        )
        steps.append(ProvisionStep(f"table {schema.logical_name}", "created"))
    else:
        body = existing.body or {}
        if body.get("IsActivity") is not True or body.get("EntitySetName") != schema.entity_set:
            raise ConfigurationError(
                f"table {schema.logical_name} exists but is not the call-insights activity (IsActivity="
                f"{body.get('IsActivity')}, EntitySetName={body.get('EntitySetName')}); choose other names "
                "with "
                "DEALTALK_PUBLISHER__ACTIVITY_LOGICAL_NAME / __ACTIVITY_ENTITY_SET"
            )
        steps.append(ProvisionStep(f"table {schema.logical_name}", "present"))
    attributes = client.send(
        DataverseRequest(
            "GET", f"{table_path}/Attributes?$select=LogicalName", purpose="list the table's columns"
        )
    )
    assert attributes is not None
    present = {a["LogicalName"] for a in attributes.body.get("value", [])}
    for column in schema.definition.columns:
        name = schema.column(column.suffix)
        if name in present:
            steps.append(ProvisionStep(f"column {name}", "present"))
            continue
        client.send(
            DataverseRequest(
                "POST",
                f"{table_path}/Attributes",
                attribute_body(schema, column),
                headers,
                f"create column {name}",
            )
        )
        steps.append(ProvisionStep(f"column {name}", "created"))
    steps.append(_ensure_key(client, schema, table_path, headers, wait_for_key_s, poll_s))
    if any(step.outcome == "created" for step in steps):
        xml = (
            f"<importexportxml><entities><entity>{schema.logical_name}</entity></entities></importexportxml>"
        )
        client.send(
            DataverseRequest(
                "POST", "PublishXml", {"ParameterXml": xml}, purpose="publish the customizations"
            )
        )
    logger.info("provisioned %s: %s", schema.logical_name, ", ".join(f"{s.item}={s.outcome}" for s in steps))
    return steps


def _key_status(client: DataverseClient, table_path: str, key_column: str) -> str | None:
    keys = client.send(
        DataverseRequest(
            "GET",
            f"{table_path}/Keys?$select=SchemaName,KeyAttributes,EntityKeyIndexStatus",
            purpose="list the table's keys",
        )
    )
    assert keys is not None
    for key in keys.body.get("value", []):
        if key.get("KeyAttributes") == [key_column]:
            return str(key.get("EntityKeyIndexStatus"))
    return None


def _ensure_key(
    client: DataverseClient,
    schema: ActivitySchema,
    table_path: str,
    headers: dict[str, str],
    wait_s: float,
    poll_s: float,
) -> ProvisionStep:
    item = f"key {schema.key_name} on {schema.key_column}"
    status = _key_status(client, table_path, schema.key_column)
    created = status is None
    if created:
        body = {
            "@odata.type": _NS + "EntityKeyMetadata",
            "SchemaName": schema.key_name,
            "DisplayName": _label(schema.definition.key.display_name),
            "KeyAttributes": [schema.key_column],
        }
        client.send(
            DataverseRequest(
                "POST", f"{table_path}/Keys", body, headers, "create the recording-id alternate key"
            )
        )
    deadline = time.monotonic() + wait_s
    while status not in ("Active", "Failed") and time.monotonic() < deadline:
        time.sleep(poll_s if status is not None else 0)
        status = _key_status(client, table_path, schema.key_column)
    if status == "Failed":
        raise ConfigurationError(
            f"Dataverse could not build the index of {item}: rows with duplicate recording ids exist. Remove "
            "the "
            "duplicates, then reactivate the key (ReactivateEntityKey) or delete it and provision again"
        )
    if status == "Active":
        return ProvisionStep(item, "created" if created else "active")
    return ProvisionStep(item, "pending")
