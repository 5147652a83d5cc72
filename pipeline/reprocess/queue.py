"""Reprocessing on the worker fleet: the stored ``audio.stored`` events go back on the bus.

The workers run the model set they were started with (start them with the run's ``DEALTALK_SPEECH__*``);
their transcribe stage keys its result by model version, so a new model produces a new version beside the
old one. ``put_on_bus`` is the one place that publishes, so the bus seam can replace it in one spot.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from dealtalk.pipeline.bus.embedded import EmbeddedBus
from dealtalk.pipeline.config import Settings
from dealtalk.pipeline.events import AudioStored, dump_event, topic_of

__all__ = ["put_on_bus"]


def put_on_bus(settings: Settings, bus: EmbeddedBus, events: Sequence[AudioStored], *, run_id: str) -> int:
    """Publish each event on its topic (embedded queue or Kafka, per ``DEALTALK_BUS__KIND``); returns the count.

    Raises:
        TransientError: the Kafka cluster is unreachable (nothing is marked queued then).
    """
    if settings.bus.kind == "kafka":
        asyncio.run(_send_to_kafka(settings, events, run_id))
        return len(events)
    with bus.database.session() as session:
        for event in events:
            bus.publish(
                session, topic_of(event), event.recording_id, dump_event(event), _headers(event, run_id)
            )
    return len(events)


def _headers(event: AudioStored, run_id: str) -> dict[str, str]:
    return {"trace_id": event.trace_id, "stage": "reprocess", "reprocess_run": run_id}


async def _send_to_kafka(settings: Settings, events: Sequence[AudioStored], run_id: str) -> None:
    from dealtalk.pipeline.bus.kafka.producer import KafkaProducer
    from dealtalk.pipeline.bus.kafka.topics import TopicNames

    names = TopicNames.from_settings(settings.kafka)
    async with KafkaProducer(settings.kafka, client_id_suffix="reprocess") as producer:
        for event in events:
            await producer.send(
                names.of(event), event.recording_id, dump_event(event), _headers(event, run_id)
            )
