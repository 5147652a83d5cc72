"""The Dataverse and identity emulators reject what the real services reject (raw HTTP, no product code)."""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from dealtalk.contracts.config import Settings
from dealtalk.emulators.dataverse import (
    SYSTEM_ADMINISTRATOR,
    DataverseEmulator,
    SecurityRole,
    ServiceProtection,
)
from dealtalk.emulators.identity import IdentityEmulator, TokenIssuer
from dealtalk.publisher.dataverse.factory import dataverse_client
from dealtalk.publisher.dataverse.provision import provision
from dealtalk.publisher.schema import ActivitySchema

from .conftest import APP_ID, APP_SECRET, GRAPH, TENANT


@pytest.fixture
def dataverse_roles() -> dict[str, SecurityRole]:
    """These tests write accounts and contacts too: the application user is a System Administrator."""
    return {APP_ID: SYSTEM_ADMINISTRATOR}


OPP = "680f89c8-b972-592e-9050-7e61dacce2d0"
CONTACT = "f8b87b44-fb40-515b-8eb8-bed6b12644d9"


@pytest.fixture
def http(identity: IdentityEmulator, dataverse: DataverseEmulator) -> Iterator[httpx.Client]:
    """A raw client with a valid token for the emulated organisation."""
    context = ssl.create_default_context(cafile=str(identity.ca_file))
    with httpx.Client(verify=context) as idp:
        token = idp.post(
            f"{identity.url}/{TENANT}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": APP_ID,
                "client_secret": APP_SECRET,
                "scope": f"{dataverse.url}/.default",
            },
        ).json()["access_token"]
    headers = {
        "Authorization": f"Bearer {token}",
        "OData-Version": "4.0",
        "OData-MaxVersion": "4.0",
        "Accept": "application/json",
    }
    with httpx.Client(base_url=dataverse.api_root, headers=headers, verify=context) as client:
        yield client


def _error(response: httpx.Response) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["code"], error["message"]


def test_token_endpoint_follows_entra_errors(
    identity: IdentityEmulator, dataverse: DataverseEmulator
) -> None:
    context = ssl.create_default_context(cafile=str(identity.ca_file))
    token_url = f"{identity.url}/{TENANT}/oauth2/v2.0/token"
    form = {"grant_type": "client_credentials", "client_id": APP_ID, "client_secret": APP_SECRET}
    with httpx.Client(verify=context) as client:
        wrong_secret = client.post(
            token_url, data={**form, "client_secret": "nope", "scope": f"{GRAPH}/.default"}
        )
        no_default = client.post(token_url, data={**form, "scope": f"{GRAPH}/User.Read"})
        unknown_resource = client.post(token_url, data={**form, "scope": "https://evil.example/.default"})
        unknown_tenant = client.post(
            f"{identity.url}/other/oauth2/v2.0/token", data={**form, "scope": f"{GRAPH}/.default"}
        )
        wrong_grant = client.post(
            token_url, data={**form, "grant_type": "password", "scope": f"{GRAPH}/.default"}
        )
    assert (wrong_secret.status_code, wrong_secret.json()["error_codes"]) == (401, [7000215])
    assert no_default.json()["error"] == "invalid_scope"
    assert unknown_resource.json()["error_codes"] == [500011]
    assert unknown_tenant.json()["error_codes"] == [90002]
    assert wrong_grant.json()["error"] == "unsupported_grant_type"
    with pytest.raises(httpx.ConnectError):  # not trusted without the emulator's CA: TLS is real
        httpx.get(
            f"{identity.url}/{TENANT}/v2.0/.well-known/openid-configuration",
            verify=ssl.create_default_context(),
        )


def test_requests_need_a_token_for_this_org(
    http: httpx.Client, dataverse: DataverseEmulator, issuer: TokenIssuer, trust: ssl.SSLContext
) -> None:
    anonymous = httpx.get(f"{dataverse.api_root}accounts", verify=trust)
    assert anonymous.status_code == 401 and "authorization_uri" in anonymous.headers["www-authenticate"]
    graph_token = issuer.issue(APP_ID, GRAPH)  # right tenant, wrong audience
    assert (
        httpx.get(
            f"{dataverse.api_root}accounts",
            headers={"Authorization": f"Bearer {graph_token}"},
            verify=trust,
        ).status_code
        == 401
    )
    assert http.get("accounts").status_code == 200


def test_names_are_case_sensitive_and_checked(http: httpx.Client) -> None:
    assert _error(http.get("Accounts"))[:2] == (404, "0x8006088a")
    status, code, message = _error(http.get("accounts?$select=Name"))
    assert (status, code) == (400, "0x0") and "Could not find a property named 'Name'" in message
    assert _error(http.get("accounts?$skip=1"))[0] == 400
    assert _error(http.get("accounts?$filter=name eq"))[0] == 400
    bad_property = http.post("contacts", json={"fullname": "X", "Fullname": "Y"})
    assert _error(bad_property)[:2] == (400, "0x0")
    bad_bind = http.post("contacts", json={"parentcustomerid@odata.bind": f"/accounts({OPP})"})
    status, code, message = _error(bad_bind)
    assert (status, code) == (400, "0x80048d19") and "undeclared property 'parentcustomerid'" in message
    missing_target = http.post(
        "contacts",
        json={"parentcustomerid_account@odata.bind": "/accounts(00000000-0000-0000-0000-000000000001)"},
    )
    assert _error(missing_target)[:2] == (404, "0x80040217")
    too_long = http.post("phonecalls", json={"subject": "x" * 201})
    assert _error(too_long)[1] == "0x80044331"
    assert http.post("activityparties", json={"participationtypemask": 1}).status_code == 405


def test_filter_lookup_annotations_and_expand(http: httpx.Client) -> None:
    rows = http.get(
        "contacts",
        params={
            "$select": "fullname,_parentcustomerid_value",
            "$filter": "emailaddress1 eq 'P.VANDAM@zuidhaven.nl'",
        },
        headers={"Prefer": 'odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"'},
    ).json()["value"]
    assert [r["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] for r in rows] == [
        "account"
    ]
    opportunity = http.get(
        f"opportunities({OPP})", params={"$select": "name", "$expand": "parentaccountid($select=name)"}
    ).json()
    assert opportunity["parentaccountid"]["name"] == "Gemeente Zuidhaven"
    etag = opportunity["@odata.etag"]
    assert http.get(f"opportunities({OPP})?$select=name", headers={"If-None-Match": etag}).status_code == 304


def test_paging_with_maxpagesize_and_opaque_skiptoken(http: httpx.Client) -> None:
    first = http.get("opportunities?$select=name", headers={"Prefer": "odata.maxpagesize=3"})
    assert first.headers["preference-applied"] == "odata.maxpagesize=3"
    names = [r["name"] for r in first.json()["value"]]
    link = first.json()["@odata.nextLink"]
    while link:
        page = http.get(link, headers={"Prefer": "odata.maxpagesize=3"}).json()
        names += [r["name"] for r in page["value"]]
        link = page.get("@odata.nextLink")
    assert len(names) == len(set(names)) == 7
    tampered = first.json()["@odata.nextLink"].replace("skiptoken=", "skiptoken=x")
    assert http.get(tampered).status_code == 400


def _create_activity_table(settings: Settings) -> None:
    with dataverse_client(settings) as client:
        provision(client, ActivitySchema.from_settings(settings.publisher), poll_s=0.02)


def test_upsert_conditions_follow_the_docs(
    http: httpx.Client, dv_settings: Settings, dataverse: DataverseEmulator
) -> None:
    key_url = "dt_callinsights(dt_recordingid='rec-1')"
    body = {
        "subject": "s",
        "regardingobjectid_opportunity_dt_callinsight@odata.bind": f"/opportunities({OPP})",
    }
    assert http.patch(key_url, json=body).status_code == 404  # the table does not exist yet
    _create_activity_table(dv_settings)
    assert http.patch(key_url, json=body, headers={"If-Match": "*"}).status_code == 404  # update only: absent
    created = http.patch(key_url, json=body, headers={"If-None-Match": "*"})
    assert created.status_code == 204 and created.headers["odata-entityid"].endswith(key_url)
    duplicate = http.patch(key_url, json=body, headers={"If-None-Match": "*"})
    assert _error(duplicate) == (412, "", "A record with matching key values already exists.")
    updated = http.patch(
        key_url + "?$select=activityid,subject",
        json={**body, "subject": "t"},
        headers={"Prefer": "return=representation"},
    )
    assert updated.status_code == 200 and updated.json()["subject"] == "t"
    stale = http.patch(key_url, json=body, headers={"If-Match": 'W/"1"'})
    assert _error(stale)[:2] == (412, "0x80060882")
    fresh = http.patch(key_url, json=body, headers={"If-Match": updated.json()["@odata.etag"]})
    assert fresh.status_code == 204
    wrong_key = http.patch("dt_callinsights(dt_summary='x')", json=body)
    assert _error(wrong_key)[:2] == (400, "0x80060891")
    assert len(dataverse.dump()["dt_callinsights"]) == 1


def test_custom_activity_rules_are_enforced(http: httpx.Client) -> None:
    label = {"LocalizedLabels": [{"Label": "X", "LanguageCode": 1033}]}
    table = {
        "@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata",
        "SchemaName": "dt_thing",
        "DisplayName": label,
        "DisplayCollectionName": label,
        "OwnershipType": "UserOwned",
        "IsActivity": True,
        "HasActivities": False,
        "HasNotes": True,
        "IsAvailableOffline": True,
        "IsMailMergeEnabled": False,
        "Attributes": [
            {
                "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
                "SchemaName": "Name",
                "IsPrimaryName": True,
                "MaxLength": 100,
            }
        ],
    }
    assert "SchemaName 'Subject'" in _error(http.post("EntityDefinitions", json=table))[2]
    table["Attributes"][0]["SchemaName"] = "Subject"  # type: ignore[index]
    assert "HasActivities" in _error(http.post("EntityDefinitions", json={**table, "HasActivities": True}))[2]
    assert "prefix" in _error(http.post("EntityDefinitions", json={**table, "SchemaName": "thing"}))[2]
    assert http.post("EntityDefinitions", json=table).status_code == 204
    assert "already exists" in _error(http.post("EntityDefinitions", json=table))[2]
    assert http.patch("EntityDefinitions(LogicalName='dt_thing')", json={}).status_code == 405


def _batch(parts: list[str], boundary: str = "batch_1") -> bytes:
    return ("".join(f"--{boundary}\r\n{p}\r\n" for p in parts) + f"--{boundary}--\r\n").encode()


def _request(method: str, url: str, body: dict[str, Any] | None = None, content_id: int | None = None) -> str:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id:
        lines.append(f"Content-ID: {content_id}")
    lines += ["", f"{method} {url} HTTP/1.1"]
    if body is not None:
        lines += ["Content-Type: application/json; type=entry", "", json.dumps(body)]
    else:
        lines.append("")
    return "\r\n".join(lines)


def _changeset(requests: list[str], boundary: str = "changeset_1") -> str:
    inner = "".join(f"--{boundary}\r\n{r}\r\n" for r in requests) + f"--{boundary}--"
    return f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\n{inner}"


def test_batch_format_atomicity_and_references(http: httpx.Client, dataverse: DataverseEmulator) -> None:
    root = dataverse.api_root
    headers = {"Content-Type": "multipart/mixed; boundary=batch_1"}
    lf_only = _batch([_request("GET", f"{root}accounts")]).replace(b"\r\n", b"\n")
    assert _error(http.post("$batch", content=lf_only, headers=headers))[:2] == (400, "0x80048d19")
    get_in_changeset = _batch([_changeset([_request("GET", f"{root}accounts", content_id=1)])])
    assert http.post("$batch", content=get_in_changeset, headers=headers).status_code == 400
    account = {"name": "Nieuw B.V."}
    contact = {"fullname": "Nieuwe Persoon", "parentcustomerid_account@odata.bind": "$1"}
    good = _changeset(
        [_request("POST", f"{root}accounts", account, 1), _request("POST", f"{root}contacts", contact, 2)]
    )
    failing = _changeset(
        [
            _request("POST", f"{root}accounts", {"name": "Weg B.V."}, 3),
            _request("POST", f"{root}contacts", {"nope": 1}, 4),
        ],
        boundary="changeset_2",
    )
    response = http.post(
        "$batch", content=_batch([good, failing]), headers={**headers, "Prefer": "odata.continue-on-error"}
    )
    assert response.status_code == 200 and response.headers["preference-applied"] == "odata.continue-on-error"
    assert response.text.count("HTTP/1.1 204") == 2 and response.text.count("HTTP/1.1 400") == 1
    names = {a["name"] for a in dataverse.dump()["accounts"]}
    assert "Nieuw B.V." in names and "Weg B.V." not in names  # the failing change set rolled back
    nieuw = next(c for c in dataverse.dump()["contacts"] if c["fullname"] == "Nieuwe Persoon")
    assert nieuw["_parentcustomerid_value"] is not None
    undeclared = _batch([_changeset([_request("POST", f"{root}contacts", contact, 1)])])
    stopped = http.post("$batch", content=undeclared, headers=headers)
    assert stopped.status_code == 400 and "Content-ID Reference: '$1' does not exist" in stopped.text


@pytest.mark.parametrize("dataverse_protection", [ServiceProtection(requests_per_window=3, window_s=1.0)])
def test_request_budget_answers_429_with_retry_after(http: httpx.Client) -> None:
    statuses = [http.get("accounts?$select=name").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    throttled = http.get("accounts?$select=name")
    assert _error(throttled)[1] == "0x80072322" and int(throttled.headers["retry-after"]) >= 1
    time.sleep(1.05)
    assert http.get("accounts?$select=name").status_code == 200
