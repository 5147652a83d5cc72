"""The Dataverse requests that put one call on the opportunity timeline.

Two shapes, both idempotent under redelivery:

* the call-insights custom activity, upserted by its alternate key on the recording id
  (``PATCH dt_callinsights(dt_recordingid='…')``), regarding the opportunity, with activity parties;
* the fallback for organisations that cannot add tables: a phone call plus a note, each upserted by a
  deterministic id derived from the recording id (``PATCH phonecalls(<uuid5>)``).

Inputs are the call result, the meeting, the opportunity link and the participants already matched to CRM
rows (``Party``); ``resolve_parties`` does that matching through a ``CrmReader``.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from dealtalk.contracts.documents import CallResult, MeetingInfo, OpportunityLink
from dealtalk.publisher.crm import CrmReader
from dealtalk.publisher.report_text import (
    action_item_lines,
    clip,
    customer_sentiment,
    describe_call,
    risk_lines,
    seller_talk_ratio,
)
from dealtalk.publisher.request import DataverseRequest, entity_path, key_path, record_key, stable_id
from dealtalk.publisher.rules import normalize_email
from dealtalk.publisher.schema import ActivitySchema

__all__ = [
    "PARTICIPATION",
    "CallActivity",
    "Party",
    "fallback_requests",
    "insight_activity_request",
    "report_url_for",
    "resolve_parties",
]

# activityparty.participationtypemask values (Microsoft's ActivityParty table reference).
PARTICIPATION = {"sender": 1, "to": 2, "required_attendee": 5, "organizer": 7}
_PHONECALL_DESCRIPTION_MAX = 2000
_NOTE_TEXT_MAX = 100_000
_SUBJECT_MAX = 200


@dataclass(frozen=True, slots=True)
class Party:
    """A participant matched to a CRM row: a seller (``systemuser``) or a customer (``contact``)."""

    table: Literal["systemuser", "contact"]
    id: str
    is_organizer: bool


@dataclass(frozen=True, slots=True)
class CallActivity:
    """Everything one publish needs besides names: the call, its meeting, its link and its people."""

    result: CallResult
    recording_id: str
    meeting: MeetingInfo
    link: OpportunityLink
    parties: tuple[Party, ...] = ()
    report_url: str | None = None


def resolve_parties(meeting: MeetingInfo, reader: CrmReader) -> tuple[Party, ...]:
    """Match the meeting's people to systemusers and contacts by e-mail; unmatched people are left out.

    Why left out: an unresolved activity party needs the organisation to allow unresolved e-mail addresses,
    which many do not, and the participants stay visible in the activity's text anyway.
    """
    people = [p for p in meeting.participants if p.email]
    emails = [normalize_email(p.email or "") for p in people]
    if not emails:
        return ()
    organizer = (
        normalize_email(meeting.organizer.email) if meeting.organizer and meeting.organizer.email else None
    )
    users = {normalize_email(u.email): u.id for u in reader.users_by_email(emails)}
    contacts = {normalize_email(c.email): c.id for c in reader.contacts_by_email(emails)}
    parties: list[Party] = []
    for email in dict.fromkeys(emails):
        if email in users:
            parties.append(Party("systemuser", users[email], is_organizer=email == organizer))
        elif email in contacts:
            parties.append(Party("contact", contacts[email], is_organizer=False))
    return tuple(parties)


def report_url_for(base_url: str, recording_id: str) -> str | None:
    """The HTML report's address under ``PublisherSettings.report_base_url``; None when not configured."""
    if not base_url:
        return None
    return f"{base_url.rstrip('/')}/calls/{urllib.parse.quote(recording_id, safe='')}/report"


def _times(call: CallActivity) -> dict[str, Any]:
    columns: dict[str, Any] = {"actualdurationminutes": max(1, round(call.result.duration_s / 60))}
    if call.meeting.start_time is not None:
        start = call.meeting.start_time.astimezone(UTC)
        columns["actualstart"] = _iso(start)
        columns["actualend"] = _iso(start + timedelta(seconds=call.result.duration_s))
    return columns


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _subject(call: CallActivity, limit: int) -> str:
    topic = (call.meeting.subject or "").strip() or f"recording {call.recording_id}"
    return clip(f"Teams call: {topic}", limit)


def _party_rows(parties: Sequence[Party], *, organizer_mask: int, other_mask: int) -> list[dict[str, Any]]:
    rows = []
    for party in parties:
        mask = organizer_mask if party.is_organizer else other_mask
        entity_set = "systemusers" if party.table == "systemuser" else "contacts"
        rows.append(
            {f"partyid_{party.table}@odata.bind": f"/{entity_set}({party.id})", "participationtypemask": mask}
        )
    return rows


def _kpis_json(result: CallResult) -> str:
    speakers = [{"id": s.id, "name": s.name, "role": s.role} for s in result.speakers]
    payload = {
        "kpis": result.kpis.model_dump(mode="json"),
        "speakers": speakers,
        "health": result.health.score,
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _max_length(schema: ActivitySchema, suffix: str) -> int:
    return schema.definition.column(suffix).max_length or 4000


def insight_activity_request(call: CallActivity, schema: ActivitySchema) -> DataverseRequest:
    """The upsert of the call-insights activity, keyed by the recording id.

    ``Prefer: return=representation`` makes Dataverse answer 201 on create and 200 on update with the
    ``activityid``, so the receipt can tell a first publish from a redelivery. The key column is in the URL
    only: Dataverse copies it into a new record and ignores key columns in the body on update.
    """
    result = call.result
    col = schema.column
    body: dict[str, Any] = {
        "subject": _subject(call, schema.definition.table.subject_max_length),
        "description": describe_call(result, report_url=call.report_url, limit=_PHONECALL_DESCRIPTION_MAX),
        **_times(call),
        col("sourcerecordingid"): clip(call.recording_id, _max_length(schema, "sourcerecordingid")),
        col("summary"): clip(result.summary, _max_length(schema, "summary")),
        col("healthscore"): result.health.score,
        col("language"): clip(result.language, _max_length(schema, "language")),
        col("kpis"): clip(_kpis_json(result), _max_length(schema, "kpis")),
        col("risks"): clip("\n".join(risk_lines(result)), _max_length(schema, "risks")),
        col("riskcount"): len(result.risks),
        col("actionitems"): clip("\n".join(action_item_lines(result)), _max_length(schema, "actionitems")),
        col("linkmethod"): call.link.method,
    }
    tone = customer_sentiment(result)
    if tone is not None:
        body[col("sentiment")] = schema.option_value("sentiment", tone[0])
        body[col("sentimentscore")] = round(tone[1], 2)
    talk = seller_talk_ratio(result)
    if talk is not None:
        body[col("sellertalkratio")] = round(talk, 2)
    if call.report_url:
        body[col("reporturl")] = clip(call.report_url, _max_length(schema, "reporturl"))
    if call.link.opportunity_id:
        body[f"{schema.regarding_opportunity_navigation}@odata.bind"] = (
            f"/opportunities({call.link.opportunity_id})"
        )
    if call.parties:
        body[schema.parties_navigation] = _party_rows(
            call.parties,
            organizer_mask=PARTICIPATION["organizer"],
            other_mask=PARTICIPATION["required_attendee"],
        )
    path = (
        key_path(schema.entity_set, schema.key_column, record_key(call.recording_id)) + "?$select=activityid"
    )
    return DataverseRequest(
        method="PATCH",
        path=path,
        body=body,
        headers={"Prefer": "return=representation"},
        purpose="upsert the call-insights activity by its recording-id key",
    )


def fallback_requests(call: CallActivity) -> tuple[DataverseRequest, DataverseRequest]:
    """A phone call regarding the opportunity, plus a note with the full insights (no custom table needed).

    Both are upserts by a GUID derived from the recording id, so a redelivery updates the same two records.
    The note hangs on the opportunity when there is one (so it shows on its timeline), else on the call.
    """
    result = call.result
    phonecall_id = stable_id(call.recording_id, "phonecall")
    note_id = stable_id(call.recording_id, "note")
    phonecall: dict[str, Any] = {
        "subject": _subject(call, _SUBJECT_MAX),
        "description": describe_call(result, report_url=call.report_url, limit=_PHONECALL_DESCRIPTION_MAX),
        "directioncode": True,
        **_times(call),
    }
    if call.link.opportunity_id:
        phonecall["regardingobjectid_opportunity_phonecall@odata.bind"] = (
            f"/opportunities({call.link.opportunity_id})"
        )
    if call.parties:
        phonecall["phonecall_activity_parties"] = _party_rows(
            call.parties, organizer_mask=PARTICIPATION["sender"], other_mask=PARTICIPATION["to"]
        )
    note_text = describe_call(result, report_url=call.report_url, limit=_NOTE_TEXT_MAX)
    note: dict[str, Any] = {
        "subject": clip(
            f"Call insights: {(call.meeting.subject or call.recording_id).strip()}", _SUBJECT_MAX
        ),
        "notetext": clip(f"{note_text}\n\nKPIs: {_kpis_json(result)}", _NOTE_TEXT_MAX),
        "isdocument": False,
    }
    if call.link.opportunity_id:
        note["objectid_opportunity@odata.bind"] = f"/opportunities({call.link.opportunity_id})"
    else:
        note["objectid_phonecall@odata.bind"] = f"/phonecalls({phonecall_id})"
    prefer = {"Prefer": "return=representation"}
    return (
        DataverseRequest(
            "PATCH",
            entity_path("phonecalls", phonecall_id) + "?$select=activityid",
            phonecall,
            prefer,
            "upsert the phone call by its recording-derived id",
        ),
        DataverseRequest(
            "PATCH",
            entity_path("annotations", note_id) + "?$select=annotationid",
            note,
            prefer,
            "upsert the insights note by its recording-derived id",
        ),
    )
