"""The product's Dataverse side (MSAL + httpx) against the emulated identity platform and organisation."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from pydantic import SecretStr

from dealtalk.contracts.config import Settings
from dealtalk.contracts.documents import OpportunityLink
from dealtalk.contracts.errors import ConfigurationError, InvalidInput, RetryLater, TransientError
from dealtalk.emulators.dataverse import DataverseEmulator
from dealtalk.emulators.identity import IdentityEmulator, TokenIssuer
from dealtalk.publisher.dataverse.factory import dataverse_client
from dealtalk.publisher.dataverse.provision import provision
from dealtalk.publisher.dataverse.publisher import DataversePublisher, PublishItem
from dealtalk.publisher.factory import load_crm_reader, load_publisher, load_resolver
from dealtalk.publisher.schema import ActivitySchema
from tests.unit.publisher.builders import build_result, sample_meetings

from .conftest import Closer

OPP_ZUIDHAVEN = "680f89c8-b972-592e-9050-7e61dacce2d0"


def _provisioned(settings: Settings) -> ActivitySchema:
    schema = ActivitySchema.from_settings(settings.publisher)
    with dataverse_client(settings) as client:
        provision(client, schema, poll_s=0.02)
    return schema


def _rows(dataverse: DataverseEmulator, entity_set: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = dataverse.dump().get(entity_set, [])
    return rows


def test_resolver_links_the_samples_through_dataverse(closing: Closer, dv_settings: Settings) -> None:
    resolver = closing(load_resolver(dv_settings))
    meetings = sample_meetings()
    expected = {
        "zuidhaven": ("appointment", OPP_ZUIDHAVEN),
        "northwind": ("contact_account", "927e481f-6952-58ca-a141-def117c3c896"),
        "brightlab": ("contact_account", "d97696e7-48a7-53cd-95a7-8e15c348dbd2"),
    }
    for name, (method, opportunity) in expected.items():
        link = resolver.resolve(meetings[name])
        assert (link.method, link.opportunity_id) == (method, opportunity), name
    with pytest.raises(InvalidInput, match=r"no opportunity with id .* in Dataverse at http"):
        resolver.get_opportunity("00000000-0000-4000-8000-000000000000")


def test_provisioning_twice_creates_once(dv_settings: Settings, dataverse: DataverseEmulator) -> None:
    schema = ActivitySchema.from_settings(dv_settings.publisher)
    with dataverse_client(dv_settings) as client:
        first = provision(client, schema, poll_s=0.02)
        writes_after_first = sum(r.method != "GET" for r in dataverse.server.requests)
        second = provision(client, schema, poll_s=0.02)
    assert {s.outcome for s in first} == {"created"}
    assert {s.outcome for s in second} == {"present", "active"}
    assert sum(r.method != "GET" for r in dataverse.server.requests) == writes_after_first
    table = dataverse.store.tables["dt_callinsight"]
    assert table.is_activity and table.keys["dt_recordingidkey"].status == "Active"
    assert dataverse.metadata.published  # PublishXml after the first run only
    assert len(dataverse.metadata.published) == 1


def test_publish_then_redelivery_updates_the_same_activity(
    closing: Closer, dv_settings: Settings, dataverse: DataverseEmulator
) -> None:
    _provisioned(dv_settings)
    meeting = sample_meetings()["zuidhaven"]
    reader = closing(load_crm_reader(dv_settings))
    link = load_resolver(dv_settings, reader=reader).resolve(meeting)
    publisher = closing(load_publisher(dv_settings, reader=reader))
    first = publisher.publish(
        build_result(summary="eerste"), recording_id="rec-z", meeting=meeting, link=link
    )
    second = publisher.publish(
        build_result(summary="tweede"), recording_id="rec-z", meeting=meeting, link=link
    )
    assert first.created and not second.created
    assert first.activity_id == second.activity_id
    (row,) = _rows(dataverse, "dt_callinsights")
    assert row["dt_summary"] == "tweede" and row["dt_recordingid"] == "rec-z"
    assert row["_regardingobjectid_value"] == OPP_ZUIDHAVEN
    # On the opportunity's timeline: the activity view lists it as regarding the opportunity.
    pointers = [p for p in _rows(dataverse, "activityparties") if p["_activityid_value"] == row["activityid"]]
    assert sorted(p["participationtypemask"] for p in pointers) == [5, 7]  # redelivery replaced, not appended
    assert first.target.endswith(f"etn=dt_callinsight&id={first.activity_id}&pagetype=entityrecord")


def test_batch_publishes_many_and_reports_each(
    closing: Closer, dv_settings: Settings, dataverse: DataverseEmulator
) -> None:
    schema = _provisioned(dv_settings)
    meetings = sample_meetings()
    reader = closing(load_crm_reader(dv_settings))
    resolver = load_resolver(dv_settings, reader=reader)
    with dataverse_client(dv_settings) as client:
        publisher = DataversePublisher(client, schema=schema, parties_from=reader, batch_size=2)
        items = [
            PublishItem(
                build_result(call_id=f"rec-{name}"), f"rec-{name}", meeting, resolver.resolve(meeting)
            )
            for name, meeting in sorted(meetings.items())
        ]
        gone = OpportunityLink("00000000-0000-4000-8000-00000000dead", "manual", "deleted since")
        items.append(PublishItem(build_result(), "rec-gone", meetings["northwind"], gone))
        results = publisher.publish_many(items)
        again = publisher.publish_many(items[:3])
    assert [type(r).__name__ for r in results] == ["PublishReceipt"] * 3 + ["InvalidInput"]
    assert "Does Not Exist" in str(results[3]) and "dealtalk link" in str(results[3])
    assert all(r.created for r in results[:3])  # type: ignore[union-attr]
    assert not any(r.created for r in again)  # type: ignore[union-attr]
    assert len(_rows(dataverse, "dt_callinsights")) == 3
    batches = [r for r in dataverse.server.requests if r.path.endswith("$batch")]
    assert len(batches) == 4  # 4 calls in batches of 2, then 3 calls in batches of 2
    assert all(b"\r\n" in r.body and b"Content-ID: " in r.body for r in batches)


def test_throttling_is_waited_out_then_deferred(
    closing: Closer, dv_settings: Settings, dataverse: DataverseEmulator
) -> None:
    _provisioned(dv_settings)
    meeting = sample_meetings()["zuidhaven"]
    link = OpportunityLink(OPP_ZUIDHAVEN, "manual", "test")
    publisher = closing(load_publisher(dv_settings))
    dataverse.inject(429, 2, retry_after_s=0.01)
    dataverse.inject(503, 1)
    receipt = publisher.publish(build_result(), recording_id="rec-t", meeting=meeting, link=link)
    assert receipt.created
    dataverse.inject(429, 1, retry_after_s=3600)
    with pytest.raises(RetryLater) as caught:
        publisher.publish(build_result(), recording_id="rec-t", meeting=meeting, link=link)
    assert caught.value.defer_s == 3600 and caught.value.retriable


def test_server_errors_exhaust_retries_as_transient(
    closing: Closer, dv_settings: Settings, dataverse: DataverseEmulator
) -> None:
    _provisioned(dv_settings)
    settings = dv_settings.model_copy(
        update={"dataverse": dv_settings.dataverse.model_copy(update={"max_retries": 1})}
    )
    client = closing(dataverse_client(settings))
    client._backoff_base_s = 0.01  # keep the test fast; the policy is the same
    schema = ActivitySchema.from_settings(settings.publisher)
    publisher = DataversePublisher(client, schema=schema, parties_from=closing(load_crm_reader(settings)))
    dataverse.inject(503, 2)
    with pytest.raises(TransientError, match="after 1 retries: HTTP 503"):
        publisher.publish(
            build_result(),
            recording_id="rec-5",
            meeting=sample_meetings()["zuidhaven"],
            link=OpportunityLink(OPP_ZUIDHAVEN, "manual", "x"),
        )


def test_clear_errors_for_missing_table_and_deleted_opportunity(
    closing: Closer, dv_settings: Settings
) -> None:
    publisher = closing(load_publisher(dv_settings))
    meeting = sample_meetings()["zuidhaven"]
    with pytest.raises(ConfigurationError, match="dealtalk dataverse provision"):
        publisher.publish(
            build_result(),
            recording_id="rec-x",
            meeting=meeting,
            link=OpportunityLink(OPP_ZUIDHAVEN, "manual", "x"),
        )
    _provisioned(dv_settings)
    gone = OpportunityLink("00000000-0000-4000-8000-00000000dead", "manual", "x")
    with pytest.raises(
        InvalidInput, match="opportunity With Id = 00000000-0000-4000-8000-00000000dead Does Not Exist"
    ):
        publisher.publish(build_result(), recording_id="rec-x", meeting=meeting, link=gone)


def test_fallback_phonecall_and_note_are_idempotent(
    closing: Closer, dv_settings: Settings, dataverse: DataverseEmulator
) -> None:
    settings = dv_settings.model_copy(
        update={"publisher": dv_settings.publisher.model_copy(update={"fallback_phonecall": True})}
    )
    publisher = closing(load_publisher(settings))
    meeting = sample_meetings()["northwind"]
    link = closing(load_resolver(settings)).resolve(meeting)
    first = publisher.publish(build_result(), recording_id="rec-n", meeting=meeting, link=link)
    second = publisher.publish(
        build_result(summary="bijgewerkt"), recording_id="rec-n", meeting=meeting, link=link
    )
    assert first.created and not second.created and first.activity_id == second.activity_id
    (call,) = _rows(dataverse, "phonecalls")
    (note,) = _rows(dataverse, "annotations")
    assert call["_regardingobjectid_value"] == link.opportunity_id == note["_objectid_value"]
    assert "bijgewerkt" in str(call["description"]) and "KPIs:" in str(note["notetext"])


def test_expired_token_is_refreshed_once(
    closing: Closer, dv_settings: Settings, issuer: TokenIssuer, identity: IdentityEmulator
) -> None:
    reader = closing(load_crm_reader(dv_settings))
    assert reader.users_by_email(["eva.devries@schoonenberg.nl"])
    issued = issuer.issued
    issuer.revoke_all()
    assert reader.users_by_email(["mark.jansen@schoonenberg.nl"])
    assert issuer.issued == issued + 1


def test_wrong_secret_is_a_configuration_error(closing: Closer, dv_settings: Settings) -> None:
    wrong = dv_settings.model_copy(
        update={
            "dataverse": dv_settings.dataverse.model_copy(
                update={"client_secret": SecretStr("not-the-secret")}
            )
        }
    )
    with pytest.raises(ConfigurationError, match="AADSTS7000215"):
        closing(load_crm_reader(wrong)).users_by_email(["eva.devries@schoonenberg.nl"])


def test_concurrency_stays_under_the_cap(
    closing: Closer, dv_settings: Settings, dataverse: DataverseEmulator
) -> None:
    reader = closing(load_crm_reader(dv_settings))  # max_concurrency=2 in dv_settings
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                reader.contacts_by_email(["sarah.miller@northwind-logistics.com"])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert dataverse.max_in_flight_seen <= 2
