"""``reprocess --workers`` on the Kafka profile: the stored audio events reach the real broker's topic, keyed by
recording id, with the run id in the headers (what a worker fleet consumes)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer

from dealtalk.contracts.config import Settings
from dealtalk.contracts.events import AudioStored, parse_event
from dealtalk.pipeline.bus.kafka.headers import decode_headers
from dealtalk.pipeline.bus.kafka.producer import KafkaProducer
from dealtalk.pipeline.bus.kafka.relay import OutboxRelay
from dealtalk.pipeline.bus.kafka.topics import TopicNames
from dealtalk.pipeline.bus.outlet import KafkaOutlet
from dealtalk.pipeline.reprocess.queue import put_on_bus
from dealtalk.pipeline.reprocess.runs import stored_inputs
from dealtalk.pipeline.store import open_database
from tests.integration.reprocess.fakes import ScriptTranscriber, seed_calls
from tests.support.kafka_broker import TestBroker, kafka_broker
from tests.support.kafka_stages import create_topics, make_kafka_settings

__all__ = ["kafka_broker"]

pytestmark = pytest.mark.kafka


def test_workers_mode_sends_the_stored_audio_events_to_kafka(
    kafka_broker: TestBroker, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings()
    database = open_database(settings.database_url)
    try:
        seed_calls(settings, database, tmp_path / "inbox", ScriptTranscriber("old-asr"))
        events = [e for rid in ("rec-a", "rec-c") if (e := stored_inputs(database, rid).audio) is not None]
        kafka = make_kafka_settings(kafka_broker.bootstrap)
        create_topics(kafka)
        names = TopicNames.from_settings(kafka)
        assert put_on_bus(KafkaOutlet(names), database, events, run_id="rp-k") == 2

        async def relay() -> int:
            async with KafkaProducer(kafka) as producer:
                return await OutboxRelay(database, producer, names).relay_once()

        assert asyncio.run(relay()) == 2  # what a worker's relay does
    finally:
        database.dispose()

    async def read() -> list[tuple[str, str, str]]:
        consumer = AIOKafkaConsumer(
            TopicNames.from_settings(kafka).of_event(AudioStored),
            bootstrap_servers=kafka.bootstrap_servers,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            got: list[tuple[str, str, str]] = []
            async with asyncio.timeout(30):
                while len(got) < 2:
                    for records in (await consumer.getmany(timeout_ms=500)).values():
                        for record in records:
                            event = parse_event(record.value.decode())
                            headers = decode_headers(record.headers)
                            got.append((record.key.decode(), event.recording_id, headers["reprocess_run"]))
            return sorted(got)
        finally:
            await consumer.stop()

    assert asyncio.run(read()) == [("rec-a", "rec-a", "rp-k"), ("rec-c", "rec-c", "rp-k")]
