"""The worker side of ``bench/chaos.py``: one Kafka worker process serving all four stages.

Real fetch and publish stages (the CRM fixture resolver and the dry-run publisher from
``dealtalk.publisher.factory``, wrapped to journal every publish call to an append-only file), fake transcribe
and analyze stages (a random 20-200 ms sleep, then a small TranscriptDoc / InsightsDoc in the blob store,
standing in for the models). Settings come from ``DEALTALK_*`` set by the bench.

Usage (by the bench): ``python bench/chaos_worker.py SLOT``
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from dealtalk.contracts.config import Settings
from dealtalk.contracts.documents import (
    CallKpisDoc,
    HealthDoc,
    InsightsDoc,
    KpisDoc,
    OpportunityLink,
    SegmentDoc,
    SentimentDoc,
    SpeakerDoc,
    SpeakerKpisDoc,
    TranscriptDoc,
)
from dealtalk.contracts.events import AudioStored, InsightsReady, TranscriptReady
from dealtalk.contracts.stage import Stage
from dealtalk.ingest.local_folder import LocalFolderFetcher
from dealtalk.pipeline.blobs import LocalBlobStore
from dealtalk.pipeline.logs import configure_logging
from dealtalk.pipeline.runtime.kafka.main import run_kafka_worker
from dealtalk.pipeline.stages.fetch import build_fetch_stage
from dealtalk.pipeline.stages.publish import build_publish_stage
from dealtalk.pipeline.store import open_database
from dealtalk.pipeline.store.queries import manual_link, recording_with_audio
from dealtalk.publisher.factory import load_publisher, load_resolver
from dealtalk.publisher.protocols import ActivityPublisher, PublishReceipt

__all__ = ["JOURNAL_ENV", "worker_main"]

JOURNAL_ENV = "CHAOS_PUBLISH_JOURNAL"  # the bench's own variable: where workers journal publish calls


class JournalingPublisher:
    """Wraps the real publisher; appends one line before and one after each publish (O_APPEND, fsynced)."""

    def __init__(self, inner: ActivityPublisher, journal: Path) -> None:
        self.inner = inner
        self.journal = journal

    def _append(self, entry: dict[str, Any]) -> None:
        fd = os.open(self.journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (json.dumps(entry) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def withdraw(self, *, recording_id: str) -> bool:
        return self.inner.withdraw(recording_id=recording_id)

    def publish(
        self, result: Any, *, recording_id: str, meeting: Any, link: OpportunityLink
    ) -> PublishReceipt:
        self._append({"recording_id": recording_id, "phase": "start", "pid": os.getpid()})
        receipt = self.inner.publish(result, recording_id=recording_id, meeting=meeting, link=link)
        self._append(
            {"recording_id": recording_id, "phase": "end", "created": receipt.created, "pid": os.getpid()}
        )
        return receipt


def _no_persist(_session: Session, _event: Any, _output: Any) -> None:
    return None


def fake_transcribe(blobs: LocalBlobStore, rng: random.Random) -> Stage[AudioStored, TranscriptReady]:
    def run(event: AudioStored) -> TranscriptReady:
        time.sleep(rng.uniform(0.02, 0.2))
        blobs.read_bytes(event.audio)  # the claim check must hold
        people = [event.meeting.organizer, *event.meeting.attendees][:2]
        speakers = tuple(
            SpeakerDoc(
                id=f"S{i + 1}",
                name=p.name if p else f"Speaker {i + 1}",
                email=p.email if p else None,
                role=p.role if p else "unknown",
            )
            for i, p in enumerate(people or [None, None])
        )
        segments = tuple(
            SegmentDoc(
                start=i * 5.0,
                end=i * 5.0 + 4.0,
                speaker=s.id,
                role=s.role,
                language="en",
                text=f"segment {i}",
            )
            for i, s in enumerate(speakers)
        )
        doc = TranscriptDoc(
            call_id=event.recording_id, language="en", duration_s=10.0, speakers=speakers, segments=segments
        )
        ref = blobs.put_bytes(doc.model_dump_json().encode(), content_type="application/json")
        return TranscriptReady(
            **event.follow(),
            transcript=ref,
            audio=event.audio,
            meeting=event.meeting,
            language="en",
            duration_s=10.0,
        )

    return Stage(name="transcribe", consumes=AudioStored, run=run, version="chaos-asr-1", persist=_no_persist)


def fake_analyze(blobs: LocalBlobStore, rng: random.Random) -> Stage[TranscriptReady, InsightsReady]:
    def run(event: TranscriptReady) -> InsightsReady:
        time.sleep(rng.uniform(0.02, 0.2))
        transcript = TranscriptDoc.model_validate_json(blobs.read_bytes(event.transcript))
        per_speaker = {
            s.id: SpeakerKpisDoc(
                talk_ratio=1 / len(transcript.speakers),
                words_per_minute=120.0,
                avg_pause_before_speaking_ms=300.0,
                longest_monologue_ms=4000.0,
                switch_count=1,
                questions=0,
            )
            for s in transcript.speakers
        }
        doc = InsightsDoc(
            call_id=event.recording_id,
            sentiments=tuple(SentimentDoc(label="neutral", score=0.9) for _ in transcript.segments),
            kpis=KpisDoc(
                call=CallKpisDoc(duration_s=10.0, switch_count=1, customer_longest_monologue_ms=4000.0),
                per_speaker=per_speaker,
            ),
            risks=(),
            action_items=(),
            summary="Chaos benchmark call.",
            health=HealthDoc(score=50),
        )
        ref = blobs.put_bytes(doc.model_dump_json().encode(), content_type="application/json")
        return InsightsReady(
            **event.follow(), transcript=event.transcript, insights=ref, meeting=event.meeting
        )

    return Stage(
        name="analyze", consumes=TranscriptReady, run=run, version="chaos-nlp-1", persist=_no_persist
    )


def worker_main(slot: int) -> None:
    settings = Settings.load()
    configure_logging("WARNING", "text")
    database = open_database(settings.database_url)
    blobs = LocalBlobStore(settings.blob_root)
    rng = random.Random()
    stages: list[Stage[Any, Any]] = [
        build_fetch_stage(
            fetchers={"local": LocalFolderFetcher()},
            blobs=blobs,
            recording_with_audio=partial(recording_with_audio, database),
        ),
        fake_transcribe(blobs, rng),
        fake_analyze(blobs, rng),
        build_publish_stage(
            resolver=load_resolver(settings),
            publisher=JournalingPublisher(load_publisher(settings), Path(os.environ[JOURNAL_ENV])),
            blobs=blobs,
            manual_link=partial(manual_link, database),
            version="publish-1:dry-run:chaos",
        ),
    ]
    run_kafka_worker(stages, settings=settings, database=database, worker_id=f"chaos-w{slot}")


if __name__ == "__main__":
    worker_main(int(sys.argv[1]))
