"""Schemathesis against the OpenAPI document of the running API (uvicorn on loopback), signed in as admin
with an API key: generated requests must never get a 5xx, and answers must match the documented schemas.
Bounded: a few examples per operation (the whole run takes well under a minute on 2 cores)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from dealtalk.api.app import create_app
from dealtalk.api.auth.apikeys import create_key
from dealtalk.contracts.config import Settings
from dealtalk.pipeline.resources import Resources
from tests.integration.api.live import LiveApi, free_port
from tests.integration.api.seed import BRIGHTLAB_OPP, ZUIDHAVEN_OPP, seed_call


def _settings(data_dir: Path) -> Settings:
    return Settings.load(data_dir=data_dir, api={"max_export_rows": 200})


schema = schemathesis.openapi.from_dict(create_app(_settings(Path("/nonexistent"))).openapi())


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    settings = _settings(tmp_path_factory.mktemp("data"))
    resources = Resources.open(settings)
    try:
        seed_call(resources, "call-a", opportunity_id=ZUIDHAVEN_OPP, account_name="Gemeente Zuidhaven")
        seed_call(resources, "call-b", opportunity_id=BRIGHTLAB_OPP, account_name="Brightlab")
        _, key = create_key(resources.database, role="admin", name="schemathesis", pepper=None)
    finally:
        resources.close()
    port = free_port()
    with LiveApi(settings, port):
        yield f"http://127.0.0.1:{port}", key


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_honours_its_openapi_document(case: Any, live: tuple[str, str]) -> None:
    base_url, key = live
    response = case.call(base_url=base_url, headers={"X-API-Key": key}, timeout=30)
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
