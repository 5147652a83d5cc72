"""Bearer-token edge cases (v1 tokens, key rotation, unknown keys, forged algorithms), API keys, the session
cookie's CSRF protection, and the refusal to serve without authentication on a public address."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from dealtalk.api.app import create_app
from dealtalk.api.auth.apikeys import authenticate_key, create_key, revoke_key
from dealtalk.api.auth.principal import Principal
from dealtalk.api.auth.sessions import create_session
from dealtalk.api.wiring import check_exposure
from dealtalk.contracts.config import Settings
from dealtalk.contracts.errors import ConfigurationError
from dealtalk.pipeline.resources import Resources
from dealtalk.pipeline.store.access import ApiKeyRow
from dealtalk.pipeline.store.schema import utcnow
from tests.integration.api.conftest import ADMIN_OID, API_CLIENT, MANAGER_OID, TENANT, Api
from tests.integration.api.seed import MARK, ZUIDHAVEN_OPP


def _get(api: Api, token: str, path: str = "/risks") -> tuple[int, str]:
    response = api.client.get(path, headers={"Authorization": f"Bearer {token}"})
    return response.status_code, response.json().get("detail", "") if response.status_code >= 400 else ""


def test_v1_tokens_of_the_tenant_are_accepted(api: Api) -> None:
    token = api.identity.token(iss=f"https://sts.windows.net/{TENANT}/", aud=f"api://{API_CLIENT}", ver="1.0")
    assert _get(api, token) == (200, "")


@pytest.mark.parametrize(
    ("claims", "detail"),
    [
        ({"tid": "11111111-2222-4333-8444-555555555555"}, "another tenant"),
        (
            {"iss": "https://login.microsoftonline.com/11111111-2222-4333-8444-555555555555/v2.0"},
            "another issuer",
        ),
        ({"nbf": int(time.time()) + 3600}, "not valid yet"),
        ({"oid": None}, "invalid"),
    ],
)
def test_tokens_with_wrong_claims_are_refused(api: Api, claims: dict[str, Any], detail: str) -> None:
    status, text = _get(api, api.identity.token(**claims))
    assert status == 401 and detail in text


def test_forged_and_unsigned_tokens_are_refused(api: Api) -> None:
    claims = jwt.decode(api.identity.token(), options={"verify_signature": False})
    assert _get(api, jwt.encode(claims, "x" * 32, algorithm="HS256"))[0] == 401
    assert _get(api, jwt.encode(claims, "", algorithm="none"))[0] == 401
    good = api.identity.token()
    tampered = good.rsplit(".", 1)[0] + "." + good.rsplit(".", 1)[1][::-1]
    assert _get(api, tampered)[0] == 401
    assert _get(api, "not-a-jwt")[0] == 401


def test_keys_roll_over_and_unknown_keys_stay_refused(
    api: Api, api_settings: Callable[..., Settings]
) -> None:
    identity = api.identity

    def fetches() -> int:
        return sum(r.path.endswith("/discovery/v2.0/keys") for r in identity.emulator.server.requests)

    settings = api_settings(jwks_refresh_min_s=1.0)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:

        def status(token: str) -> int:
            return client.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code

        assert status(identity.token()) == 200
        before = fetches()
        kid = identity.keys.rotate()
        try:
            # The new key is unknown; the keys were fetched under a second ago, so no refetch yet: refused.
            assert status(identity.token()) == 401
            time.sleep(1.1)
            assert status(identity.token()) == 200  # one refetch, and the new key is known
            assert fetches() == before + 1
            # A key published nowhere: refused, and at most one refetch per interval however often it comes.
            stranger = identity.keys.unpublished()
            claims = jwt.decode(identity.token(), options={"verify_signature": False})
            for _ in range(5):
                assert status(identity.keys.sign(claims, key=stranger)) == 401
            assert fetches() <= before + 2
        finally:
            identity.keys.retire(kid)


def test_api_keys_store_only_a_hash_and_can_be_revoked(api: Api) -> None:
    resources = Resources.open(api.settings)
    try:
        info, key = create_key(resources.database, role="analyst", name="bi-export", pepper=None)
        with resources.database.session() as session:
            stored = session.get(ApiKeyRow, info.key_id)
            # The secret itself may contain "_": it is everything after the prefix and the key id.
            secret = key.split("_", 2)[2]
            assert stored is not None and secret not in stored.secret_hash and len(secret) == 43
        assert api.client.get("/risks", headers={"X-API-Key": key}).status_code == 200
        assert api.client.get("/risks", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        assert api.client.get("/audit", headers={"X-API-Key": key}).status_code == 403
        wrong = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
        assert api.client.get("/risks", headers={"X-API-Key": wrong}).status_code == 401
        assert revoke_key(resources.database, info.key_id)
        assert api.client.get("/risks", headers={"X-API-Key": key}).status_code == 401
        info2, key2 = create_key(resources.database, role="admin", name="ops", pepper=None, expires_in_days=1)
        with resources.database.session() as session:
            session.execute(
                update(ApiKeyRow)
                .where(ApiKeyRow.key_id == info2.key_id)
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )
        assert authenticate_key(resources.database, key2, None) is None
    finally:
        resources.close()


def test_a_manager_key_sees_its_team(api: Api) -> None:
    key = api.key("manager", systemuser_id=MARK)
    calls = api.client.get("/calls", headers={"X-API-Key": key}).json()["items"]
    assert [c["call_id"] for c in calls] == ["call-team"]
    assert calls[0]["opportunity_id"] == ZUIDHAVEN_OPP


def test_browser_writes_need_the_csrf_token_and_the_same_origin(api: Api) -> None:
    resources = Resources.open(api.settings)
    try:
        person = Principal(
            kind="session", id=MANAGER_OID, name="Mark", roles=frozenset({"manager"}), systemuser_id=MARK
        )
        session_id = create_session(resources.database, person, max_age_s=600)
    finally:
        resources.close()
    api.client.cookies.set("dealtalk-session", session_id)
    try:
        me = api.client.get("/auth/me").json()
        assert me["kind"] == "session" and me["csrf_token"]
        body = {"opportunity_id": ZUIDHAVEN_OPP}
        path = "/calls/call-team/link"
        assert api.client.post(path, json=body).status_code == 403
        evil = {"X-CSRF-Token": me["csrf_token"], "Origin": "https://evil.example"}
        assert api.client.post(path, json=body, headers=evil).status_code == 403
        good = {"X-CSRF-Token": me["csrf_token"], "Origin": "http://127.0.0.1"}
        assert api.client.post(path, json=body, headers=good).status_code == 200
    finally:
        api.client.cookies.clear()


def test_admins_see_every_call(api: Api) -> None:
    admin = api.identity.token(roles=["admin"], oid=ADMIN_OID)
    calls = api.client.get("/calls", headers={"Authorization": f"Bearer {admin}"}).json()["items"]
    assert {c["call_id"] for c in calls} == {"call-team", "call-other", "call-unlinked"}


@pytest.mark.parametrize(("host", "refused"), [("0.0.0.0", True), ("10.1.2.3", True), ("127.0.0.1", False)])
def test_serve_refuses_a_public_host_without_authentication(host: str, refused: bool) -> None:
    settings = Settings.load(api={"auth": "off"})
    if refused:
        with pytest.raises(ConfigurationError, match="DEALTALK_API__AUTH=off"):
            check_exposure(host, settings)
    else:
        check_exposure(host, settings)
    check_exposure(host, Settings.load())  # authentication on: any host
