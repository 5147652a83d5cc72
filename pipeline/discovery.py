"""Local discovery on the embedded bus: register new recordings and enqueue them, atomically."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from dealtalk.ingest.local_folder import SidecarProblem, discover_folder
from dealtalk.pipeline.bus.embedded import EmbeddedBus
from dealtalk.pipeline.config import Settings
from dealtalk.pipeline.events import dump_event, topic_of
from dealtalk.pipeline.store.projections import save_discovered
from dealtalk.pipeline.store.schema import DeadLetterRow

__all__ = ["DiscoveryReport", "discover_local"]

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class DiscoveryReport:
    new: list[str] = field(default_factory=list)
    known: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


def discover_local(folder: Path, bus: EmbeddedBus, settings: Settings) -> DiscoveryReport:
    """Enqueue every recording in ``folder`` not seen before; a bad sidecar goes to the dead-letter table.

    A recording already registered is skipped, so scanning the same folder again never processes a call twice.
    """
    report = DiscoveryReport()
    for item in discover_folder(folder, extensions=settings.ingest.audio_extensions, tenant=settings.tenant):
        with bus.database.session() as session:
            if isinstance(item, SidecarProblem):
                if _already_rejected(session, item):
                    report.rejected.append(item.audio_path.name)
                    continue
                session.add(
                    DeadLetterRow(
                        topic="ingest.local",
                        stage="ingest",
                        recording_id=None,
                        reason=item.reason,
                        error_type="InvalidInput",
                        attempt=1,
                        payload=item.sidecar_text,
                        headers={"audio_path": str(item.audio_path), "sidecar_path": str(item.sidecar_path)},
                        replayed=False,
                    )
                )
                report.rejected.append(item.audio_path.name)
                logger.warning("sidecar rejected file=%s reason=%s", item.sidecar_path.name, item.reason)
                continue
            if not save_discovered(session, item):
                report.known.append(item.recording_id)
                continue
            headers = {"trace_id": item.trace_id, "stage": "discover"}
            bus.publish(session, topic_of(item), item.recording_id, dump_event(item), headers)
            report.new.append(item.recording_id)
            logger.info("discovered recording=%s source=local trace=%s", item.recording_id, item.trace_id)
    return report


def _already_rejected(session: Session, problem: SidecarProblem) -> bool:
    """The same sidecar was dead-lettered before and not replayed: don't pile up a letter per scan."""
    rows = session.scalars(
        select(DeadLetterRow).where(
            DeadLetterRow.topic == "ingest.local",
            DeadLetterRow.replayed.is_(False),
            DeadLetterRow.payload == problem.sidecar_text,
        )
    )
    return any(row.headers.get("audio_path") == str(problem.audio_path) for row in rows)
