"""Both CRM readers of the competitor table and its N:N with opportunity: the fixture, and Dataverse over a
mock transport (requests, paging, parsing)."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

import httpx
import pytest

from dealtalk.contracts.errors import ConfigurationError, TransientError
from dealtalk.publisher.crm import Competitor
from dealtalk.publisher.dataverse.client import DataverseClient
from dealtalk.publisher.dataverse.reader import DataverseCrmReader
from dealtalk.publisher.fixture import FixtureCrmReader

DELTAZORG = "5b3faca1-d8d4-54f2-9088-2248e737c4ba"
NORTHWIND_SLA = "927e481f-6952-58ca-a141-def117c3c896"
ORG = "https://contoso.crm4.dynamics.com"
ROOT = f"{ORG}/api/data/v9.2/"


# --- the fixture reader ------------------------------------------------------------------------------------
def test_fixture_reads_the_competitor_table_and_the_opportunities_links(
    fixture_reader: FixtureCrmReader,
) -> None:
    names = [c.name for c in fixture_reader.competitors()]
    assert names == ["Hago", "CSU", "ISS", "Asito", "Vebego", "GOM"]
    assert all(c.id for c in fixture_reader.competitors())
    assert [c.name for c in fixture_reader.opportunity_competitors(DELTAZORG.upper())] == ["Hago", "Asito"]
    assert [c.name for c in fixture_reader.opportunity_competitors(NORTHWIND_SLA)] == ["ISS"]
    assert fixture_reader.opportunity_competitors("680f89c8-b972-592e-9050-7e61dacce2d0") == ()
    assert fixture_reader.opportunity_competitors("not-an-opportunity") == ()


def test_fixture_links_must_name_rows_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "crm.json"
    path.write_text(
        json.dumps(
            {
                "opportunities": [{"opportunityid": "o1", "name": "Deal"}],
                "competitors": [{"competitorid": "c1", "name": "Acme"}, {"name": "No id"}],
                "opportunitycompetitors": [{"opportunityid": "o1", "competitorid": "c2"}],
            }
        )
    )
    with pytest.raises(ConfigurationError, match="competitor c2, not in the file"):
        FixtureCrmReader.from_path(path)
    path.write_text(path.read_text().replace('"c2"', '"c1"'))
    reader = FixtureCrmReader.from_path(path)
    assert [c.name for c in reader.competitors()] == ["Acme", "No id"]  # an old fixture's id-less row
    assert reader.opportunity_competitors("O1") == (Competitor("c1", "Acme"),)


# --- the Dataverse reader: requests, paging, parsing --------------------------------------------------------
class _Tokens:
    def token(self) -> str:
        return "t"

    def invalidate(self) -> None:
        pass

    def close(self) -> None:
        pass


def _reader(handler: Any) -> DataverseCrmReader:
    client = DataverseClient(
        org_url=ORG,
        api_version="v9.2",
        tokens=_Tokens(),
        max_retries=0,
        transport=httpx.MockTransport(handler),
    )
    return DataverseCrmReader(client)


def test_dataverse_reads_every_page_of_the_competitor_table() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if "$skiptoken" not in str(request.url):
            rows = [{"competitorid": "AAAAAAAA-0000-0000-0000-000000000001", "name": " Hago "}]
            return httpx.Response(
                200, json={"value": rows, "@odata.nextLink": f"{ROOT}competitors?$skiptoken=p2"}
            )
        last: list[dict[str, str | None]] = [
            {"competitorid": "aaaaaaaa-0000-0000-0000-000000000002", "name": "Cleanfix"},
            {"competitorid": "aaaaaaaa-0000-0000-0000-000000000003", "name": None},  # nothing to match
        ]
        return httpx.Response(200, json={"value": last})

    reader = _reader(handler)
    assert reader.competitors() == (
        Competitor("aaaaaaaa-0000-0000-0000-000000000001", "Hago"),
        Competitor("aaaaaaaa-0000-0000-0000-000000000002", "Cleanfix"),
    )
    first = seen[0]
    assert first.url.path == "/api/data/v9.2/competitors"
    assert urllib.parse.parse_qs(first.url.query.decode())["$select"] == ["competitorid,name"]
    assert first.headers["Prefer"] == "odata.maxpagesize=500"
    assert seen[1].headers["Prefer"] == "odata.maxpagesize=500"  # the next page keeps the page size
    reader.close()


def test_dataverse_reads_an_opportunitys_competitors_through_the_n_to_n() -> None:
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        if DELTAZORG in request.url.path:
            rows = [{"competitorid": "aaaaaaaa-0000-0000-0000-000000000001", "name": "Hago"}]
            return httpx.Response(200, json={"value": rows})
        error = {"error": {"code": "0x80040217", "message": "opportunity With Id = x Does Not Exist"}}
        return httpx.Response(404, json=error)

    reader = _reader(handler)
    assert [c.name for c in reader.opportunity_competitors(DELTAZORG.upper())] == ["Hago"]
    assert paths == [f"/api/data/v9.2/opportunities({DELTAZORG})/opportunitycompetitors_association"]
    assert reader.opportunity_competitors("00000000-0000-0000-0000-000000000001") == ()  # 404: none
    assert reader.opportunity_competitors("not a guid") == ()  # never sent
    assert len(paths) == 2
    reader.close()


def test_dataverse_down_is_a_transient_error() -> None:
    reader = _reader(lambda request: httpx.Response(503, json={"error": {"code": "", "message": "down"}}))
    with pytest.raises(TransientError):
        reader.competitors()
    reader.close()
