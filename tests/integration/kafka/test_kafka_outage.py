"""Infrastructure going wrong on the real broker: the broker away for a while, topics that do not exist."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dealtalk.contracts.config import BusSettings
from dealtalk.contracts.events import TranscriptReady, parse_event
from dealtalk.pipeline.bus.kafka.admin import KafkaAdmin
from dealtalk.pipeline.bus.kafka.topics import TopicNames, topic_plan
from dealtalk.pipeline.runtime.kafka.worker import KafkaWorker
from dealtalk.pipeline.store import Database
from tests.support.kafka_broker import TestBroker
from tests.support.kafka_stages import (
    Calls,
    discovered,
    eventually,
    fetch_stage,
    make_kafka_settings,
    read_topic,
    send_events,
    transcribe_stage,
)

pytestmark = [pytest.mark.kafka]

# The issue asks for 30 s; DEALTALK_TEST_OUTAGE_S shortens it for a quick local run.
OUTAGE_S = float(os.environ.get("DEALTALK_TEST_OUTAGE_S", "30"))


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[TestBroker]:
    """A broker of this test's own: it is stopped and started again while the session's broker serves others."""
    broker = TestBroker(tmp_path / "broker")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.mark.timeout(OUTAGE_S + 120)
def test_a_broker_away_for_a_while_loses_and_duplicates_nothing(
    own_broker: TestBroker, bus: BusSettings, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="dealtalk")
    kafka = make_kafka_settings(own_broker.bootstrap, request_timeout_ms=5000)
    names = TopicNames.from_settings(kafka)
    calls = Calls()
    events = [discovered(f"rec-{i}") for i in range(12)]
    slow = {e.recording_id: 0.25 for e in events}

    def behave(event: object) -> None:
        time.sleep(slow.get(getattr(event, "recording_id", ""), 0.0))

    async def scenario() -> None:
        async with KafkaAdmin(kafka) as admin:
            await admin.create(topic_plan(kafka))
        await send_events(kafka, events)
        worker = KafkaWorker(
            [fetch_stage(calls, behave), transcribe_stage(calls, behave)],
            database=database,
            kafka=kafka,
            bus=bus,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        await eventually(lambda: calls.count("transcribe") >= 2, what="two transcriptions")
        await asyncio.to_thread(own_broker.stop)
        await asyncio.sleep(OUTAGE_S)
        assert not task.done(), "the worker gave up while the broker was away"
        await asyncio.to_thread(own_broker.start)
        deadline = time.monotonic() + 90
        while len(calls.recordings("transcribe")) < len(events):
            assert time.monotonic() < deadline, "the worker did not recover after the broker came back"
            await asyncio.sleep(0.2)
        await asyncio.sleep(2.0)  # give a duplicate the chance to show itself
        stop.set()
        await asyncio.wait_for(task, timeout=60)

    asyncio.run(scenario())
    outputs = asyncio.run(read_topic(kafka, names.of_event(TranscriptReady)))
    event_ids: dict[str, set[str]] = {}
    for record in outputs:
        event_ids.setdefault(record.key.decode(), set()).add(parse_event(record.value).event_id)
    assert sorted(event_ids) == sorted(e.recording_id for e in events)  # nothing lost
    assert all(len(ids) == 1 for ids in event_ids.values())  # one result per recording (re-sent at most)
    for event in events:  # the broker outage never made a stage run twice
        assert calls.count("fetch", event.recording_id) == 1
        assert calls.count("transcribe", event.recording_id) == 1
    if OUTAGE_S > 15:  # a job that ended during the outage waited for the cluster, and said so
        waiting = [
            r.getMessage() for r in caplog.records if r.getMessage().startswith("job waiting for the cluster")
        ]
        assert waiting and own_broker.bootstrap in waiting[0]


@pytest.mark.timeout(60)
def test_a_stage_whose_topics_are_missing_waits_and_the_others_serve(
    kafka_broker: TestBroker, bus: BusSettings, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    kafka = make_kafka_settings(kafka_broker.bootstrap)
    names = TopicNames.from_settings(kafka)
    calls = Calls()
    fetch_topics = {names.of_event(type(discovered("x"))), names.retry_of("fetch"), names.dead_letters}
    fetch_topics.add(names.of_event(TranscriptReady).replace("transcripts.ready", "audio.stored"))
    plan = topic_plan(kafka)

    async def scenario() -> None:
        async with KafkaAdmin(kafka) as admin:
            await admin.create([spec for spec in plan if spec.name in fetch_topics])
        await send_events(kafka, [discovered("a"), discovered("b")])
        worker = KafkaWorker(
            [fetch_stage(calls), transcribe_stage(calls)], database=database, kafka=kafka, bus=bus
        )
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        deadline = time.monotonic() + 20
        while calls.count("fetch") < 2:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        assert calls.count("transcribe") == 0
        async with KafkaAdmin(kafka) as admin:
            await admin.create(plan)  # the operator runs `dealtalk topics create`
        await run_until_count(calls, "transcribe", 2)
        stop.set()
        await task

    asyncio.run(scenario())
    waits = [r.getMessage() for r in caplog.records if r.getMessage().startswith("stage transcribe waits")]
    assert waits and names.retry_of("transcribe") in waits[0] and names.of_event(TranscriptReady) in waits[0]
    assert "dealtalk topics create" in waits[0]


async def run_until_count(calls: Calls, stage: str, count: int, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while calls.count(stage) < count:
        assert time.monotonic() < deadline, f"{stage} did not reach {count} runs"
        await asyncio.sleep(0.05)
