"""The call-insights activity body and the phone call + note fallback."""

from __future__ import annotations

from collections.abc import Callable

from dealtalk.contracts.config import PublisherSettings
from dealtalk.contracts.documents import CallResult, MeetingInfo, OpportunityLink
from dealtalk.publisher.fixture import FixtureCrmReader
from dealtalk.publisher.payload import (
    CallActivity,
    fallback_requests,
    insight_activity_request,
    report_url_for,
    resolve_parties,
)
from dealtalk.publisher.request import record_key, stable_id
from dealtalk.publisher.schema import ActivitySchema

OPP = "680f89c8-b972-592e-9050-7e61dacce2d0"


def _call(
    result: CallResult, meeting: MeetingInfo, reader: FixtureCrmReader, *, linked: bool = True
) -> CallActivity:
    link = OpportunityLink(OPP if linked else None, "appointment" if linked else "none", "test")
    return CallActivity(
        result=result,
        recording_id=result.call_id,
        meeting=meeting,
        link=link,
        parties=resolve_parties(meeting, reader),
        report_url=report_url_for("https://dealtalk.example.nl/", result.call_id),
    )


def test_parties_are_the_organizer_as_user_and_customers_as_contacts(
    sample_meetings: dict[str, MeetingInfo], fixture_reader: FixtureCrmReader
) -> None:
    parties = resolve_parties(sample_meetings["northwind"], fixture_reader)
    assert [(p.table, p.is_organizer) for p in parties] == [
        ("systemuser", True),
        ("contact", False),
        ("contact", False),
    ]
    # Emma Clarke (brightlab) has no contact row: left out rather than sent as an unresolved party.
    assert len(resolve_parties(sample_meetings["brightlab"], fixture_reader)) == 2


def test_activity_upsert_addresses_the_key_and_regards_the_opportunity(
    make_result: Callable[..., CallResult],
    sample_meetings: dict[str, MeetingInfo],
    fixture_reader: FixtureCrmReader,
) -> None:
    schema = ActivitySchema.from_settings(PublisherSettings())
    request = insight_activity_request(
        _call(make_result(), sample_meetings["zuidhaven"], fixture_reader), schema
    )
    assert request.method == "PATCH"
    assert request.path == "dt_callinsights(dt_recordingid='rec-2026-11-16-zuidhaven')?$select=activityid"
    assert request.headers == {"Prefer": "return=representation"}
    body = dict(request.body or {})
    assert body["regardingobjectid_opportunity_dt_callinsight@odata.bind"] == f"/opportunities({OPP})"
    assert "dt_recordingid" not in body  # key columns travel in the URL only
    assert body["subject"] == "Teams call: Verlenging schoonmaakcontract stadhuis en wijkkantoren"
    assert body["dt_healthscore"] == 58
    assert body["dt_sentiment"] == 727000002  # the customer's segments are neutral then clearly negative
    assert body["dt_sentimentscore"] < 0
    assert body["dt_sellertalkratio"] == 0.58
    assert body["dt_riskcount"] == 2
    first_risk = body["dt_risks"].splitlines()[0]
    assert first_risk.startswith("[high] price_objection at 00:23-00:30, Pieter van Dam (customer)")
    assert "“we vinden de prijs per vierkante meter te hoog”" in first_risk
    assert (
        "owner Eva de Vries (seller)" in body["dt_actionitems"] and "due 2026-11-27" in body["dt_actionitems"]
    )
    assert body["dt_reporturl"] == "https://dealtalk.example.nl/calls/rec-2026-11-16-zuidhaven/report"
    assert body["actualstart"] == "2026-11-16T09:00:00Z" and body["actualdurationminutes"] == 2
    assert body["description"].endswith(
        "Full report: https://dealtalk.example.nl/calls/rec-2026-11-16-zuidhaven/report"
    )
    parties = body["dt_callinsight_activity_parties"]
    assert parties[0] == {
        "partyid_systemuser@odata.bind": "/systemusers(90509188-33d5-55c7-979b-e2fc3b23f163)",
        "participationtypemask": 7,
    }
    assert parties[1]["participationtypemask"] == 5


def test_every_written_column_exists_in_the_table_definition(
    make_result: Callable[..., CallResult],
    sample_meetings: dict[str, MeetingInfo],
    fixture_reader: FixtureCrmReader,
) -> None:
    schema = ActivitySchema.from_settings(PublisherSettings())
    body = insight_activity_request(
        _call(make_result(), sample_meetings["northwind"], fixture_reader), schema
    ).body
    defined = {schema.column(c.suffix) for c in schema.definition.columns}
    inherited = {"subject", "description", "actualstart", "actualend", "actualdurationminutes"}
    written = {k for k in body or {} if "@" not in k and not k.endswith("_activity_parties")}
    assert written <= defined | inherited


def test_unlinked_call_has_no_regarding_and_long_text_is_clipped(
    make_result: Callable[..., CallResult],
    sample_meetings: dict[str, MeetingInfo],
    fixture_reader: FixtureCrmReader,
) -> None:
    schema = ActivitySchema.from_settings(PublisherSettings())
    result = make_result(summary="Lang verhaal. " * 1000)
    body = insight_activity_request(
        _call(result, sample_meetings["zuidhaven"], fixture_reader, linked=False), schema
    )
    assert body.body is not None
    assert not any(k.startswith("regardingobjectid") for k in body.body)
    assert len(body.body["dt_summary"]) == 4000 and body.body["dt_summary"].endswith("…")
    assert len(body.body["description"]) <= 2000


def test_unsafe_recording_ids_get_a_digest_key() -> None:
    graph_id = "VjIjIzEwOTY0NzAzZS1hOGY1LTRkNWQtOTJkZi05ZWU3NTQ3N2NkZDQ+/abc=="
    key = record_key(graph_id)
    assert key.startswith("sha256-") and len(key) == 47 and key == record_key(graph_id)
    assert record_key("rec-2026-11-16-zuidhaven") == "rec-2026-11-16-zuidhaven"
    assert record_key("it's") != "it's"


def test_fallback_is_a_phonecall_and_a_note_with_stable_ids(
    make_result: Callable[..., CallResult],
    sample_meetings: dict[str, MeetingInfo],
    fixture_reader: FixtureCrmReader,
) -> None:
    call = _call(make_result(), sample_meetings["zuidhaven"], fixture_reader)
    phonecall, note = fallback_requests(call)
    phonecall_id = stable_id(call.recording_id, "phonecall")
    assert phonecall.path == f"phonecalls({phonecall_id})?$select=activityid"
    assert phonecall.body is not None and note.body is not None
    assert phonecall.body["regardingobjectid_opportunity_phonecall@odata.bind"] == f"/opportunities({OPP})"
    assert [p["participationtypemask"] for p in phonecall.body["phonecall_activity_parties"]] == [1, 2]
    assert note.body["objectid_opportunity@odata.bind"] == f"/opportunities({OPP})"
    assert "KPIs:" in note.body["notetext"]
    again = fallback_requests(call)
    assert (again[0].path, again[1].path) == (phonecall.path, note.path)
    unlinked = fallback_requests(
        _call(make_result(), sample_meetings["zuidhaven"], fixture_reader, linked=False)
    )
    assert unlinked[1].body is not None
    assert unlinked[1].body["objectid_phonecall@odata.bind"] == f"/phonecalls({phonecall_id})"
