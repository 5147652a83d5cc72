"""Each divergence of the Dataverse emulator found in issue 14, pinned by the behaviour Microsoft documents.

Raw Web API requests (httpx over HTTPS): these are the requests the SDK or the product send, or the ones a
faithful emulator must refuse. Each test names the page it checks against.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx

from dealtalk.emulators.dataverse import DataverseEmulator

WEBAPI = "https://learn.microsoft.com/power-apps/developer/data-platform/webapi/"
ACCOUNT = "b6a1a65a-d60e-58a6-8a4f-128ebef73cfd"


def _error(response: httpx.Response) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["code"], error["message"]


def _key(
    http: httpx.Client, table: str, schema: str, columns: list[str], typed: bool = True
) -> httpx.Response:
    body: dict[str, Any] = {
        "SchemaName": schema,
        "DisplayName": {"LocalizedLabels": [{"Label": schema, "LanguageCode": 1033}]},
        "KeyAttributes": columns,
    }
    if typed:
        body["@odata.type"] = "Microsoft.Dynamics.CRM.EntityKeyMetadata"
    return http.post(f"EntityDefinitions(LogicalName='{table}')/Keys", json=body)


def _key_status(http: httpx.Client, table: str) -> str:
    deadline = time.monotonic() + 5
    while True:
        status = str(
            http.get(f"EntityDefinitions(LogicalName='{table}')/Keys").json()["value"][0][
                "EntityKeyIndexStatus"
            ]
        )
        if status != "Pending" or time.monotonic() > deadline:
            return status
        time.sleep(0.02)


def test_attribute_type_cast_returns_option_sets(dv_http: httpx.Client) -> None:
    """query-metadata-web-api: cast ``Attributes`` to a derived type to reach ``OptionSet``."""
    url = (
        "EntityDefinitions(LogicalName='opportunity')/Attributes/Microsoft.Dynamics.CRM.StatusAttributeMetadata"
        "?$select=LogicalName&$expand=OptionSet($select=Options)"
    )
    answer = dv_http.get(url)
    assert answer.status_code == 200, answer.text
    [status] = answer.json()["value"]
    labels = {o["Value"]: o["Label"]["LocalizedLabels"][0]["Label"] for o in status["OptionSet"]["Options"]}
    assert status["LogicalName"] == "statuscode" and labels[3] == "Won"
    picklists = dv_http.get(
        "EntityDefinitions(LogicalName='appointment')/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata"
    ).json()["value"]
    assert {p["LogicalName"] for p in picklists} == {"onlinemeetingtype"}
    assert all(p["@odata.type"] == "#Microsoft.Dynamics.CRM.PicklistAttributeMetadata" for p in picklists)
    single = dv_http.get(
        "EntityDefinitions(LogicalName='appointment')/Attributes(LogicalName='onlinemeetingtype')"
        "/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$expand=OptionSet"
    )
    assert single.status_code == 200 and single.json()["OptionSet"]["Options"][0]["Value"] == 1
    assert (
        dv_http.get(
            "EntityDefinitions(LogicalName='account')/Attributes/Microsoft.Dynamics.CRM.Nope"
        ).status_code
        == 404
    )
    no_cast = dv_http.get("EntityDefinitions(LogicalName='account')/Attributes?$expand=OptionSet")
    assert no_cast.status_code == 400  # OptionSet is not a property of AttributeMetadata


def test_entity_definitions_filter_operators(dv_http: httpx.Client) -> None:
    """query-metadata-web-api: $filter on table definitions takes eq, ne, not, and, or (no functions)."""
    activities = dv_http.get(
        "EntityDefinitions?$select=LogicalName&$filter=IsActivity eq true and LogicalName ne 'phonecall'"
    )
    assert activities.status_code == 200
    assert {e["LogicalName"] for e in activities.json()["value"]} == {"appointment"}
    either = dv_http.get(
        "EntityDefinitions?$select=LogicalName&$filter=LogicalName eq 'account' or LogicalName eq 'contact'"
    ).json()["value"]
    assert sorted(e["LogicalName"] for e in either) == ["account", "contact"]
    assert {
        e["LogicalName"]
        for e in dv_http.get("EntityDefinitions?$filter=not (IsActivity eq false)").json()["value"]
    } == {
        "appointment",
        "phonecall",
    }
    for refused in ("startswith(LogicalName,'acc')", "ActivityTypeMask gt 0", "Nope eq 1"):
        status, _, message = _error(dv_http.get(f"EntityDefinitions?$filter={refused}"))
        assert status == 400 and message
    assert dv_http.get("EntityDefinitions?$orderby=LogicalName").status_code == 400  # never ignored


def test_filter_on_attributes_is_applied(dv_http: httpx.Client) -> None:
    """query-metadata-web-api: ``Attributes?$filter=`` narrows the columns (it was ignored)."""
    enum = "Microsoft.Dynamics.CRM.AttributeTypeCode'String'"
    strings = dv_http.get(
        f"EntityDefinitions(LogicalName='account')/Attributes?$select=LogicalName&$filter=AttributeType eq {enum}"
    )
    assert strings.status_code == 200
    names = {a["LogicalName"] for a in strings.json()["value"]}
    assert names == {"name", "emailaddress1", "accountnumber", "address1_city"}
    one = dv_http.get(
        "EntityDefinitions(LogicalName='account')/Attributes?$filter=LogicalName eq 'name'"
    ).json()
    assert [a["LogicalName"] for a in one["value"]] == ["name"]


def test_key_as_segment_addresses_the_primary_key(dv_http: httpx.Client) -> None:
    """retrieve-entity-using-web-api: ``accounts(accountid=<guid>)`` is the primary key in key-as-segment form."""
    answer = dv_http.get(f"accounts(accountid={ACCOUNT})?$select=name")
    assert answer.status_code == 200 and answer.json()["name"] == "Gemeente Zuidhaven"
    assert dv_http.get(f"accounts(accountid={uuid.uuid4()})").status_code == 404


def test_key_metadata_without_odata_type_and_empty_key_values(
    dv_http: httpx.Client, dataverse: DataverseEmulator
) -> None:
    """https://learn.microsoft.com/power-apps/developer/data-platform/define-alternate-keys-entity: rows whose
    key column is empty are not indexed; the ``Keys`` collection implies EntityKeyMetadata."""
    assert sum(1 for r in dataverse.store.rows["account"].values() if not r.get("accountnumber")) > 1
    assert _key(dv_http, "account", "dt_accountnumber", ["accountnumber"], typed=False).status_code == 204
    assert _key_status(dv_http, "account") == "Active"


def test_content_id_reference_as_request_url(dv_http: httpx.Client, dataverse: DataverseEmulator) -> None:
    """execute-batch-operations-using-web-api: inside a change set ``$1`` may be the URL of a later request."""
    root = dataverse.api_root
    boundary, changeset = "batch_1", "changeset_1"
    parts = [
        ("POST", f"{root}accounts", {"name": "Ref B.V."}, "1"),
        ("PATCH", "$1", {"accountnumber": "R-1"}, "2"),
    ]
    inner = "".join(
        f"--{changeset}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: {cid}"
        f"\r\n\r\n{method} {url} HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{json.dumps(body)}\r\n"
        for method, url, body, cid in parts
    )
    body = (
        f"--{boundary}\r\nContent-Type: multipart/mixed; boundary={changeset}\r\n\r\n{inner}--{changeset}--\r\n"
        f"--{boundary}--\r\n"
    )
    answer = dv_http.post(
        "$batch", content=body, headers={"Content-Type": f"multipart/mixed; boundary={boundary}"}
    )
    assert answer.status_code == 200 and "HTTP/1.1 404" not in answer.text, answer.text
    rows = [r for r in dataverse.store.rows["account"].values() if r.get("name") == "Ref B.V."]
    assert rows[0]["accountnumber"] == "R-1"


def test_bad_json_in_a_batch_part_is_a_400(dv_http: httpx.Client, dataverse: DataverseEmulator) -> None:
    """execute-batch-operations-using-web-api / compose-http-requests-handle-errors: a malformed payload is the
    client's error (400 0x80048d19), not a 500."""
    body = (
        "--b\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        f"POST {dataverse.api_root}accounts HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{{not json\r\n--b--\r\n"
    )
    answer = dv_http.post("$batch", content=body, headers={"Content-Type": "multipart/mixed; boundary=b"})
    assert _error(answer)[:2] == (400, "0x80048d19")


def test_fetchxml_and_sql_are_refused(dv_http: httpx.Client) -> None:
    """use-fetchxml-web-api: the emulator does not run FetchXML; it refuses rather than return every row."""
    fetch = '<fetch top="1"><entity name="account"><attribute name="name"/></entity></fetch>'
    for name, value in (("fetchXml", fetch), ("sql", "SELECT name FROM account")):
        status, code, message = _error(dv_http.get("accounts", params={name: value}))
        assert (status, code) == (400, "0x80060888") and name in message
    assert dv_http.get("accounts", params={"custom": "1"}).status_code == 400
    assert dv_http.get(f"accounts({ACCOUNT})", params={"$top": "1"}).status_code == 400


def test_count_with_top_counts_all_matches(dv_http: httpx.Client, dataverse: DataverseEmulator) -> None:
    """query/count-rows: ``@odata.count`` is the number of rows matching the filter (up to 5,000)."""
    answer = dv_http.get("contacts?$select=fullname&$top=1&$count=true").json()
    assert len(answer["value"]) == 1
    assert answer["@odata.count"] == len(dataverse.store.rows["contact"]) > 1


def test_orderby_sorts_numbers_as_numbers(dv_http: httpx.Client, dataverse: DataverseEmulator) -> None:
    """query/order-rows: rows are ordered by the column's value (9 before 10)."""
    for value in (10, 9, 100):
        dv_http.post("opportunities", json={"name": f"Deal {value}", "estimatedvalue": value})
    rows = dv_http.get(
        "opportunities?$select=estimatedvalue&$filter=startswith(name,'Deal ')&$orderby=estimatedvalue"
    ).json()
    assert [r["estimatedvalue"] for r in rows["value"]] == [9, 10, 100]


def test_metadata_messages_not_emulated_are_refused(dv_http: httpx.Client) -> None:
    """https://learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/retrievemetadatachanges and
    .../createentities: refused with a 400 that says so, never answered as if done."""
    for answer in (
        dv_http.get("RetrieveMetadataChanges(Query=@p1)", params={"@p1": "{}"}),
        dv_http.post("CreateEntities", json={"Entities": []}),
    ):
        status, _, message = _error(answer)
        assert status == 400 and "not emulated" in message


def test_bulk_messages_are_atomic(dv_http: httpx.Client, dataverse: DataverseEmulator) -> None:
    """https://learn.microsoft.com/power-apps/developer/data-platform/bulk-operations: one failing target fails the
    whole message; targets must carry the bound table's @odata.type."""
    before = len(dataverse.store.rows["account"])
    typed = {"@odata.type": "Microsoft.Dynamics.CRM.account"}
    failing = dv_http.post(
        "accounts/Microsoft.Dynamics.CRM.CreateMultiple",
        json={"Targets": [{**typed, "name": "ok"}, {**typed, "name": "x" * 161}]},
    )
    assert failing.status_code == 400 and len(dataverse.store.rows["account"]) == before
    untyped = dv_http.post(
        "accounts/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": [{"name": "a"}]}
    )
    assert untyped.status_code == 400
    created = dv_http.post(
        "accounts/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": [{**typed, "name": "a"}]}
    )
    assert created.status_code == 200 and len(created.json()["Ids"]) == 1
    missing = dv_http.post(
        "accounts/Microsoft.Dynamics.CRM.UpdateMultiple",
        json={"Targets": [{**typed, "accountid": str(uuid.uuid4()), "name": "b"}]},
    )
    assert missing.status_code == 404
