"""Versioned events: the only things that cross stage boundaries on the bus.

recording discovered -> audio stored -> transcript ready -> insights ready -> call published, plus
``StageFailed`` for the dead-letter queue. Every event has an id, the recording id as its key (ordering per
recording on either bus), a schema version and a trace id that follows the recording through all stages.
Large content travels by claim check (``BlobRef``: sha256 key in the blob store), never inside the event.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from dealtalk.contracts.documents import BlobRef, MeetingInfo, ModelRef
from dealtalk.contracts.errors import InvalidInput

__all__ = [
    "SCHEMA_VERSION",
    "TOPICS",
    "AudioStored",
    "CallPublished",
    "Event",
    "InsightsReady",
    "RecordingDiscovered",
    "StageFailed",
    "TranscriptReady",
    "dump_event",
    "new_trace_id",
    "parse_event",
    "topic_of",
]

SCHEMA_VERSION: Literal[1] = 1
# Records stay far below Kafka's 1 MB default; a bigger one is a bug or an attack.
MAX_EVENT_BYTES = 256 * 1024


def _now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return uuid.uuid4().hex


def new_trace_id() -> str:
    """A fresh trace id (W3C trace-id format: 32 lowercase hex digits)."""
    return uuid.uuid4().hex


class _EventBase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = SCHEMA_VERSION
    event_id: str = Field(default_factory=_new_id, min_length=1)
    recording_id: str = Field(min_length=1, max_length=512)
    trace_id: str = Field(min_length=1, max_length=64)
    occurred_at: AwareDatetime = Field(default_factory=_now)

    def follow(self) -> dict[str, Any]:
        """Fields a downstream event inherits: the key and the trace."""
        return {"recording_id": self.recording_id, "trace_id": self.trace_id}


class RecordingDiscovered(_EventBase):
    """A new recording exists at its source (the local folder, or Teams through Graph)."""

    type: Literal["recording.discovered"] = "recording.discovered"
    source: Literal["local", "graph"]
    # Where the fetch stage finds the bytes: a file path (local) or a Graph content URL.
    source_ref: str = Field(min_length=1)
    meeting: MeetingInfo
    # Graph ids, when the source is Teams (organizer user id, meeting id, transcript id).
    source_ids: dict[str, str] = Field(default_factory=dict)


class AudioStored(_EventBase):
    """The recording's bytes are in the blob store (content addressed)."""

    type: Literal["audio.stored"] = "audio.stored"
    audio: BlobRef
    meeting: MeetingInfo
    # The Teams VTT transcript with speaker names, when Graph provided one.
    teams_transcript: BlobRef | None = None


class TranscriptReady(_EventBase):
    """Who said what and when: a ``TranscriptDoc`` JSON in the blob store."""

    type: Literal["transcript.ready"] = "transcript.ready"
    transcript: BlobRef
    audio: BlobRef
    meeting: MeetingInfo
    language: str
    duration_s: float
    models: dict[str, ModelRef] = Field(default_factory=dict)


class InsightsReady(_EventBase):
    """KPIs, sentiment, risks, action items and summary: an ``InsightsDoc`` JSON in the blob store."""

    type: Literal["insights.ready"] = "insights.ready"
    transcript: BlobRef
    insights: BlobRef
    meeting: MeetingInfo
    models: dict[str, ModelRef] = Field(default_factory=dict)


class CallPublished(_EventBase):
    """The call's insights are on the opportunity timeline (or wait for a manual link)."""

    type: Literal["call.published"] = "call.published"
    status: Literal["published", "unlinked"]
    opportunity_id: str | None = None
    # How the opportunity was found: appointment, contact_account, manual; "none" when unlinked.
    link_method: str = "none"
    link_detail: str = ""
    opportunity_name: str | None = None
    account_name: str | None = None
    activity_id: str | None = None
    # Where the activity went: a Dataverse URL, or the dry-run outbox file.
    target: str = ""


class StageFailed(_EventBase):
    """A message a stage gave up on, with the reason; the dead-letter queue stores these."""

    type: Literal["stage.failed"] = "stage.failed"
    stage: str
    reason: str
    error_type: str
    attempt: int = Field(ge=1)
    retriable: bool
    # The original message as received (its JSON text), so that it can be replayed unchanged.
    original: str
    original_topic: str


Event = Annotated[
    RecordingDiscovered | AudioStored | TranscriptReady | InsightsReady | CallPublished | StageFailed,
    Field(discriminator="type"),
]
_EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)

# One topic per hand-over, named after the event that travels on it.
TOPICS: dict[type[BaseModel], str] = {
    RecordingDiscovered: "recordings.discovered",
    AudioStored: "audio.stored",
    TranscriptReady: "transcripts.ready",
    InsightsReady: "insights.ready",
    CallPublished: "calls.published",
    StageFailed: "stage.failed",
}


def topic_of(event: BaseModel) -> str:
    """The topic an event travels on."""
    return TOPICS[type(event)]


def dump_event(event: BaseModel) -> str:
    """Serialize an event to its wire form (compact JSON)."""
    return event.model_dump_json()


def parse_event(data: bytes | str) -> Event:
    """Parse an event from its wire form.

    Raises:
        InvalidInput: the message is not JSON, too large, of an unknown schema version, or violates the
            schema. The message says which, so the dead-letter entry is actionable.
    """
    size = len(data)
    if size > MAX_EVENT_BYTES:
        raise InvalidInput(f"event of {size} bytes exceeds the {MAX_EVENT_BYTES}-byte limit")
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(
            f"message is not valid JSON ({exc.__class__.__name__} at position {_pos(exc)})"
        ) from exc
    if not isinstance(raw, dict):
        raise InvalidInput(f"message is a JSON {type(raw).__name__}, expected an object")
    version = raw.get("schema_version")
    if version != SCHEMA_VERSION:
        raise InvalidInput(
            f"unsupported schema_version {version!r}; this worker reads version {SCHEMA_VERSION}"
        )
    try:
        return _EVENT_ADAPTER.validate_python(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors()[:5]
        )
        raise InvalidInput(f"message violates the event schema: {problems}") from exc


def _pos(exc: Exception) -> int:
    return getattr(exc, "pos", getattr(exc, "start", 0))
