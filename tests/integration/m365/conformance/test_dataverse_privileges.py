"""The Dataverse privilege model: the application user's security role decides what the product may do.

Docs: https://learn.microsoft.com/power-platform/admin/security-roles-privileges (privileges such as
``prvReadOpportunity``, ``prvCreateEntity``) and https://learn.microsoft.com/power-platform/admin/manage-application-users
(an application user works with the security roles assigned to it). A missing privilege is a 403 with code
``0x80040220`` whose message names the privilege; the product's error says so and how to fix it.
"""

from __future__ import annotations

import httpx
import pytest

from dealtalk.contracts.config import Settings
from dealtalk.contracts.errors import ConfigurationError
from dealtalk.emulators.dataverse import DEALTALK_ROLE, DataverseEmulator, SecurityRole
from dealtalk.publisher.dataverse.factory import dataverse_client
from dealtalk.publisher.dataverse.provision import provision
from dealtalk.publisher.factory import load_crm_reader, load_publisher, load_resolver
from dealtalk.publisher.schema import ActivitySchema
from tests.unit.publisher.builders import build_result, sample_meetings

from ..conftest import APP_ID, Closer

OPP_ZUIDHAVEN = "680f89c8-b972-592e-9050-7e61dacce2d0"


@pytest.fixture
def dataverse_roles() -> dict[str, SecurityRole]:
    """dealtalk's own role (create its table, write activities and notes, read the CRM)."""
    return {APP_ID: DEALTALK_ROLE}


def _provision(settings: Settings) -> None:
    with dataverse_client(settings) as client:
        provision(client, ActivitySchema.from_settings(settings.publisher), poll_s=0.02)


def _publish(closing: Closer, settings: Settings) -> None:
    meeting = sample_meetings()["zuidhaven"]
    reader = closing(load_crm_reader(settings))
    link = load_resolver(settings, reader=reader).resolve(meeting)
    publisher = closing(load_publisher(settings, reader=reader))
    publisher.publish(build_result(summary="s"), recording_id="rec-priv", meeting=meeting, link=link)


def test_dealtalk_role_covers_the_normal_flow(
    closing: Closer, dv_settings: Settings, dataverse: DataverseEmulator
) -> None:
    _provision(dv_settings)
    _publish(closing, dv_settings)
    assert len(dataverse.store.rows["dt_callinsight"]) == 1


def test_a_role_without_create_entity_cannot_provision(
    dv_settings: Settings, dataverse: DataverseEmulator
) -> None:
    dataverse.security_roles[APP_ID] = DEALTALK_ROLE.without("prvCreateEntity")
    with pytest.raises(ConfigurationError, match="prvCreateEntity") as refused:
        _provision(dv_settings)
    assert "security role" in str(refused.value)
    assert "dt_callinsight" not in dataverse.store.tables


def test_a_role_without_read_opportunity_cannot_resolve(
    closing: Closer, dv_settings: Settings, dataverse: DataverseEmulator
) -> None:
    dataverse.security_roles[APP_ID] = DEALTALK_ROLE.without("prvReadOpportunity")
    reader = closing(load_crm_reader(dv_settings))
    with pytest.raises(ConfigurationError, match="prvReadOpportunity"):
        load_resolver(dv_settings, reader=reader).get_opportunity(OPP_ZUIDHAVEN)


def test_a_role_without_writing_the_activity_table_cannot_publish(
    closing: Closer, dv_settings: Settings, dataverse: DataverseEmulator
) -> None:
    _provision(dv_settings)
    dataverse.security_roles[APP_ID] = DEALTALK_ROLE.without("prvCreatedt_callinsight")
    with pytest.raises(ConfigurationError, match="prvCreatedt_callinsight"):
        _publish(closing, dv_settings)
    assert not dataverse.store.rows["dt_callinsight"]


def test_the_role_grants_nothing_beyond_it(dv_http: httpx.Client) -> None:
    """dealtalk reads accounts but may not delete one (prvDeleteAccount is not in its role)."""
    accounts = dv_http.get("accounts?$select=name&$top=1").json()["value"]
    refused = dv_http.delete(f"accounts({accounts[0]['accountid']})")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "0x80040220"
    assert "prvDeleteAccount" in refused.json()["error"]["message"]
