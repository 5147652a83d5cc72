"""Erasure of one person (``dealtalk gdpr erase --email``; ``erase_person`` for an admin API route).

Per recording the person took part in, three resumable steps, each marked in ``gdpr_erasure_tasks``:

1. **store** (one transaction): with policy "segments", their speech is silenced in the audio, their segments,
   words, quotes, action items and name leave the transcript, the insights, the meeting and every stored
   event (stage results, bus messages, dead letters), and the summary is derived again from what is left;
   with policy "whole", the recording's rows and stored events are deleted. A recording with a message still
   waiting or being worked on is left untouched (never half-erased) and reported as busy.
2. **blobs**: the replaced or deleted blobs are removed from the blob store.
3. **crm**: the activity is published again from the redacted call (an upsert), or withdrawn; the dry-run
   outbox file likewise. A CRM outage is retried by the client, then reported; running the command again
   resumes at this step.

The person's voiceprint is deleted and their address and names enter the ledger as hashes, so later
reprocessing never brings them back. One audit row per run holds counts only.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dealtalk.contracts.documents import TranscriptDoc
from dealtalk.contracts.errors import DealtalkError, InvalidInput
from dealtalk.pipeline.gdpr.audit import record_audit
from dealtalk.pipeline.gdpr.identity import Person
from dealtalk.pipeline.gdpr.ledger import open_erasure
from dealtalk.pipeline.gdpr.records import (
    busy_stage,
    recordings_of,
)
from dealtalk.pipeline.gdpr.redact import (
    speakers_of,
)
from dealtalk.pipeline.gdpr.remote import published_item
from dealtalk.pipeline.gdpr.rewrite import delete_recording, redact_recording, stored_doc
from dealtalk.pipeline.store.schema import (
    CallRow,
    ErasureRow,
    ErasureTaskRow,
    utcnow,
)

if TYPE_CHECKING:
    from dealtalk.pipeline.parts import AppParts

__all__ = ["ErasureReport", "erase_person", "valid_email"]

logger = logging.getLogger(__name__)

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def valid_email(email: str) -> str:
    """The address, stripped; raises ``InvalidInput`` when it is not one."""
    if not _EMAIL.fullmatch(email.strip()):
        raise InvalidInput("--email must be an e-mail address (name@domain.tld)")
    return email.strip()


@dataclass(slots=True)
class ErasureReport:
    """What one run did. ``status``: done, incomplete (busy or CRM failures: run again), unknown, dry_run."""

    subject_hash: str
    policy: str
    status: str = "done"
    recordings: list[str] = field(default_factory=list)
    busy: dict[str, str] = field(default_factory=dict)
    crm_failed: dict[str, str] = field(default_factory=dict)
    # Transcribed calls they attended where no speaker was theirs: their voice and words stay, unnamed.
    unlocated: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, counts: dict[str, int]) -> None:
        for key, value in counts.items():
            self.counts[key] = self.counts.get(key, 0) + value


def erase_person(parts: AppParts, email: str, *, actor: str, dry_run: bool = False) -> ErasureReport:
    """Erase everything held about ``email`` (see the module docstring); safe to run again (idempotent).

    Args:
        parts: the process's store, blob store, publisher and settings.
        email: the person's address.
        actor: who asked (the audit log's ``actor``): ``cli:alice``, ``api:<user id>``.
        dry_run: count what would be erased, change nothing.

    Returns:
        The report; ``status == "unknown"`` when nothing about the address is held or was ever erased.

    Raises:
        InvalidInput: ``email`` is not an e-mail address.
    """
    from dealtalk.transcription.voiceprints import FileVoiceprintStore

    person = Person(valid_email(email))
    policy = parts.settings.gdpr.erase_whole_recordings
    report = ErasureReport(subject_hash=person.subject_hash, policy=policy)
    voiceprints = FileVoiceprintStore(parts.settings.data_dir / "voiceprints")
    database = parts.database
    with database.session() as session:
        found, person = recordings_of(session, person)
        known = session.get(ErasureRow, person.subject_hash) is not None
        open_tasks = list(
            session.scalars(
                select(ErasureTaskRow.recording_id).where(
                    ErasureTaskRow.subject_hash == person.subject_hash, ErasureTaskRow.state != "done"
                )
            )
        )
    has_print = (voiceprints.root / f"{voiceprints.key(person.email)}.json").is_file()
    report.recordings = list(dict.fromkeys([*found, *open_tasks]))
    if not report.recordings and not known and not has_print:
        report.status = "unknown"
        return report
    if dry_run:
        report.status = "dry_run"
        with database.session() as session:
            for recording_id in report.recordings:
                report.add(_would_erase(parts, session, person, recording_id))
        report.counts["voiceprints"] = int(has_print)
        with database.session() as session:
            record_audit(
                session, action="gdpr.erase", actor=actor, detail={**_audit_detail(report), "dry_run": True}
            )
        return report
    with database.session() as session:
        open_erasure(session, person, actor=actor)  # from here on, the stages' guard redacts them
    for recording_id in report.recordings:
        _erase_recording(parts, person, recording_id, report)
    report.counts["voiceprints"] = int(voiceprints.delete(person.email))
    report.status = "incomplete" if report.busy or report.crm_failed else "done"
    with database.session() as session:
        ledger = session.get(ErasureRow, person.subject_hash)
        assert ledger is not None
        ledger.status = report.status
        ledger.completed_at = utcnow() if report.status == "done" else None
        record_audit(session, action="gdpr.erase", actor=actor, detail=_audit_detail(report))
    logger.info(
        "gdpr erase subject=%s status=%s recordings=%d busy=%d crm_failed=%d",
        person.subject_hash[:12],
        report.status,
        len(report.recordings),
        len(report.busy),
        len(report.crm_failed),
    )
    return report


def _audit_detail(report: ErasureReport) -> dict[str, Any]:
    return {
        "subject_sha256": report.subject_hash,
        "policy": report.policy,
        "status": report.status,
        "recordings": len(report.recordings),
        "busy": len(report.busy),
        "crm_failed": len(report.crm_failed),
        "unlocated": len(report.unlocated),
        **report.counts,
    }


def _task(session: Session, person: Person, recording_id: str) -> ErasureTaskRow:
    task = session.get(ErasureTaskRow, (person.subject_hash, recording_id))
    if task is None:
        task = ErasureTaskRow(
            subject_hash=person.subject_hash,
            recording_id=recording_id,
            state="pending",
            remote_attempts=0,
            pending_blobs=[],
        )
        session.add(task)
    return task


def _erase_recording(parts: AppParts, person: Person, recording_id: str, report: ErasureReport) -> None:
    database, blobs = parts.database, parts.blobs
    whole = report.policy == "whole"
    with database.session() as session:
        task = _task(session, person, recording_id)
        if task.state == "pending":
            topic = busy_stage(session, recording_id)
            if topic is not None:
                report.busy[recording_id] = topic
                return
            counts, pending = (
                delete_recording(session, recording_id)
                if whole
                else redact_recording(parts, session, person, recording_id)
            )
            if counts.pop("unlocated", 0):
                report.unlocated.append(recording_id)
            report.add(counts)
            task.pending_blobs = sorted(pending)
            task.state = "stored"
    with database.session() as session:
        task = _task(session, person, recording_id)
        removed = sum(blobs.delete(sha) for sha in task.pending_blobs)
        report.add({"blobs_deleted": removed})
        task.pending_blobs = []
        if task.state == "done":
            return
    try:
        if whole:
            sent = parts.models.publisher().withdraw(recording_id=recording_id)
        else:
            with database.session() as session:
                item = published_item(session, blobs, recording_id)
            # The CRM is called outside any transaction: retries must not hold the store's write lock.
            sent = item is not None and bool(
                parts.models.publisher().publish(
                    item.result, recording_id=recording_id, meeting=item.meeting, link=item.link
                )
            )
    except DealtalkError as exc:
        report.crm_failed[recording_id] = exc.message
        with database.session() as session:
            task = _task(session, person, recording_id)
            task.remote_attempts += 1
            task.last_error = exc.message[:2000]
        logger.warning(
            "gdpr erase: CRM update failed recording=%s error=%s", recording_id, type(exc).__name__
        )
        return
    report.add({"crm_activities": int(sent)})
    with database.session() as session:
        task = _task(session, person, recording_id)
        task.state, task.last_error = "done", None


def _would_erase(parts: AppParts, session: Session, person: Person, recording_id: str) -> dict[str, int]:
    call = session.get(CallRow, recording_id)
    doc: TranscriptDoc | None = stored_doc(parts, call.transcript_sha256 if call else None, TranscriptDoc)
    if doc is None:
        return {"recordings": 1, "segments": 0}
    speakers = speakers_of(
        doc, lambda email, name: person.matches(email=email, name=name if not email else None)
    )
    return {"recordings": 1, "segments": sum(s.speaker in speakers for s in doc.segments)}
