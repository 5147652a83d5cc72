"""Graph's onlineMeeting (the SDK model) -> MeetingInfo with seller/customer roles."""

from __future__ import annotations

from datetime import UTC, datetime

from msgraph.generated.models.identity import Identity
from msgraph.generated.models.identity_set import IdentitySet
from msgraph.generated.models.meeting_participant_info import MeetingParticipantInfo
from msgraph.generated.models.meeting_participants import MeetingParticipants
from msgraph.generated.models.online_meeting import OnlineMeeting

from dealtalk.contracts.config import TenantSettings
from dealtalk.ingest.graph.meeting import meeting_info


def _person(upn: str, name: str | None) -> MeetingParticipantInfo:
    return MeetingParticipantInfo(upn=upn, identity=IdentitySet(user=Identity(id="x", display_name=name)))


def test_roles_names_and_times() -> None:
    meeting = OnlineMeeting(
        id="MSo1",
        subject="Verlenging",
        start_date_time=datetime(2026, 11, 16, 9, 0),  # naive: Graph times are UTC
        end_date_time=datetime(2026, 11, 16, 9, 30, tzinfo=UTC),
        join_web_url="https://teams.microsoft.com/l/meetup-join/x",
        participants=MeetingParticipants(
            organizer=_person("eva.devries@schoonenberg.nl", None),
            attendees=[
                _person("p.vandam@zuidhaven.nl", "Pieter van Dam"),
                _person("mark.jansen@Schoonenberg.NL", None),
            ],
        ),
    )
    info = meeting_info(meeting, TenantSettings(internal_domains=("schoonenberg.nl",)))
    assert info.organizer is not None
    assert (info.organizer.name, info.organizer.role, info.organizer.is_organizer) == (
        "Eva Devries",
        "seller",
        True,
    )
    assert [(a.name, a.role) for a in info.attendees] == [
        ("Pieter van Dam", "customer"),
        ("Mark Jansen", "seller"),
    ]
    assert info.start_time == datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
    assert info.online_meeting_id == "MSo1" and info.join_url and info.subject == "Verlenging"


def test_meeting_without_participants() -> None:
    info = meeting_info(OnlineMeeting(id="m"), TenantSettings())
    assert info.organizer is None and info.attendees == ()
