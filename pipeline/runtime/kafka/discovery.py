"""Local discovery onto Kafka: new recordings in a folder become ``RecordingDiscovered`` records.

The embedded bus registers and enqueues in one transaction; Kafka and the database cannot share one, so the
order is chosen for at-least-once: send the event first, then register the recording. A crash in between
sends the event again at the next scan, and the fetch stage reuses its stored result. A sidecar that cannot be
read becomes a dead letter on the dead-letter topic (once per file and content per scanning process).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from pathlib import Path

from sqlalchemy import select

from dealtalk.ingest.local_folder import SidecarProblem, discover_folder
from dealtalk.pipeline.bus.dead_letters import LOCAL_INGEST_TOPIC
from dealtalk.pipeline.bus.kafka.headers import TRACE_ID
from dealtalk.pipeline.bus.kafka.producer import KafkaProducer
from dealtalk.pipeline.bus.kafka.topics import TopicNames
from dealtalk.pipeline.config import Settings
from dealtalk.pipeline.discovery import DiscoveryReport
from dealtalk.pipeline.events import RecordingDiscovered, StageFailed, dump_event, new_trace_id
from dealtalk.pipeline.store import Database
from dealtalk.pipeline.store.projections import save_discovered
from dealtalk.pipeline.store.schema import RecordingRow

__all__ = ["discover_local_to_kafka"]

logger = logging.getLogger(__name__)


async def discover_local_to_kafka(
    folder: Path,
    *,
    producer: KafkaProducer,
    database: Database,
    settings: Settings,
    rejected: set[str],
) -> DiscoveryReport:
    """Send every recording in ``folder`` not registered before; report what was new, known or rejected.

    Args:
        rejected: sidecar problems already dead-lettered by this process (updated here), so a bad file left
            in the folder gives one dead letter, not one per scan.

    Raises:
        InvalidInput: the folder does not exist.
        TransientError: the cluster cannot be reached (the next scan tries again).
    """
    names = TopicNames.from_settings(settings.kafka)
    items = await asyncio.to_thread(
        lambda: list(
            discover_folder(folder, extensions=settings.ingest.audio_extensions, tenant=settings.tenant)
        )
    )
    report = DiscoveryReport()
    for item in items:
        if isinstance(item, SidecarProblem):
            await _reject(item, producer=producer, names=names, rejected=rejected)
            report.rejected.append(item.audio_path.name)
            continue
        if await asyncio.to_thread(_known, database, item.recording_id):
            report.known.append(item.recording_id)
            continue
        await producer.send(
            names.of(item),
            item.recording_id,
            dump_event(item),
            {TRACE_ID: item.trace_id, "stage": "discover"},
        )
        await asyncio.to_thread(_register, database, item)
        report.new.append(item.recording_id)
        logger.info("discovered recording=%s source=local trace=%s", item.recording_id, item.trace_id)
    return report


async def _reject(
    problem: SidecarProblem, *, producer: KafkaProducer, names: TopicNames, rejected: set[str]
) -> None:
    marker = f"{problem.audio_path}:{hashlib.sha256(problem.sidecar_text.encode()).hexdigest()}"
    if marker in rejected:
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
        TRACE_ID: failed.trace_id,
        "audio_path": str(problem.audio_path),
        "sidecar_path": str(problem.sidecar_path),
        "dlq_reason": problem.reason[:1000],
        "dlq_stage": "ingest",
    }
    await producer.send(names.dead_letters, failed.recording_id, dump_event(failed), headers)
    rejected.add(marker)
    logger.warning("sidecar rejected file=%s reason=%s", problem.sidecar_path.name, problem.reason)


def _known(database: Database, recording_id: str) -> bool:
    with database.session() as session:
        found = session.scalar(
            select(RecordingRow.recording_id).where(RecordingRow.recording_id == recording_id)
        )
        return found is not None


def _register(database: Database, event: RecordingDiscovered) -> None:
    with database.session() as session:
        save_discovered(session, event)
