"""Discovered recordings onto the bus: register each new recording and hand its event on, atomically.

``hand_on_discovered`` is the one rule for every discovery path (local folder, Graph delta sync, Graph
webhook): the recording row and the event (queue row or outbox row, see ``bus/outlet.py``) commit together,
and a recording the store already knows is not handed on again.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dealtalk.contracts.config import Settings
from dealtalk.contracts.events import RecordingDiscovered, StageFailed, new_trace_id
from dealtalk.ingest.graph.discovery import Emit
from dealtalk.ingest.local_folder import SidecarProblem, discover_folder
from dealtalk.pipeline.bus.dead_letters import LOCAL_INGEST_TOPIC
from dealtalk.pipeline.bus.outlet import EventOutlet
from dealtalk.pipeline.store import Database
from dealtalk.pipeline.store.projections import save_discovered
from dealtalk.pipeline.store.schema import AuditRow

__all__ = ["DiscoveryReport", "bus_emitter", "discover_local", "folder_scan", "hand_on_discovered"]

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class DiscoveryReport:
    new: list[str] = field(default_factory=list)
    known: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


def hand_on_discovered(database: Database, outlet: EventOutlet, event: RecordingDiscovered) -> bool:
    """Register ``event``'s recording and queue the event in one transaction; False when it was known.

    Two processes discovering the same recording at once (a webhook on one API replica, the delta sync on
    another) race on the recording's primary key: the loser's transaction fails and counts as "known".
    """
    try:
        with database.session() as session:
            if not save_discovered(session, event):
                return False
            headers = {"trace_id": event.trace_id, "stage": "discover"}
            outlet.publish(session, event, key=event.recording_id, headers=headers)
    except IntegrityError:
        return False
    return True


def bus_emitter(database: Database, outlet: EventOutlet) -> Emit:
    """An ``emit`` for ``GraphDiscovery`` that registers and hands on each new recording atomically."""

    def emit(event: RecordingDiscovered) -> None:
        hand_on_discovered(database, outlet, event)

    return emit


def folder_scan(
    folder: Path, outlet: EventOutlet, database: Database, settings: Settings
) -> Callable[[], None]:
    """The watch folder's scan for a worker driver: ``discover_local`` with its parts bound, counts logged."""
    folder.mkdir(parents=True, exist_ok=True)

    def scan() -> None:
        report = discover_local(folder, outlet, database, settings)
        level = logging.INFO if report.new or report.rejected else logging.DEBUG
        logger.log(
            level,
            "inbox scanned new=%s known=%s rejected=%s",
            len(report.new),
            len(report.known),
            len(report.rejected),
        )

    return scan


def discover_local(
    folder: Path, outlet: EventOutlet, database: Database, settings: Settings
) -> DiscoveryReport:
    """Hand on every recording in ``folder`` not seen before; a bad sidecar becomes one dead letter.

    A recording already registered is skipped, so scanning the same folder again never processes a call twice.
    """
    report = DiscoveryReport()
    for item in discover_folder(folder, extensions=settings.ingest.audio_extensions, tenant=settings.tenant):
        if isinstance(item, SidecarProblem):
            _reject(item, outlet, database)
            report.rejected.append(item.audio_path.name)
            continue
        if hand_on_discovered(database, outlet, item):
            report.new.append(item.recording_id)
            logger.info("discovered recording=%s source=local trace=%s", item.recording_id, item.trace_id)
        else:
            report.known.append(item.recording_id)
    return report


def _reject(problem: SidecarProblem, outlet: EventOutlet, database: Database) -> None:
    """Dead-letter an unreadable sidecar once per file and content (the audit log remembers which)."""
    marker = hashlib.sha256(f"{problem.audio_path}\n{problem.sidecar_text}".encode()).hexdigest()
    with database.session() as session:
        if _already_rejected(session, marker):
            return
        failed = StageFailed(
            recording_id=f"file:{problem.audio_path.name}",
            trace_id=new_trace_id(),
            stage="ingest",
            reason=problem.reason,
            error_type="InvalidInput",
            attempt=1,
            retriable=False,
            original=problem.sidecar_text,
            original_topic=LOCAL_INGEST_TOPIC,
        )
        headers = {
            "trace_id": failed.trace_id,
            "audio_path": str(problem.audio_path),
            "sidecar_path": str(problem.sidecar_path),
        }
        outlet.dead_letter(session, failed, headers)
        session.add(
            AuditRow(recording_id=None, actor="ingest", action="sidecar.rejected", detail={"marker": marker})
        )
    logger.warning("sidecar rejected file=%s reason=%s", problem.sidecar_path.name, problem.reason)


def _already_rejected(session: Session, marker: str) -> bool:
    rows = session.scalars(select(AuditRow.detail).where(AuditRow.action == "sidecar.rejected"))
    return any(detail.get("marker") == marker for detail in rows)
