"""The dry-run publisher and the factory defaults: exact requests in the outbox, one file per recording."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from dealtalk.contracts.config import Settings
from dealtalk.contracts.documents import CallResult, MeetingInfo
from dealtalk.publisher.dryrun import OUTBOX_FORMAT, DryRunPublisher
from dealtalk.publisher.factory import load_publisher, load_resolver


def _settings(tmp_path: Path, **publisher: object) -> Settings:
    return Settings.load(
        data_dir=tmp_path, publisher={"report_base_url": "https://dt.example.nl", **publisher}
    )


def test_factory_defaults_to_fixture_and_dry_run(
    tmp_path: Path, make_result: Callable[..., CallResult], sample_meetings: dict[str, MeetingInfo]
) -> None:
    settings = _settings(tmp_path)
    resolver = load_resolver(settings)
    publisher = load_publisher(settings)
    assert isinstance(publisher, DryRunPublisher)
    meeting = sample_meetings["zuidhaven"]
    link = resolver.resolve(meeting)
    receipt = publisher.publish(
        make_result(), recording_id="rec-2026-11-16-zuidhaven", meeting=meeting, link=link
    )
    outbox = tmp_path / "outbox" / "rec-2026-11-16-zuidhaven.json"
    assert receipt.target == str(outbox) and receipt.created
    assert receipt.activity_id == "dt_callinsights(dt_recordingid='rec-2026-11-16-zuidhaven')"
    document = json.loads(outbox.read_text(encoding="utf-8"))
    assert document["format"] == OUTBOX_FORMAT
    assert document["link_method"] == "appointment"
    (request,) = document["requests"]
    assert request["method"] == "PATCH"
    assert (
        request["url"]
        == "/api/data/v9.2/dt_callinsights(dt_recordingid='rec-2026-11-16-zuidhaven')?$select=activityid"
    )
    assert request["headers"]["Prefer"] == "return=representation"
    assert request["headers"]["OData-Version"] == "4.0"
    assert "Authorization" not in request["headers"]
    assert request["body"]["dt_healthscore"] == 58


def test_publishing_twice_overwrites_one_file(
    tmp_path: Path, make_result: Callable[..., CallResult], sample_meetings: dict[str, MeetingInfo]
) -> None:
    settings = _settings(tmp_path)
    publisher = load_publisher(settings)
    meeting = sample_meetings["northwind"]
    link = load_resolver(settings).resolve(meeting)
    first = publisher.publish(make_result(summary="eerste"), recording_id="rec-x", meeting=meeting, link=link)
    second = publisher.publish(
        make_result(summary="tweede"), recording_id="rec-x", meeting=meeting, link=link
    )
    assert first.created and not second.created
    assert [p.name for p in (tmp_path / "outbox").iterdir()] == ["rec-x.json"]
    body = json.loads((tmp_path / "outbox" / "rec-x.json").read_text())["requests"][0]["body"]
    assert body["dt_summary"] == "tweede"


def test_absolute_urls_with_an_org_and_fallback_mode(
    tmp_path: Path, make_result: Callable[..., CallResult], sample_meetings: dict[str, MeetingInfo]
) -> None:
    settings = Settings.load(
        data_dir=tmp_path,
        publisher={"fallback_phonecall": True},
        dataverse={"url": "https://contoso.crm4.dynamics.com/"},
    )
    meeting = sample_meetings["brightlab"]
    link = load_resolver(settings).resolve(meeting)
    receipt = load_publisher(settings).publish(
        make_result(), recording_id="rec-b", meeting=meeting, link=link
    )
    assert receipt.activity_id.startswith("phonecalls(")
    requests = json.loads(Path(receipt.target).read_text())["requests"]
    assert [r["url"].split("(")[0] for r in requests] == [
        "https://contoso.crm4.dynamics.com/api/data/v9.2/phonecalls",
        "https://contoso.crm4.dynamics.com/api/data/v9.2/annotations",
    ]
