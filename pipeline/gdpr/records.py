"""Where a recording's personal data sits in the store besides its projections, and how to rewrite it.

Stored events (``stage_results``, ``bus_messages``, ``dead_letters``) carry the meeting (names, addresses) and
claim checks of the blobs; a rewrite replaces the meeting and points the claim checks at the redacted blobs.
Messages that no longer parse as events are scrubbed as text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from pydantic import BaseModel
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from dealtalk.contracts.documents import BlobRef, MeetingInfo
from dealtalk.contracts.errors import InvalidInput
from dealtalk.contracts.events import dump_event, parse_event
from dealtalk.pipeline.gdpr.identity import Person, normalise_email, scrub
from dealtalk.pipeline.store.coordination import OutboxRow
from dealtalk.pipeline.store.schema import (
    BusMessageRow,
    DeadLetterRow,
    DeliveryRow,
    RecordingRow,
    SpeakerRow,
    StageResultRow,
)

__all__ = ["EventRewrite", "blob_refs_of", "busy_stage", "recordings_of", "rewrite_stored_events"]


def _emails_of(meeting: dict[str, Any]) -> Iterator[tuple[str, str]]:
    people = [meeting.get("organizer"), *(meeting.get("attendees") or [])]
    for person in people:
        if isinstance(person, dict) and person.get("email"):
            yield normalise_email(str(person["email"])), str(person.get("name") or "")
    for email in meeting.get("recording_declined") or []:
        yield normalise_email(str(email)), ""


def recordings_of(session: Session, person: Person) -> tuple[list[str], Person]:
    """The recordings ``person`` took part in (meeting or speakers, by address), and the names they had."""
    email = normalise_email(person.email)
    found: dict[str, None] = {}
    names: list[str] = []
    for recording_id, meeting in session.execute(select(RecordingRow.recording_id, RecordingRow.meeting)):
        for address, name in _emails_of(meeting or {}):
            if address == email:
                found.setdefault(recording_id, None)
                names.append(name)
    speakers = session.execute(
        select(SpeakerRow.recording_id, SpeakerRow.name, SpeakerRow.email).where(
            SpeakerRow.email.is_not(None)
        )
    ).all()
    for speaker_recording, speaker_name, speaker_email in speakers:
        if speaker_email and normalise_email(speaker_email) == email:
            found.setdefault(speaker_recording, None)
            names.append(speaker_name)
    return list(found), person.with_names(n for n in names if n)


def busy_stage(session: Session, recording_id: str) -> str | None:
    """The topic of a message of this recording still waiting or being worked on (None when idle).

    The embedded bus shows both; on Kafka an event still in the outbox, or a record a worker has started (its
    delivery row), is visible.
    A Kafka record still queued cannot bring erased data back: the blobs it points at are gone, so its stage
    fails and dead-letters it.
    """
    embedded = session.scalar(
        select(BusMessageRow.topic)
        .where(BusMessageRow.key == recording_id, BusMessageRow.status == "pending")
        .limit(1)
    )
    if embedded is not None:
        return embedded
    # An event of this call committed to the Kafka outbox and not relayed yet is on its way too.
    outbox = session.scalar(select(OutboxRow.topic).where(OutboxRow.key == recording_id).limit(1))
    if outbox is not None:
        return outbox
    return session.scalar(select(DeliveryRow.topic).where(DeliveryRow.recording_id == recording_id).limit(1))


class EventRewrite:
    """Rewrites stored events of one recording: a new meeting and claim checks moved to new blobs.

    Args:
        meeting: the redacted meeting (None keeps each event's own).
        blobs: old sha256 -> the new claim check, or None where the blob is gone (Teams transcripts).
        pattern: names and addresses to scrub from text that is not an event.
    """

    def __init__(
        self, meeting: MeetingInfo | None, blobs: dict[str, BlobRef | None], pattern: re.Pattern[str] | None
    ) -> None:
        self.meeting = meeting
        self.blobs = blobs
        self.pattern = pattern

    def event(self, event: BaseModel) -> BaseModel:
        update: dict[str, Any] = {}
        if self.meeting is not None and hasattr(event, "meeting"):
            update["meeting"] = self.meeting
        for name in ("audio", "transcript", "insights", "teams_transcript"):
            ref = getattr(event, name, None)
            if isinstance(ref, BlobRef) and ref.sha256 in self.blobs:
                replacement = self.blobs[ref.sha256]
                if replacement is not None or name == "teams_transcript":
                    update[name] = replacement
        if hasattr(event, "original") and hasattr(event, "original_topic"):
            update["original"] = self.text(event.original)
        return event.model_copy(update=update) if update else event

    def text(self, payload: str) -> str:
        """A stored message: rewritten when it is an event, scrubbed as text otherwise."""
        try:
            event = parse_event(payload)
        except InvalidInput:
            return scrub(payload, self.pattern)
        return dump_event(self.event(event))


def _rewrite_rows(
    rows: Iterator[Any], get: Callable[[Any], str], put: Callable[[Any, str], None], rewrite: EventRewrite
) -> int:
    count = 0
    for row in rows:
        new = rewrite.text(get(row))
        if new != get(row):
            put(row, new)
            count += 1
    return count


def rewrite_stored_events(session: Session, recording_id: str, rewrite: EventRewrite) -> int:
    """Rewrite this recording's stage results, bus messages and dead letters; the number of rows changed."""
    results = session.scalars(select(StageResultRow).where(StageResultRow.recording_id == recording_id))
    changed = _rewrite_rows(
        iter(results.all()), lambda r: r.output_event, lambda r, v: setattr(r, "output_event", v), rewrite
    )
    messages = session.scalars(select(BusMessageRow).where(BusMessageRow.key == recording_id)).all()
    changed += _rewrite_rows(
        iter(messages), lambda r: r.payload, lambda r, v: setattr(r, "payload", v), rewrite
    )
    for message in messages:
        if message.last_error:
            message.last_error = scrub(message.last_error, rewrite.pattern)
    letters = session.scalars(
        select(DeadLetterRow).where(
            or_(DeadLetterRow.recording_id == recording_id, DeadLetterRow.recording_id.is_(None))
        )
    ).all()
    for letter in letters:
        if letter.recording_id is None and not (rewrite.pattern and rewrite.pattern.search(letter.payload)):
            continue
        new = rewrite.text(letter.payload)
        reason = scrub(letter.reason, rewrite.pattern)
        if new != letter.payload or reason != letter.reason:
            letter.payload, letter.reason = new, reason
            letter.headers = json.loads(scrub(json.dumps(letter.headers), rewrite.pattern))
            changed += 1
    return changed


def blob_refs_of(session: Session, recording_id: str) -> set[str]:
    """Every blob the stored events of this recording point at (audio, Teams transcript, results)."""
    shas: set[str] = set()
    payloads = [
        *session.scalars(
            select(StageResultRow.output_event).where(StageResultRow.recording_id == recording_id)
        ),
        *session.scalars(select(BusMessageRow.payload).where(BusMessageRow.key == recording_id)),
        *session.scalars(select(DeadLetterRow.payload).where(DeadLetterRow.recording_id == recording_id)),
    ]
    for payload in payloads:
        try:
            event = parse_event(payload)
        except InvalidInput:
            continue
        for name in ("audio", "transcript", "insights", "teams_transcript"):
            ref = getattr(event, name, None)
            if isinstance(ref, BlobRef):
                shas.add(ref.sha256)
    return shas
