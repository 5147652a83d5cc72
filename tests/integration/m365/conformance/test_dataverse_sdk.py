"""Microsoft's Dataverse SDK (``powerplatform-dataverse-client`` 1.1.0) against the Dataverse emulator, over HTTPS.

Each test drives the SDK as a new user would and checks the outcome against the behaviour the cited page
documents. The SDK is not patched: it reaches the emulator because the emulator speaks HTTPS with a CA the
test trusts, and answers the requests Dataverse answers.
"""

from __future__ import annotations

import time

import pytest
from PowerPlatform.Dataverse.client import DataverseClient
from PowerPlatform.Dataverse.core.errors import HttpError
from PowerPlatform.Dataverse.models.upsert import UpsertItem

from dealtalk.contracts.config import Settings
from dealtalk.emulators.dataverse import DataverseEmulator
from dealtalk.publisher.dataverse.factory import dataverse_client
from dealtalk.publisher.dataverse.provision import provision
from dealtalk.publisher.schema import ActivitySchema

ACCOUNT = "b6a1a65a-d60e-58a6-8a4f-128ebef73cfd"  # Gemeente Zuidhaven in the bundled CRM fixture


def test_sdk_refuses_plain_http(credential: object) -> None:
    """Dataverse only serves HTTPS; the SDK refuses an ``http://`` org URL before sending the token."""
    with pytest.raises(ValueError, match="HTTPS"):
        DataverseClient("http://127.0.0.1:1", credential)  # type: ignore[arg-type]


def test_create_read_update_delete(sdk: DataverseClient, dataverse: DataverseEmulator) -> None:
    """Docs: https://learn.microsoft.com/power-apps/developer/data-platform/webapi/create-entity-web-api,
    https://learn.microsoft.com/power-apps/developer/data-platform/webapi/retrieve-entity-using-web-api,
    https://learn.microsoft.com/power-apps/developer/data-platform/webapi/update-delete-entities-using-web-api."""
    account_id = sdk.records.create("account", {"name": "Contoso", "accountnumber": "C-1"})
    record = sdk.records.retrieve("account", account_id, select=["name", "accountnumber"])
    assert record is not None and record["name"] == "Contoso" and record["accountnumber"] == "C-1"
    sdk.records.update("account", account_id, {"name": "Contoso B.V."})
    updated = sdk.records.retrieve("account", account_id, select=["name"])
    assert updated is not None and updated["name"] == "Contoso B.V."
    sdk.records.delete("account", account_id)
    assert sdk.records.retrieve("account", account_id) is None  # 404 -> None, as documented by the SDK
    sent = [(r.method, r.path) for r in dataverse.server.requests if "accounts" in r.path]
    assert ("PATCH", f"/api/data/v9.2/accounts({account_id})") in sent  # update is a PATCH with If-Match: *


def test_select_filter_expand(sdk: DataverseClient) -> None:
    """Docs: https://learn.microsoft.com/power-apps/developer/data-platform/webapi/query/select-columns,
    https://learn.microsoft.com/power-apps/developer/data-platform/webapi/query/filter-rows,
    https://learn.microsoft.com/power-apps/developer/data-platform/webapi/query/join-tables
    ($expand of a single-valued navigation)."""
    contact_id = sdk.records.create(
        "contact",
        {
            "lastname": "Visser",
            "emailaddress1": "j.visser@example.nl",
            "parentcustomerid_account@odata.bind": f"/accounts({ACCOUNT})",
        },
    )
    found = sdk.records.list(
        "contact", filter="emailaddress1 eq 'J.VISSER@example.nl'", select=["lastname", "emailaddress1"]
    )
    assert [r["lastname"] for r in found] == ["Visser"]  # string comparison is case-insensitive
    expanded = sdk.records.retrieve(
        "contact", contact_id, select=["lastname"], expand=["parentcustomerid_account($select=name)"]
    )
    assert expanded is not None
    assert expanded["parentcustomerid_account"]["name"] == "Gemeente Zuidhaven"
    with pytest.raises(HttpError) as refused:
        sdk.records.list("contact", filter="nosuchcolumn eq 1")
    assert refused.value.status_code == 400


def test_paging_with_maxpagesize(sdk: DataverseClient, dataverse: DataverseEmulator) -> None:
    """Docs: https://learn.microsoft.com/power-apps/developer/data-platform/webapi/query/page-results
    (Prefer: odata.maxpagesize, @odata.nextLink with an opaque $skiptoken)."""
    pages = list(sdk.records.list_pages("contact", select=["fullname"], page_size=2))
    sizes = [len(list(page)) for page in pages]
    total = len(dataverse.store.rows["contact"])
    assert sum(sizes) == total and all(size <= 2 for size in sizes) and len(pages) == -(-total // 2)
    prefers = [r.header("prefer") for r in dataverse.server.requests if r.path.endswith("/contacts")]
    assert any("odata.maxpagesize=2" in p for p in prefers)


def _active_account_key(sdk: DataverseClient) -> None:
    sdk.tables.create_alternate_key("account", "dt_accountnumber", ["accountnumber"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        keys = sdk.tables.get_alternate_keys("account")
        if keys and keys[0].status == "Active":
            return
        time.sleep(0.05)
    raise AssertionError("the alternate key never became Active")


def test_upsert_by_alternate_key_and_key_as_segment(
    sdk: DataverseClient, dataverse: DataverseEmulator
) -> None:
    """Docs: https://learn.microsoft.com/power-apps/developer/data-platform/define-alternate-keys-entity,
    https://learn.microsoft.com/power-apps/developer/data-platform/webapi/use-upsert-insert-update-record and
    https://learn.microsoft.com/power-apps/developer/data-platform/webapi/retrieve-entity-using-web-api
    (key-as-segment form)."""
    _active_account_key(sdk)  # created by the SDK without @odata.type: the Keys collection implies it
    sdk.records.upsert("account", [UpsertItem({"accountnumber": "U-1"}, {"name": "Upserted"})])
    sdk.records.upsert("account", [UpsertItem({"accountnumber": "U-1"}, {"name": "Upserted again"})])
    rows = [r for r in dataverse.store.rows["account"].values() if r.get("accountnumber") == "U-1"]
    assert [r["name"] for r in rows] == ["Upserted again"]
    by_segment = sdk.records.retrieve("account", f"accountid={rows[0]['accountid']}", select=["name"])
    assert by_segment is not None and by_segment["name"] == "Upserted again"


def test_picklist_string_values_through_the_type_cast(
    sdk: DataverseClient, dv_settings: Settings, dataverse: DataverseEmulator
) -> None:
    """Docs: https://learn.microsoft.com/power-apps/developer/data-platform/webapi/query-metadata-web-api
    (Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata with
    $expand=OptionSet): the SDK turns the label "Negative" into the option value before it writes."""
    with dataverse_client(dv_settings) as client:  # the product provisions its activity table
        provision(client, ActivitySchema.from_settings(dv_settings.publisher), poll_s=0.02)
    activity_id = sdk.records.create("dt_callinsight", {"subject": "Call", "dt_sentiment": "Negative"})
    stored = dataverse.store.rows["dt_callinsight"][activity_id]
    assert stored["dt_sentiment"] == 727000002
    casts = [r.path for r in dataverse.server.requests if "PicklistAttributeMetadata" in r.path]
    assert casts, "the SDK read the option sets through the attribute type cast"


def test_changeset_with_content_id_references(sdk: DataverseClient, dataverse: DataverseEmulator) -> None:
    """Docs: https://learn.microsoft.com/power-apps/developer/data-platform/webapi/execute-batch-operations-using-web-api
    (change sets; ``$1`` as a request URL and in @odata.bind)."""
    batch = sdk.batch.new()
    with batch.changeset() as changes:
        account = changes.records.create("account", {"name": "Batch B.V."})
        changes.records.create(
            "contact", {"lastname": "Bakker", "parentcustomerid_account@odata.bind": account}
        )
        changes.records.update("account", account, {"accountnumber": "B-1"})  # URL "$1"
    result = batch.execute()
    assert not result.has_errors, [r.error_message for r in result.failed]
    created = [r for r in dataverse.store.rows["account"].values() if r.get("name") == "Batch B.V."]
    assert len(created) == 1 and created[0]["accountnumber"] == "B-1"
    bakker = [r for r in dataverse.store.rows["contact"].values() if r.get("lastname") == "Bakker"]
    assert bakker[0]["_parentcustomerid_value"] == created[0]["accountid"]


def test_bulk_messages(sdk: DataverseClient, dataverse: DataverseEmulator) -> None:
    """Docs: https://learn.microsoft.com/power-apps/developer/data-platform/bulk-operations
    (CreateMultiple returns Ids; UpdateMultiple targets carry the primary key; UpsertMultiple by alternate key)."""
    ids = sdk.records.create("account", [{"name": "Bulk 1"}, {"name": "Bulk 2"}])
    assert len(ids) == 2 and all(dataverse.store.rows["account"].get(i) for i in ids)
    sdk.records.update("account", ids, {"address1_city": "Utrecht"})
    assert {dataverse.store.rows["account"][i]["address1_city"] for i in ids} == {"Utrecht"}
    _active_account_key(sdk)
    sdk.records.upsert(
        "account",
        [
            UpsertItem({"accountnumber": "M-1"}, {"name": "Multi 1"}),
            UpsertItem({"accountnumber": "M-2"}, {"name": "Multi 2"}),
        ],
    )
    numbers = {r.get("accountnumber") for r in dataverse.store.rows["account"].values()}
    assert {"M-1", "M-2"} <= numbers
    paths = {r.path.rsplit("/", 1)[-1] for r in dataverse.server.requests}
    assert {
        "Microsoft.Dynamics.CRM.CreateMultiple",
        "Microsoft.Dynamics.CRM.UpdateMultiple",
        "Microsoft.Dynamics.CRM.UpsertMultiple",
    } <= paths


def test_sql_query_is_refused_not_ignored(sdk: DataverseClient) -> None:
    """Docs: https://learn.microsoft.com/power-apps/developer/data-platform/webapi/query/overview
    The emulator answers OData queries; ``?sql=`` is refused with a 400 rather than answered with every row."""
    with pytest.raises(HttpError) as refused:
        sdk.query.sql("SELECT name FROM account WHERE name = 'none'")
    assert refused.value.status_code == 400 and "not emulated" in str(refused.value)
