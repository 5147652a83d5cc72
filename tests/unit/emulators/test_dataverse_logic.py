"""Pure pieces of the Dataverse emulator: metadata filters, the privilege model, ordering, bulk targets."""

from __future__ import annotations

import pytest

from dealtalk.emulators.dataverse.metadata_read import attributes_json, entity_json, filter_and_select
from dealtalk.emulators.dataverse.model import builtin_tables
from dealtalk.emulators.dataverse.odata import ODataError, parse_filter
from dealtalk.emulators.dataverse.queries import _sort_key
from dealtalk.emulators.dataverse.security import (
    DEALTALK_ROLE,
    SYSTEM_ADMINISTRATOR,
    privilege_for,
    require_privilege,
)


def test_metadata_filters_take_only_the_documented_operators() -> None:
    tables = builtin_tables()
    items = [entity_json(t) for t in tables.values()]
    kept = filter_and_select(
        items, {"$filter": "IsActivity eq true and not (LogicalName eq 'phonecall')"}, "EntityMetadata"
    )
    assert [e["LogicalName"] for e in kept] == ["appointment"]
    for text in ("contains(LogicalName,'a')", "ActivityTypeMask ge 1", "Unknown eq 1"):
        with pytest.raises(ODataError) as refused:
            filter_and_select(items, {"$filter": text}, "EntityMetadata")
        assert refused.value.status == 400


def test_enum_literals_compare_by_member_name() -> None:
    predicate = parse_filter(
        "AttributeType eq Microsoft.Dynamics.CRM.AttributeTypeCode'Picklist'", lambda _: None
    )
    assert predicate({"AttributeType": "Picklist"}) and not predicate({"AttributeType": "String"})


def test_attribute_casts_narrow_by_type_and_expand_option_sets() -> None:
    opportunity = builtin_tables()["opportunity"]
    [status] = attributes_json(opportunity, {"$expand": "OptionSet"}, "StatusAttributeMetadata")
    assert [o["Value"] for o in status["OptionSet"]["Options"]] == [1, 2, 3, 4, 5]
    assert attributes_json(opportunity, {}, "PicklistAttributeMetadata") == []
    with pytest.raises(ODataError):
        attributes_json(opportunity, {"$expand": "OptionSet"}, "StringAttributeMetadata")


def test_privileges_follow_dataverse_names() -> None:
    tables = builtin_tables()
    assert privilege_for("GET", tables["opportunity"]) == "prvReadOpportunity"
    assert privilege_for("POST", tables["phonecall"]) == "prvCreateActivity"
    assert privilege_for("PATCH", tables["annotation"]) == "prvWriteNote"
    assert privilege_for("DELETE", tables["systemuser"]) == "prvDeleteUser"
    require_privilege(DEALTALK_ROLE, "app", "prvReadOpportunity", "opportunity")
    require_privilege(SYSTEM_ADMINISTRATOR, "app", "prvDeleteAccount", "account")
    with pytest.raises(ODataError) as refused:
        require_privilege(DEALTALK_ROLE, "app", "prvDeleteAccount", "account")
    assert (refused.value.status, refused.value.code) == (403, "0x80040220")
    assert "missing prvDeleteAccount privilege" in str(refused.value)


def test_order_is_by_value_with_nulls_last() -> None:
    values = [10, None, 9, 100, 2.5]
    assert sorted(values, key=_sort_key) == [2.5, 9, 10, 100, None]
    assert sorted(["b", "A", "c"], key=_sort_key) == ["A", "b", "c"]
