"""Cluster administration: which topics exist, and creating the pipeline's topics from the plan."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from dealtalk.contracts.config import KafkaSettings
from dealtalk.contracts.errors import ConfigurationError
from dealtalk.pipeline.bus.kafka.connection import KafkaClient
from dealtalk.pipeline.bus.kafka.errors import CLIENT_ERRORS, translate
from dealtalk.pipeline.bus.kafka.topics import TopicSpec, topic_plan

__all__ = ["GroupState", "KafkaAdmin", "TopicResult", "create_topics"]

logger = logging.getLogger(__name__)

# Kafka's error code for "topic already exists" (CreateTopics): the plan is applied idempotently.
_TOPIC_ALREADY_EXISTS = 36


@dataclass(frozen=True, slots=True)
class TopicResult:
    name: str
    status: Literal["created", "exists", "failed"]
    partitions: int
    detail: str = ""


@dataclass(frozen=True, slots=True)
class GroupState:
    """A consumer group as the coordinator sees it: "Stable", "PreparingRebalance", "Empty", ..."""

    name: str
    state: str
    members: int


class KafkaAdmin(KafkaClient):
    """An async context manager around ``AIOKafkaAdminClient``; ``stop()`` may be called twice."""

    def __init__(self, settings: KafkaSettings) -> None:
        super().__init__(settings, client_id_suffix="-admin")

    def _open(self, options: dict[str, Any]) -> AIOKafkaAdminClient:
        return AIOKafkaAdminClient(**options)

    async def _close(self, client: AIOKafkaAdminClient) -> None:
        await client.close()

    async def topics(self) -> dict[str, int]:
        """The cluster's topics and their partition counts.

        Asks for *all* topics: a metadata request naming a topic would create it on clusters with topic
        auto-creation on (the test broker), hiding exactly the mistake this check is for.

        Raises:
            TransientError: the cluster cannot be reached now.
        """
        try:
            described = await self._started().describe_topics(None)
        except CLIENT_ERRORS as exc:
            raise translate(exc, "cannot list the cluster's topics") from exc
        return {
            str(topic["topic"]): len(topic["partitions"])
            for topic in described
            if not topic.get("is_internal") and not str(topic["topic"]).startswith("__")
        }

    async def create(self, plan: Sequence[TopicSpec]) -> list[TopicResult]:
        """Create the topics of ``plan`` that do not exist yet; existing ones are left as they are.

        Raises:
            TransientError: the cluster cannot be reached now.
        """
        existing = await self.topics()
        results = [
            TopicResult(spec.name, "exists", existing[spec.name]) for spec in plan if spec.name in existing
        ]
        missing = [spec for spec in plan if spec.name not in existing]
        if not missing:
            return results
        request = [
            NewTopic(
                spec.name,
                num_partitions=spec.partitions,
                replication_factor=spec.replication_factor,
                topic_configs=dict(spec.config),
            )
            for spec in missing
        ]
        try:
            response = await self._started().create_topics(request)
        except CLIENT_ERRORS as exc:
            raise translate(exc, "cannot create topics") from exc
        by_name = {spec.name: spec for spec in missing}
        for entry in response.topic_errors:
            name, code = str(entry[0]), int(entry[1])
            message = str(entry[2]) if len(entry) > 2 and entry[2] else ""
            spec = by_name[name]
            if code == 0:
                results.append(TopicResult(name, "created", spec.partitions))
                logger.info("topic created name=%s partitions=%s", name, spec.partitions)
            elif code == _TOPIC_ALREADY_EXISTS:
                results.append(TopicResult(name, "exists", spec.partitions))
            else:
                results.append(TopicResult(name, "failed", spec.partitions, f"error {code}: {message}"))
                logger.error("topic not created name=%s error_code=%s message=%s", name, code, message)
        order = {spec.name: index for index, spec in enumerate(plan)}
        return sorted(results, key=lambda result: order[result.name])

    async def groups(self, names: Sequence[str]) -> dict[str, GroupState]:
        """The state and member count of consumer groups (a group nobody joined yet is "Dead" or "Empty").

        Raises:
            TransientError: the cluster cannot be reached now.
        """
        found: dict[str, GroupState] = {}
        for name in names:
            # One group per request: the test broker garbles a DescribeGroups response for several groups.
            try:
                responses = await self._started().describe_consumer_groups([name])
            except CLIENT_ERRORS as exc:
                raise translate(exc, f"cannot describe consumer group {name}") from exc
            for response in responses:
                # DescribeGroups entries: (error_code, group_id, state, protocol_type, protocol, members, ...)
                for entry in response.groups:
                    found[str(entry[1])] = GroupState(
                        name=str(entry[1]), state=str(entry[2]), members=len(entry[5])
                    )
        return found


def create_topics(settings: KafkaSettings) -> list[TopicResult]:
    """Apply the topic plan of ``settings`` (idempotent); what ``dealtalk topics create`` and the sandbox run.

    Raises:
        TransientError: the cluster cannot be reached now.
        ConfigurationError: a topic could not be created (the message names it and the broker's reason).
    """

    async def create() -> list[TopicResult]:
        async with KafkaAdmin(settings) as admin:
            return await admin.create(topic_plan(settings))

    results = asyncio.run(create())
    failed = [f"{r.name} ({r.detail})" for r in results if r.status == "failed"]
    if failed:
        raise ConfigurationError(f"could not create {len(failed)} topic(s): {', '.join(failed)}")
    return results
