"""The tenant behind the Graph emulator: users, Teams meetings, their recordings and transcripts.

Shapes follow the Graph v1.0 resources ``user``, ``onlineMeeting`` (with ``participants``), ``callRecording``
and ``callTranscript``. Recordings carry a sequence number so that delta tokens can say "everything after n".
"""

from __future__ import annotations

import base64
import hashlib
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["Group", "Meeting", "Recording", "Tenant", "Transcript", "User", "iso"]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class User:
    id: str
    upn: str
    display_name: str
    # An ISO 639-1 + region tag ("nl-NL"), or None when the user never set one (Graph then answers null).
    preferred_language: str | None = None


@dataclass
class Group:
    """An Entra ID group; ``member_ids`` are users' or nested groups' object ids (direct members only)."""

    id: str
    display_name: str
    member_ids: list[str] = field(default_factory=list)


@dataclass
class Meeting:
    id: str
    organizer_id: str
    subject: str | None
    start: datetime
    end: datetime
    join_url: str
    attendees: list[tuple[str, str | None]]  # (upn, display name)
    created: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class Recording:
    id: str
    meeting_id: str
    organizer_id: str
    content: bytes
    duration_s: float
    created: datetime
    seq: int
    call_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    correlation_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.content).hexdigest()[:32] + '"'


@dataclass
class Transcript:
    id: str
    meeting_id: str
    organizer_id: str
    correlation_id: str
    vtt: str
    created: datetime


def graph_id(*parts: str) -> str:
    """A long base64 id like the ones ``getAllRecordings`` returns (may contain ``+`` and ``/``)."""
    return base64.b64encode(hashlib.sha512("|".join(parts).encode()).digest()).decode()


class Tenant:
    """All Teams data of one emulated tenant (thread-safe through ``lock``)."""

    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}
        self.meetings: dict[str, Meeting] = {}
        self.recordings: list[Recording] = []
        self.transcripts: list[Transcript] = []
        self.groups: dict[str, Group] = {}
        # Users whose meetings the application access policy opens to the app (Grant-CsApplicationAccessPolicy).
        self.policy_users: set[str] = set()
        self._seq = 0

    def add_user(
        self, upn: str, display_name: str, *, policy: bool = True, preferred_language: str | None = None
    ) -> User:
        user = User(str(uuid.uuid5(uuid.NAMESPACE_DNS, upn.lower())), upn, display_name, preferred_language)
        with self.lock:
            self.users[user.id] = user
            if policy:
                self.policy_users.add(user.id)
        return user

    def user(self, id_or_upn: str) -> User | None:
        with self.lock:
            if id_or_upn in self.users:
                return self.users[id_or_upn]
            return next((u for u in self.users.values() if u.upn.lower() == id_or_upn.lower()), None)

    def add_group(self, display_name: str, member_ids: list[str] | None = None) -> Group:
        group = Group(str(uuid.uuid5(uuid.NAMESPACE_OID, display_name)), display_name, list(member_ids or []))
        with self.lock:
            self.groups[group.id] = group
        return group

    def add_meeting(self, meeting: Meeting) -> Meeting:
        with self.lock:
            self.meetings[meeting.id] = meeting
        return meeting

    def add_recording(
        self,
        meeting: Meeting,
        content: bytes,
        *,
        duration_s: float,
        recording_id: str | None = None,
        transcript_vtt: str | None = None,
        created: datetime | None = None,
    ) -> Recording:
        with self.lock:
            self._seq += 1
            created = created or meeting.end + timedelta(seconds=self._seq)
            recording = Recording(
                id=recording_id or graph_id(meeting.id, "recording", str(self._seq)),
                meeting_id=meeting.id,
                organizer_id=meeting.organizer_id,
                content=content,
                duration_s=duration_s,
                created=created,
                seq=self._seq,
            )
            self.recordings.append(recording)
            if transcript_vtt is not None:
                self.transcripts.append(
                    Transcript(
                        graph_id(meeting.id, "transcript", str(self._seq)),
                        meeting.id,
                        meeting.organizer_id,
                        recording.correlation_id,
                        transcript_vtt,
                        created,
                    )
                )
        return recording

    def remove_recording(self, recording_id: str) -> None:
        with self.lock:
            self.recordings = [r for r in self.recordings if r.id != recording_id]

    # --- JSON shapes ------------------------------------------------------------------------------------
    def identity(self, user_id: str) -> dict[str, Any]:
        return {
            "application": None,
            "device": None,
            "user": {
                "@odata.type": "#microsoft.graph.teamworkUserIdentity",
                "id": user_id,
                "displayName": None,
                "userIdentityType": "aadUser",
                "tenantId": self.tenant_id,
            },
        }

    def meeting_json(self, meeting: Meeting) -> dict[str, Any]:
        organizer = self.users[meeting.organizer_id]
        attendees = []
        for upn, name in meeting.attendees:
            known = self.user(upn)
            attendees.append(
                {
                    "upn": upn,
                    "role": "attendee",
                    "identity": {
                        "user": {"id": known.id if known else None, "displayName": name, "tenantId": None}
                    },
                }
            )
        return {
            "id": meeting.id,
            "creationDateTime": iso(meeting.created),
            "startDateTime": iso(meeting.start),
            "endDateTime": iso(meeting.end),
            "joinWebUrl": meeting.join_url,
            "subject": meeting.subject,
            "videoTeleconferenceId": None,
            "isEntryExitAnnounced": True,
            "allowedPresenters": "everyone",
            "participants": {
                "organizer": {
                    "upn": organizer.upn,
                    "role": "presenter",
                    "identity": {
                        "user": {
                            "id": organizer.id,
                            "displayName": None,
                            "tenantId": self.tenant_id,
                            "identityProvider": "AAD",
                        }
                    },
                },
                "attendees": attendees,
                "producers": [],
                "contributors": [],
            },
        }

    def recording_json(self, recording: Recording, base_url: str) -> dict[str, Any]:
        path = (
            f"users/{recording.organizer_id}/onlineMeetings/{recording.meeting_id}/recordings/{recording.id}"
        )
        return {
            "@odata.type": "#microsoft.graph.callRecording",
            "id": recording.id,
            "meetingId": recording.meeting_id,
            "callId": recording.call_id,
            "contentCorrelationId": recording.correlation_id,
            "createdDateTime": iso(recording.created),
            "endDateTime": iso(recording.created),
            "recordingContentUrl": f"{base_url}/{path}/content",
            "meetingOrganizer": self.identity(recording.organizer_id),
        }

    def transcript_json(self, transcript: Transcript, base_url: str) -> dict[str, Any]:
        path = f"users/{transcript.organizer_id}/onlineMeetings/{transcript.meeting_id}/transcripts/{transcript.id}"
        return {
            "@odata.type": "#microsoft.graph.callTranscript",
            "id": transcript.id,
            "meetingId": transcript.meeting_id,
            "callId": None,
            "contentCorrelationId": transcript.correlation_id,
            "createdDateTime": iso(transcript.created),
            "endDateTime": iso(transcript.created),
            "transcriptContentUrl": f"{base_url}/{path}/content",
            "meetingOrganizer": self.identity(transcript.organizer_id),
        }
