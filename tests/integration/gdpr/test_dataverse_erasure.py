"""Erasure against the emulated Dataverse: the activity of her call is updated without her (parties, text,
quotes), the others are untouched; an outage during the erasure is retried, reported and resumed; with the
"whole" policy her call's activity is deleted."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from dealtalk.contracts.config import Settings
from dealtalk.emulators.dataverse import DataverseEmulator
from dealtalk.emulators.dataverse.security import DEALTALK_ROLE, SecurityRole
from dealtalk.pipeline.gdpr import erase_person
from dealtalk.publisher.dataverse.factory import dataverse_client
from dealtalk.publisher.dataverse.provision import provision
from dealtalk.publisher.schema import ActivitySchema
from tests.integration.m365.conftest import APP_ID

from .conftest import NORTHWIND, SARAH, Pipeline, fill_inbox, needles_found

pytestmark = pytest.mark.models

ACTIVITIES = "dt_callinsights"


@pytest.fixture
def dataverse_roles() -> dict[str, SecurityRole]:
    """dealtalk's role plus Delete on its activity table: what policy ``whole`` needs (the README says so)."""
    role = DEALTALK_ROLE
    assert role.privileges is not None
    return {
        APP_ID: SecurityRole("dealtalk integration + delete", role.privileges | {"prvDeletedt_callinsight"})
    }


def _dataverse_pipeline(pipeline: Callable[..., Pipeline], dv_settings: Settings, **gdpr: Any) -> Pipeline:
    dataverse_group = {**dv_settings.dataverse.model_dump(), "max_retries": 1}
    run = pipeline(
        crm={"backend": "dataverse"},
        publisher=dv_settings.publisher.model_dump(),
        dataverse=dataverse_group,
        gdpr=gdpr,
    )
    with dataverse_client(run.settings) as client:
        provision(client, ActivitySchema.from_settings(run.settings.publisher), poll_s=0.02)
    fill_inbox(run.inbox, with_corrupt=False)
    stats = run.run()
    assert stats.dead_lettered == 0 and stats.processed == 12
    return run


def _written_by_us(dump: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Our activities by recording id, each with its activity parties."""
    parties = dump.get("activityparties", [])
    return {
        row["dt_recordingid"]: {
            "row": row,
            "parties": [p for p in parties if p.get("_activityid_value") == row["activityid"]],
        }
        for row in dump.get(ACTIVITIES, [])
    }


def _contact_of(dump: dict[str, Any], email: str) -> str:
    return str(next(c["contactid"] for c in dump["contacts"] if c.get("emailaddress1") == email))


def test_erasure_updates_her_activity_and_survives_an_outage(
    pipeline: Callable[..., Pipeline], dv_settings: Settings, dataverse: DataverseEmulator
) -> None:
    run = _dataverse_pipeline(pipeline, dv_settings)
    before = _written_by_us(dataverse.dump())
    sarah_contact = _contact_of(dataverse.dump(), SARAH)
    assert sarah_contact in json.dumps(before[NORTHWIND]["parties"])
    needles = [SARAH, "Sarah Miller", "Sarah", "Miller", "fifteen percent discount", "data processing terms"]
    assert [n for n in needles if n.lower() in json.dumps(before[NORTHWIND]).lower()]

    dataverse.inject(503, count=2)  # the first request and its one retry fail: Dataverse is down
    outage = erase_person(run.resources, SARAH, actor="cli:dpo")
    assert outage.status == "incomplete" and list(outage.crm_failed) == [NORTHWIND]
    assert "after 1 retries" in outage.crm_failed[NORTHWIND]
    assert needles_found(run.resources, needles) == []  # the store is already clean
    assert sarah_contact in json.dumps(_written_by_us(dataverse.dump())[NORTHWIND])

    resumed = erase_person(run.resources, SARAH, actor="cli:dpo")
    assert (
        resumed.status == "done"
        and resumed.recordings == [NORTHWIND]
        and resumed.counts["crm_activities"] == 1
    )
    after = _written_by_us(dataverse.dump())
    assert after.keys() == before.keys()
    ours = json.dumps(after[NORTHWIND]).lower()
    assert [n for n in needles if n.lower() in ours] == [] and sarah_contact not in ours
    assert after[NORTHWIND]["row"]["activityid"] == before[NORTHWIND]["row"]["activityid"]  # updated in place
    assert after[NORTHWIND]["row"]["dt_riskcount"] == before[NORTHWIND]["row"]["dt_riskcount"]
    tom = _contact_of(dataverse.dump(), "tom.becker@northwind-logistics.com")
    assert tom in json.dumps(after[NORTHWIND]["parties"])
    for recording_id in before.keys() - {NORTHWIND}:
        assert after[recording_id] == before[recording_id]


def test_the_whole_policy_deletes_her_calls_activity(
    pipeline: Callable[..., Pipeline], dv_settings: Settings, dataverse: DataverseEmulator
) -> None:
    run = _dataverse_pipeline(pipeline, dv_settings, erase_whole_recordings="whole")
    before = _written_by_us(dataverse.dump())
    report = erase_person(run.resources, SARAH, actor="cli:dpo")
    assert report.status == "done" and report.counts["recordings_deleted"] == 1
    after = _written_by_us(dataverse.dump())
    assert sorted(after) == sorted(before.keys() - {NORTHWIND})
    assert needles_found(run.resources, [SARAH, "Sarah Miller", "fifteen percent discount"]) == []
    # Only the audit log and the erasure's own task rows still name the recording id (no personal data).
    tables = {hit.split(":")[0] for hit in needles_found(run.resources, [NORTHWIND])}
    assert tables == {"table audit_log", "table gdpr_erasure_tasks"}
