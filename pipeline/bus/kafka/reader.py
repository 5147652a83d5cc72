"""Reading a whole topic as it is now, without a consumer group: nobody's offsets move.

For inspection (the dead-letter CLI, checks in tests and benchmarks), never for processing: it assigns every
partition, reads from the start up to the end offsets it found when it started, and stops.
"""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from dealtalk.contracts.config import KafkaSettings
from dealtalk.contracts.errors import InvalidInput
from dealtalk.pipeline.bus.kafka.admin import KafkaAdmin
from dealtalk.pipeline.bus.kafka.connection import client_options
from dealtalk.pipeline.bus.kafka.errors import CLIENT_ERRORS, translate

__all__ = ["read_topic"]


async def read_topic(settings: KafkaSettings, topic: str) -> list[Any]:
    """Every record on ``topic`` up to its current end, partition by partition (aiokafka ConsumerRecords).

    Raises:
        InvalidInput: the topic does not exist.
        TransientError: the cluster cannot be reached.
    """
    async with KafkaAdmin(settings) as admin:
        partitions = (await admin.topics()).get(topic, 0)
    if not partitions:
        raise InvalidInput(f"the topic {topic} does not exist; create it with `dealtalk topics create`")
    consumer = AIOKafkaConsumer(
        **client_options(settings, client_id_suffix="-reader"), enable_auto_commit=False, group_id=None
    )
    records: list[Any] = []
    try:
        await consumer.start()
        tps = [TopicPartition(topic, partition) for partition in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        remaining = set(tps)
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, part in batch.items():
                records.extend(record for record in part if record.offset < ends[tp])
            # Position, not the last record: offsets may have gaps (compaction, transaction markers).
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    except CLIENT_ERRORS as exc:
        raise translate(exc, f"cannot read topic {topic}") from exc
    finally:
        await consumer.stop()
    return records
