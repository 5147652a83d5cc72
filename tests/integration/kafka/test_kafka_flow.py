"""The Kafka driver on the real test broker: hand-over, headers, metrics, redelivery idempotence, retries."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import func, select

from dealtalk.contracts.config import BusSettings, KafkaSettings
from dealtalk.contracts.errors import RetryLater, TransientError
from dealtalk.contracts.events import AudioStored, TranscriptReady, parse_event
from dealtalk.pipeline.bus.kafka.dead_letters import list_kafka_dead_letters
from dealtalk.pipeline.bus.kafka.headers import decode_headers
from dealtalk.pipeline.bus.kafka.topics import TopicNames
from dealtalk.pipeline.metrics import WorkerMetrics
from dealtalk.pipeline.runtime.kafka.worker import KafkaWorker
from dealtalk.pipeline.store import Database
from dealtalk.pipeline.store.schema import StageResultRow
from tests.support.kafka_stages import (
    Calls,
    discovered,
    fetch_stage,
    read_topic,
    send_events,
    transcribe_stage,
)

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(120)]


def test_stages_hand_events_on_keyed_by_recording_with_the_trace(
    kafka: KafkaSettings, bus: BusSettings, database: Database
) -> None:
    calls = Calls()
    events = [discovered(f"rec-{i}") for i in range(6)]
    metrics = WorkerMetrics()
    names = TopicNames.from_settings(kafka)

    async def scenario() -> list[Any]:
        await send_events(kafka, events)
        worker = KafkaWorker(
            [fetch_stage(calls), transcribe_stage(calls)],
            database=database,
            kafka=kafka,
            bus=bus,
            on_job=metrics.on_job,
            metrics=metrics,
        )
        stats = await worker.run(burst=True)
        assert stats.processed == 12 and stats.retried == 0 and stats.dead_lettered == 0
        return await read_topic(kafka, names.of_event(TranscriptReady))

    records = asyncio.run(scenario())
    traces = {event.recording_id: event.trace_id for event in events}
    assert sorted(r.key.decode() for r in records) == sorted(traces)
    for record in records:
        event = parse_event(record.value)
        headers = decode_headers(record.headers)
        assert isinstance(event, TranscriptReady)
        assert event.recording_id == record.key.decode()
        assert headers["trace_id"] == event.trace_id == traces[event.recording_id]
        assert headers["stage"] == "transcribe"
    # Keyed by recording id: each recording's AudioStored and TranscriptReady share a partition number.
    audio = asyncio.run(read_topic(kafka, names.of_event(AudioStored)))
    assert {r.key: r.partition for r in audio} == {r.key: r.partition for r in records}
    with database.session() as session:
        stored = session.scalar(select(func.count()).select_from(StageResultRow))
    assert stored == 12
    assert metrics.value("dealtalk_messages_processed_total", {"stage": "fetch", "outcome": "done"}) == 6
    assert metrics.value("dealtalk_messages_processed_total", {"stage": "transcribe", "outcome": "done"}) == 6
    assert metrics.value("dealtalk_stage_latency_seconds_count", {"stage": "transcribe"}) == 6
    assert metrics.value("dealtalk_jobs_in_progress", {"stage": "fetch"}) == 0


def test_redelivery_reuses_the_stored_result_and_never_repeats_the_side_effect(
    kafka: KafkaSettings, bus: BusSettings, database: Database
) -> None:
    """Every input is delivered again (offsets rewound, as after a crash before the commit)."""
    calls = Calls()
    events = [discovered(f"rec-{i}") for i in range(5)]
    names = TopicNames.from_settings(kafka)

    def worker() -> KafkaWorker:
        return KafkaWorker(
            [fetch_stage(calls), transcribe_stage(calls)], database=database, kafka=kafka, bus=bus
        )

    async def scenario() -> tuple[int, int]:
        await send_events(kafka, events)
        await worker().run(burst=True)
        await _rewind_group(kafka, names.group_of("fetch"), names.of_event(events[0].__class__))
        await _rewind_group(kafka, names.group_of("transcribe"), names.of_event(AudioStored))
        stats = await worker().run(burst=True)
        return stats.processed, stats.reused

    processed, reused = asyncio.run(scenario())
    # Second run: the rewound inputs (5 + 5) plus the AudioStored events its own fetch reuse handed on again.
    assert reused == processed >= 10
    for event in events:
        assert calls.count("fetch", event.recording_id) == 1
        assert calls.count("transcribe", event.recording_id) == 1
    outputs = asyncio.run(read_topic(kafka, names.of_event(TranscriptReady)))
    # Handed on again, but the same event (same id): consumers downstream reuse by recording + stage + version.
    by_recording: dict[str, set[str]] = {}
    for record in outputs:
        by_recording.setdefault(record.key.decode(), set()).add(parse_event(record.value).event_id)
    assert all(len(ids) == 1 for ids in by_recording.values()) and len(by_recording) == 5


def test_transient_failures_retry_through_the_retry_topic_with_backoff(
    kafka: KafkaSettings, database: Database
) -> None:
    calls = Calls()
    bus = BusSettings(max_attempts=4, backoff_base_s=0.5, backoff_max_s=5.0)
    names = TopicNames.from_settings(kafka)

    def flaky(event: Any) -> None:
        if event.recording_id == "flaky" and calls.count("fetch", "flaky") <= 2:
            raise TransientError("the CRM is down")
        if event.recording_id == "throttled" and calls.count("fetch", "throttled") == 1:
            raise RetryLater("throttled by the API", defer_s=1.5)
        if event.recording_id == "hopeless":
            raise TransientError("never comes back")

    async def scenario() -> float:
        await send_events(kafka, [discovered("flaky"), discovered("throttled"), discovered("hopeless")])
        started = time.monotonic()
        stats = await KafkaWorker([fetch_stage(calls, flaky)], database=database, kafka=kafka, bus=bus).run(
            burst=True
        )
        assert stats.processed == 2 and stats.dead_lettered == 1
        return time.monotonic() - started

    elapsed = asyncio.run(scenario())
    assert calls.count("fetch", "flaky") == 3  # failed twice, then done
    assert calls.count("fetch", "throttled") == 2
    assert calls.count("fetch", "hopeless") == 4  # max_attempts, then the dead-letter topic
    assert elapsed >= 0.5 + 1.0 + 2.0  # the hopeless one waited its backoff: 0.5, 1, 2 s
    retries = asyncio.run(read_topic(kafka, names.retry_of("fetch")))
    attempts = sorted(
        (r.key.decode(), decode_headers(r.headers)["attempt"])
        for r in retries
        if r.key.decode() != "throttled"
    )
    assert attempts == [
        ("flaky", "2"),
        ("flaky", "3"),
        ("hopeless", "2"),
        ("hopeless", "3"),
        ("hopeless", "4"),
    ]
    for record in retries:
        headers = decode_headers(record.headers)
        assert headers["original_topic"] == names.of_event(discovered("x").__class__)
        assert int(headers["not_before_ms"]) > record.timestamp
    letters = asyncio.run(list_kafka_dead_letters(kafka, database))
    assert len(letters) == 1
    failed = letters[0].failed
    assert failed is not None and failed.recording_id == "hopeless" and failed.attempt == 4
    assert failed.reason == "gave up after 4 attempts: recording hopeless: never comes back"
    assert failed.original_topic == names.of_event(discovered("x").__class__)


async def _rewind_group(kafka: KafkaSettings, group: str, topic: str) -> None:
    """Commit offset 0 for every partition of ``topic`` in ``group``: everything is delivered again."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(kafka.partitions)]
        consumer.assign(tps)
        await consumer.commit(dict.fromkeys(tps, 0))
    finally:
        await consumer.stop()
