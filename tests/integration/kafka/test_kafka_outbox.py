"""The outbox between producers outside a stage and Kafka: committed with the registration, relayed, never lost,
and a relay that dies between the produce and the commit costs a duplicate record that the stage reuses."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
from sqlalchemy import func, select

from dealtalk.contracts.config import BusSettings, KafkaSettings
from dealtalk.contracts.errors import TransientError
from dealtalk.contracts.events import RecordingDiscovered
from dealtalk.pipeline.bus.kafka.producer import KafkaProducer, Sent
from dealtalk.pipeline.bus.kafka.relay import OutboxRelay, outbox_size
from dealtalk.pipeline.bus.kafka.topics import TopicNames
from dealtalk.pipeline.bus.outlet import KafkaOutlet
from dealtalk.pipeline.discovery import hand_on_discovered
from dealtalk.pipeline.runtime.kafka.worker import KafkaWorker
from dealtalk.pipeline.store import Database
from dealtalk.pipeline.store.schema import RecordingRow
from tests.support.kafka_broker import free_port
from tests.support.kafka_stages import Calls, discovered, fetch_stage, read_topic, run_until


class DiesAfterSending:
    """The real producer, and then the process "dies": the record is on the broker, the commit never happens."""

    def __init__(self, producer: KafkaProducer) -> None:
        self.producer = producer

    async def send(
        self, topic: str, key: str, value: bytes | str, headers: Mapping[str, str] | None = None
    ) -> Sent:
        await self.producer.send(topic, key, value, headers)
        raise SystemExit("killed between produce and commit")


def _registered(database: Database) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(RecordingRow)) or 0)


def test_a_relay_killed_after_producing_leaves_the_row_and_the_stage_acts_once(
    kafka: KafkaSettings, bus: BusSettings, database: Database
) -> None:
    names = TopicNames.from_settings(kafka)
    outlet = KafkaOutlet(names)
    assert hand_on_discovered(database, outlet, discovered("rec-outbox-1"))
    assert not hand_on_discovered(database, outlet, discovered("rec-outbox-1"))  # known: not handed on again
    assert outbox_size(database) == 1 and _registered(database) == 1

    async def scenario() -> tuple[int, list[Any]]:
        async with KafkaProducer(kafka) as producer:
            with pytest.raises(SystemExit):
                await OutboxRelay(database, DiesAfterSending(producer), names).relay_once()  # type: ignore[arg-type]
            assert outbox_size(database) == 1  # the transaction that would delete it never committed
            assert await OutboxRelay(database, producer, names).relay_once() == 1
        records = await read_topic(kafka, names.of_event(RecordingDiscovered))
        return outbox_size(database), records

    left, records = asyncio.run(scenario())
    assert left == 0
    assert [r.key for r in records] == [b"rec-outbox-1", b"rec-outbox-1"]  # produced twice...

    calls = Calls()
    worker = KafkaWorker([fetch_stage(calls)], database=database, kafka=kafka, bus=bus)
    stats = asyncio.run(run_until(worker, lambda: worker.stats.processed + worker.stats.reused >= 2))
    assert calls.count("fetch", "rec-outbox-1") == 1  # ...acted on once: the second copy reused the result
    assert stats.processed == 2 and stats.reused == 1  # both records handled, one by reuse


def test_events_accepted_while_the_broker_is_down_wait_in_the_outbox(
    kafka: KafkaSettings, database: Database
) -> None:
    names = TopicNames.from_settings(kafka)
    for n in range(3):
        assert hand_on_discovered(database, KafkaOutlet(names), discovered(f"rec-down-{n}"))
    down = kafka.model_copy(
        update={"bootstrap_servers": f"127.0.0.1:{free_port()}", "request_timeout_ms": 1500}
    )

    async def relay(settings: KafkaSettings) -> int:
        async with KafkaProducer(settings) as producer:
            return await OutboxRelay(database, producer, names).relay_once()

    with pytest.raises(TransientError):
        asyncio.run(relay(down))
    assert outbox_size(database) == 3 and _registered(database) == 3  # nothing lost, nothing half-done
    assert asyncio.run(relay(kafka)) == 3
    assert outbox_size(database) == 0
    records = asyncio.run(read_topic(kafka, names.of_event(RecordingDiscovered)))
    assert sorted(r.key for r in records) == [b"rec-down-0", b"rec-down-1", b"rec-down-2"]
