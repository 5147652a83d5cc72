"""Browser sign-in in headless Chromium: the report link from Dynamics 365 → the API sends the browser to the
identity emulator's authorize page → the page signs in (code flow with PKCE, MSAL on the API side) → the
callback starts a session → the report page, with the call's transcript for the manager of its team."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from dealtalk.contracts.config import Settings
from dealtalk.emulators.identity_codeflow import User, WebApp
from tests.integration.api.conftest import API_CLIENT, API_SECRET, Identity, seed_calls
from tests.integration.api.live import LiveApi, free_port
from tests.integration.api.seed import MARK_OID, SANNE_OID, SECRET_TEXT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _open_in_chromium(url: str, profile: Path) -> str:
    assert CHROMIUM is not None
    completed = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--ignore-certificate-errors",  # the emulator's self-signed certificate
            f"--user-data-dir={profile}",
            "--virtual-time-budget=15000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return completed.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (scripts/setup.sh --dev)")
@pytest.mark.parametrize(
    ("oid", "sees_report"), [(MARK_OID, True), (SANNE_OID, False)], ids=["team", "other"]
)
def test_report_link_signs_in_and_shows_the_report(
    identity: Identity, api_settings: Callable[..., Settings], tmp_path: Path, oid: str, sees_report: bool
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    identity.provider.apps[API_CLIENT] = WebApp(API_CLIENT, API_SECRET, (f"{base}/auth/callback",))
    identity.provider.signed_in = User(oid=oid, name="Seller", roles=("manager",))
    settings = api_settings(public_url=base)
    seed_calls(settings)
    with LiveApi(settings, port):
        page = _open_in_chromium(f"{base}/calls/call-team/report", tmp_path / "profile")
    authorize = [r for r in identity.emulator.server.requests if r.path.endswith("/oauth2/v2.0/authorize")]
    assert [r.method for r in authorize][-2:] == ["GET", "POST"]  # the page, then its sign-in form
    assert "code_challenge=" in authorize[-2].target and "code_challenge_method=S256" in authorize[-2].target
    if sees_report:
        assert SECRET_TEXT in page
    else:
        # Signed in, but the call belongs to another team: a 404 problem, no transcript.
        assert SECRET_TEXT not in page and "that you may see" in page
