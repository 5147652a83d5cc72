"""The CRM's competitors over HTTPS: the emulated ``competitor`` table and its N:N with opportunity, read raw and
through the product's reader and cache (MSAL + httpx), with dealtalk's own security role.

Docs: the Competitor and OpportunityCompetitors table references (entity set ``competitors``, primary id
``competitorid``, name ``name``; the N:N ``opportunitycompetitors_association``), "Query data using the Web API"
(a collection-valued navigation property of one record is a filtered collection) and "Join tables using OData".
"""

from __future__ import annotations

import logging
import urllib.parse

import httpx
import pytest

from dealtalk.contracts.config import Settings
from dealtalk.emulators.dataverse import DEALTALK_ROLE, DataverseEmulator, SecurityRole
from dealtalk.pipeline.models_and_clients import ModelsAndClients
from dealtalk.publisher.factory import load_crm_reader

from ..conftest import APP_ID, Closer

DELTAZORG = "5b3faca1-d8d4-54f2-9088-2248e737c4ba"
NORTHWIND_SLA = "927e481f-6952-58ca-a141-def117c3c896"
ZUIDHAVEN = "680f89c8-b972-592e-9050-7e61dacce2d0"
MISSING = "00000000-0000-0000-0000-0000000000aa"
NAV = "opportunitycompetitors_association"


@pytest.fixture
def dataverse_roles() -> dict[str, SecurityRole]:
    """dealtalk's own role: reading competitors is part of it."""
    return {APP_ID: DEALTALK_ROLE}


def _error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def test_the_competitor_table_and_the_n_to_n_read_as_documented(dv_http: httpx.Client) -> None:
    table = dv_http.get("competitors?$select=competitorid,name&$orderby=name").json()["value"]
    assert [row["name"] for row in table] == ["Asito", "CSU", "GOM", "Hago", "ISS", "Vebego"]
    related = dv_http.get(f"opportunities({DELTAZORG})/{NAV}?$select=name&$orderby=name").json()
    assert [row["name"] for row in related["value"]] == ["Asito", "Hago"]
    assert all("competitorid" in row for row in related["value"])  # the primary id always comes back
    expanded = dv_http.get(f"opportunities({NORTHWIND_SLA})?$select=name&$expand={NAV}($select=name)").json()
    assert [row["name"] for row in expanded[NAV]] == ["ISS"]
    listed = dv_http.get(f"opportunities?$select=name&$expand={NAV}($select=name)").json()["value"]
    assert {row["opportunityid"]: len(row[NAV]) for row in listed}[ZUIDHAVEN] == 0
    # The same relationship from the competitor's side.
    hago = next(row["competitorid"] for row in table if row["name"] == "Hago")
    assert [row["opportunityid"] for row in dv_http.get(f"competitors({hago})/{NAV}").json()["value"]] == [
        DELTAZORG
    ]


def test_the_n_to_n_pages_with_an_opaque_skiptoken(dv_http: httpx.Client) -> None:
    prefer = {"Prefer": "odata.maxpagesize=1"}
    first = dv_http.get(f"opportunities({DELTAZORG})/{NAV}?$select=name", headers=prefer).json()
    next_link = first["@odata.nextLink"]
    assert urllib.parse.urlsplit(next_link).path.endswith(f"opportunities({DELTAZORG})/{NAV}")
    second = dv_http.get(next_link, headers=prefer).json()
    assert len(first["value"]) == len(second["value"]) == 1 and "@odata.nextLink" not in second
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(next_link).query)["$skiptoken"][0]
    other = dv_http.get(
        f"opportunities({NORTHWIND_SLA})/{NAV}", params={"$select": "name", "$skiptoken": token}
    )
    assert _error(other) == (400, "0x80040203")  # a token belongs to its own query


def test_what_dataverse_refuses_is_refused(dv_http: httpx.Client) -> None:
    assert _error(dv_http.get(f"opportunities({MISSING})/{NAV}")) == (404, "0x80040217")
    assert _error(dv_http.get(f"opportunities({DELTAZORG})/OpportunityCompetitors_Association"))[0] == 404
    assert _error(dv_http.get(f"accounts({MISSING})/{NAV}"))[0] == 404  # not a navigation of account
    assert _error(dv_http.get("competitors?$select=competitorid,fullname"))[0] == 400
    assert _error(dv_http.get(f"opportunities({DELTAZORG})/{NAV}?$skip=1"))[0] == 400
    assert _error(dv_http.get(f"opportunities({DELTAZORG})?$expand={NAV}($select=fullname)"))[0] == 400
    assert _error(dv_http.post(f"opportunities({DELTAZORG})/{NAV}", json={"name": "x"}))[0] == 405


def test_a_role_without_read_competitor_is_refused_by_name(
    dv_http: httpx.Client, dataverse: DataverseEmulator
) -> None:
    dataverse.security_roles[APP_ID] = DEALTALK_ROLE.without("prvReadCompetitor")
    refused = dv_http.get(f"opportunities({DELTAZORG})/{NAV}")
    assert _error(refused) == (403, "0x80040220") and "prvReadCompetitor" in refused.text


def test_the_products_reader_and_cache_read_the_emulated_crm(closing: Closer, dv_settings: Settings) -> None:
    reader = closing(load_crm_reader(dv_settings))
    assert sorted(c.name for c in reader.competitors()) == ["Asito", "CSU", "GOM", "Hago", "ISS", "Vebego"]
    assert sorted(c.name for c in reader.opportunity_competitors(DELTAZORG)) == ["Asito", "Hago"]
    assert reader.opportunity_competitors(MISSING) == ()
    settings = dv_settings.model_copy(
        update={"nlp": dv_settings.nlp.model_copy(update={"competitors": ("Sodexo",)})}
    )
    names = closing(ModelsAndClients(settings)).competitor_names()
    assert names()[0] == "Sodexo" and set(names()) == {
        "Sodexo",
        "Asito",
        "CSU",
        "GOM",
        "Hago",
        "ISS",
        "Vebego",
    }
    assert set(names(DELTAZORG)) == set(names())  # Deltazorg's competitors are in the table too


def test_a_crm_that_fails_keeps_the_names_read_before(
    closing: Closer, dv_settings: Settings, dataverse: DataverseEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    crm = dv_settings.crm.model_copy(update={"competitors_ttl_min": 1e-6})  # every call reads again
    dv = dv_settings.dataverse.model_copy(update={"max_retries": 0})
    settings = dv_settings.model_copy(update={"crm": crm, "dataverse": dv})
    names = closing(ModelsAndClients(settings)).competitor_names()
    before = names()
    assert "Vebego" in before
    dataverse.inject(503, count=1)
    with caplog.at_level(logging.WARNING, logger="dealtalk.publisher.competitors"):
        assert names() == before
    assert "could not read the competitor table from Dataverse at" in caplog.text
    dataverse.security_roles[APP_ID] = DEALTALK_ROLE.without("prvReadCompetitor")
    fresh = closing(ModelsAndClients(settings)).competitor_names()
    assert fresh() == tuple(settings.nlp.competitors)  # refused from the start: the configured names
