"""Consent: calls with someone who opted out, or with recording disabled for a participant, are not analysed
beyond what ``DEALTALK_GDPR__CONSENT_POLICY`` allows; erased people never reappear in a new transcript.

Two small functions are injected into the stages (``Resources.stages``):

* ``ConsentScreen`` at the fetch stage's entry: with policy "skip" a call with an opted-out or declining
  participant is refused before its audio is fetched. The recording's status becomes "consent_withheld",
  an audit row names the reason (never the person), and the message is dead-lettered with that reason.
* ``TranscriptGuard`` at the transcribe stage's exit: the speakers the erasure ledger knows (and, with policy
  "redact", the opted-out and declining participants) lose their speech text, quotes, names and addresses
  before anything is stored or analysed; the meeting that travels on is redacted the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import update

from dealtalk.contracts.documents import MeetingInfo, TranscriptDoc
from dealtalk.contracts.errors import InvalidInput
from dealtalk.contracts.events import RecordingDiscovered
from dealtalk.contracts.gdpr_settings import GdprSettings
from dealtalk.pipeline.gdpr.audit import record_audit
from dealtalk.pipeline.gdpr.identity import name_pattern, normalise_email
from dealtalk.pipeline.gdpr.ledger import load_erased
from dealtalk.pipeline.gdpr.redact import Redaction, redact_meeting, redact_transcript, speakers_of
from dealtalk.pipeline.store import Database
from dealtalk.pipeline.store.schema import RecordingRow, utcnow

__all__ = [
    "CONSENT_STATUS",
    "ConsentDecision",
    "ConsentScreen",
    "ConsentWithheld",
    "GroupMembership",
    "TranscriptGuard",
    "consent_decision",
    "opted_out_people",
]

logger = logging.getLogger(__name__)

CONSENT_STATUS = "consent_withheld"
# Is this address a member of the opt-out group? (Graph-backed in production, see ``consent_graph``.)
GroupMembership = Callable[[str], bool]


class ConsentWithheld(InvalidInput):
    """A participant did not consent to analysis; the call is not processed (never retried)."""


@dataclass(frozen=True, slots=True)
class ConsentDecision:
    """Why a call may not be analysed: "opted_out_list", "opted_out_group" or "recording_declined"."""

    reason: str
    people: int


def opted_out_people(
    meeting: MeetingInfo, settings: GdprSettings, in_group: GroupMembership | None
) -> dict[str, str]:
    """The participants' addresses that may not be analysed, each with its reason."""
    listed = set(settings.opted_out_emails)
    found: dict[str, str] = {normalise_email(e): "recording_declined" for e in meeting.recording_declined}
    for person in meeting.participants:
        if not person.email:
            continue
        email = normalise_email(person.email)
        if email in found:
            continue
        if email in listed:
            found[email] = "opted_out_list"
        elif in_group is not None and in_group(email):
            found[email] = "opted_out_group"
    return found


def consent_decision(
    meeting: MeetingInfo, settings: GdprSettings, in_group: GroupMembership | None = None
) -> ConsentDecision | None:
    """None when every participant may be analysed; otherwise the first reason and how many people."""
    found = opted_out_people(meeting, settings, in_group)
    if not found:
        return None
    reasons = sorted(set(found.values()))
    return ConsentDecision(reason=reasons[0], people=len(found))


_REASON_TEXT = {
    "opted_out_list": "a participant opted out of call analysis (DEALTALK_GDPR__OPTED_OUT_EMAILS)",
    "opted_out_group": "a participant opted out of call analysis (DEALTALK_GDPR__OPTED_OUT_GROUP_ID)",
    "recording_declined": "recording was disabled for a participant of the Teams meeting",
}


class ConsentScreen:
    """The fetch stage's entry check (see the module docstring).

    Args:
        database: where the status and the audit row go.
        settings: the GDPR policy.
        in_group: membership of the opt-out group; None when no group is configured.
    """

    def __init__(self, database: Database, settings: GdprSettings, in_group: GroupMembership | None) -> None:
        self._database = database
        self._settings = settings
        self._in_group = in_group

    def __call__(self, event: RecordingDiscovered) -> None:
        """Return when the call may be fetched; raise ``ConsentWithheld`` (after recording why) otherwise."""
        if self._settings.consent_policy != "skip":
            return
        decision = consent_decision(event.meeting, self._settings, self._in_group)
        if decision is None:
            return
        with self._database.session() as session:
            session.execute(
                update(RecordingRow)
                .where(RecordingRow.recording_id == event.recording_id)
                .values(status=CONSENT_STATUS, updated_at=utcnow())
            )
            record_audit(
                session,
                action="gdpr.consent_withheld",
                actor="stage:fetch",
                recording_id=event.recording_id,
                detail={"reason": decision.reason, "people": decision.people, "policy": "skip"},
            )
        logger.info("consent withheld recording=%s reason=%s", event.recording_id, decision.reason)
        raise ConsentWithheld(
            f"consent withheld: {_REASON_TEXT[decision.reason]}; policy 'skip': nothing was fetched or analysed",
            recording_id=event.recording_id,
        )


class TranscriptGuard:
    """The transcribe stage's exit check (see the module docstring)."""

    def __init__(self, database: Database, settings: GdprSettings, in_group: GroupMembership | None) -> None:
        self._database = database
        self._settings = settings
        self._in_group = in_group

    def __call__(
        self, recording_id: str, doc: TranscriptDoc, meeting: MeetingInfo
    ) -> tuple[TranscriptDoc, MeetingInfo]:
        erased = load_erased(self._database)
        withheld: set[str] = set()
        if self._settings.consent_policy == "redact":
            withheld = set(opted_out_people(meeting, self._settings, self._in_group))

        def is_subject(email: str | None, name: str) -> bool:
            if email and normalise_email(email) in withheld:
                return True
            return erased.contains(email, name)

        speakers = speakers_of(doc, is_subject)
        people = [p for p in meeting.participants if is_subject(p.email, p.name)]
        if not speakers and not people:
            return doc, meeting
        names = [s.name for s in doc.speakers if s.id in speakers] + [p.name for p in people]
        emails = [p.email for p in people if p.email]
        pattern = name_pattern(names, emails)
        redacted = redact_transcript(doc, Redaction(speakers=speakers, pattern=pattern))
        with self._database.session() as session:
            record_audit(
                session,
                action="gdpr.transcript_redacted",
                actor="stage:transcribe",
                recording_id=recording_id,
                detail={
                    "speakers": len(speakers),
                    "participants": len(people),
                    "reason": "consent"
                    if withheld & {normalise_email(e) for e in emails}
                    else "erasure_ledger",
                },
            )
        return redacted, redact_meeting(meeting, is_subject, pattern)
