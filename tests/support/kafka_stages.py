"""Fake stages at our own Stage interface, and small helpers to drive Kafka workers in tests.

The stages are plain functions (no models): ``fetch`` turns RecordingDiscovered into AudioStored and
``transcribe`` turns AudioStored into TranscriptReady, with hooks to be slow or to fail. ``Calls`` counts
every run per stage and recording, and the largest number of jobs that ran at once.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from dealtalk.contracts.config import KafkaSettings
from dealtalk.contracts.documents import BlobRef, MeetingInfo
from dealtalk.contracts.events import (
    AudioStored,
    RecordingDiscovered,
    TranscriptReady,
    dump_event,
    new_trace_id,
)
from dealtalk.contracts.stage import Stage
from dealtalk.pipeline.bus.kafka import reader
from dealtalk.pipeline.bus.kafka.admin import KafkaAdmin
from dealtalk.pipeline.bus.kafka.producer import KafkaProducer
from dealtalk.pipeline.bus.kafka.topics import TopicNames, topic_plan
from dealtalk.pipeline.runtime.kafka.worker import KafkaWorker
from dealtalk.pipeline.runtime.stats import WorkerStats

__all__ = [
    "Calls",
    "create_topics",
    "discovered",
    "eventually",
    "fetch_stage",
    "make_kafka_settings",
    "read_topic",
    "run_until",
    "send_events",
    "send_raw",
    "transcribe_stage",
]

Behaviour = Callable[[Any], None]


def make_kafka_settings(bootstrap: str, **overrides: object) -> KafkaSettings:
    """Settings for a test: unique topics and groups, 2 partitions, short timeouts."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    values: dict[str, object] = {
        "bootstrap_servers": bootstrap,
        "topic_prefix": prefix,
        "group_prefix": prefix,
        "partitions": 2,
        "session_timeout_ms": 6000,
        "heartbeat_interval_ms": 500,
        "poll_timeout_ms": 100,
        "rebalance_grace_s": 10.0,
        "shutdown_grace_s": 10.0,
        "topic_check_interval_s": 0.5,
        "lag_interval_s": 0.5,
        "max_concurrent_jobs": 2,
    }
    values.update(overrides)
    return KafkaSettings.model_validate(values)


def create_topics(kafka: KafkaSettings) -> None:
    """Every topic of the plan (synchronously, for test setup)."""

    async def create() -> None:
        async with KafkaAdmin(kafka) as admin:
            results = await admin.create(topic_plan(kafka))
        assert all(result.status == "created" for result in results), results

    asyncio.run(create())


async def eventually(
    condition: Callable[[], bool], *, timeout_s: float = 30.0, what: str = "condition"
) -> None:
    """Wait until ``condition()`` holds, polling; fail the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout_s:.0f} s")
        await asyncio.sleep(0.05)


class Calls:
    """Thread-safe record of stage runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.runs: Counter[tuple[str, str]] = Counter()
        self.running = 0
        self.max_running = 0

    def enter(self, stage: str, recording_id: str) -> None:
        with self._lock:
            self.runs[(stage, recording_id)] += 1
            self.running += 1
            self.max_running = max(self.max_running, self.running)

    def leave(self) -> None:
        with self._lock:
            self.running -= 1

    def count(self, stage: str, recording_id: str | None = None) -> int:
        with self._lock:
            if recording_id is not None:
                return self.runs[(stage, recording_id)]
            return sum(n for (name, _rid), n in self.runs.items() if name == stage)

    def recordings(self, stage: str) -> set[str]:
        with self._lock:
            return {rid for (name, rid) in self.runs if name == stage}


def _no_persist(_session: Session, _event: Any, _output: Any) -> None:
    return None


def _wrap(
    calls: Calls, name: str, produce: Callable[[Any], Any], behave: Behaviour | None
) -> Callable[[Any], Any]:
    def run(event: Any) -> Any:
        calls.enter(name, event.recording_id)
        try:
            if behave is not None:
                behave(event)
            return produce(event)
        finally:
            calls.leave()

    return run


def fetch_stage(
    calls: Calls, behave: Behaviour | None = None, *, version: str = "fetch-test-1"
) -> Stage[Any, Any]:
    def produce(event: RecordingDiscovered) -> AudioStored:
        return AudioStored(
            **event.follow(), audio=BlobRef(sha256="a" * 64, size_bytes=1), meeting=event.meeting
        )

    return Stage(
        name="fetch",
        consumes=RecordingDiscovered,
        run=_wrap(calls, "fetch", produce, behave),
        version=version,
        persist=_no_persist,
    )


def transcribe_stage(
    calls: Calls, behave: Behaviour | None = None, *, version: str = "asr-test-1"
) -> Stage[Any, Any]:
    def produce(event: AudioStored) -> TranscriptReady:
        return TranscriptReady(
            **event.follow(),
            transcript=BlobRef(sha256="b" * 64, size_bytes=1),
            audio=event.audio,
            meeting=event.meeting,
            language="nl",
            duration_s=1.0,
        )

    return Stage(
        name="transcribe",
        consumes=AudioStored,
        run=_wrap(calls, "transcribe", produce, behave),
        version=version,
        persist=_no_persist,
    )


def discovered(recording_id: str) -> RecordingDiscovered:
    return RecordingDiscovered(
        recording_id=recording_id,
        trace_id=new_trace_id(),
        source="local",
        source_ref=f"/inbox/{recording_id}.flac",
        meeting=MeetingInfo(subject="call"),
    )


async def send_events(kafka: KafkaSettings, events: Iterable[Any]) -> dict[str, int]:
    """Send events to their topics; returns the partition each recording went to."""
    names = TopicNames.from_settings(kafka)
    partitions: dict[str, int] = {}
    async with KafkaProducer(kafka) as producer:
        for event in events:
            sent = await producer.send(
                names.of(event), event.recording_id, dump_event(event), {"trace_id": event.trace_id}
            )
            partitions[event.recording_id] = sent.partition
    return partitions


async def send_raw(
    kafka: KafkaSettings, topic: str, key: str, value: bytes, headers: Mapping[str, str]
) -> None:
    async with KafkaProducer(kafka) as producer:
        await producer.send(topic, key, value, headers)


async def read_topic(kafka: KafkaSettings, topic: str) -> list[Any]:
    """Every record on ``topic`` now (no consumer group: nobody's offsets move)."""
    return await reader.read_topic(kafka, topic)


async def run_until(
    worker: KafkaWorker,
    done: Callable[[], bool],
    *,
    timeout_s: float = 60.0,
    stop: asyncio.Event | None = None,
) -> WorkerStats:
    """Run ``worker`` until ``done()`` holds, then stop it gracefully and return its stats."""
    stop = stop or asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    deadline = time.monotonic() + timeout_s
    try:
        while not done():
            if task.done():
                await task  # raises what stopped it early
                raise AssertionError("the worker stopped before the condition held")
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout_s:.0f} s")
            await asyncio.sleep(0.05)
    finally:
        stop.set()
    return await asyncio.wait_for(task, timeout=60)
