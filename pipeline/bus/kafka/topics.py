"""Kafka topic names and the topic plan: one topic per hand-over, a retry topic per stage, one dead-letter topic.

Names come from the event contract (``events.TOPICS``) under ``KafkaSettings.topic_prefix``, so several
deployments can share a cluster: ``dealtalk.audio.stored``, ``dealtalk.retry.transcribe``,
``dealtalk.stage.failed`` (the dead-letter topic carries ``StageFailed`` events). Consumer groups are one per
stage, ``{group_prefix}.{stage}``, so each stage scales by its own partitions and workers.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from dealtalk.contracts.config import KafkaSettings
from dealtalk.contracts.events import (
    TOPICS,
    AudioStored,
    CallPublished,
    InsightsReady,
    RecordingDiscovered,
    StageFailed,
    TranscriptReady,
)

__all__ = ["STAGE_INPUTS", "STAGE_OUTPUTS", "TopicNames", "TopicSpec", "topic_plan"]

# What each stage consumes and produces, by name (the Stage objects say the same; this serves the CLI and the
# topic plan, which must not build stages and load their models).
STAGE_INPUTS: dict[str, type[BaseModel]] = {
    "fetch": RecordingDiscovered,
    "transcribe": AudioStored,
    "analyze": TranscriptReady,
    "publish": InsightsReady,
}
STAGE_OUTPUTS: dict[str, type[BaseModel]] = {
    "fetch": AudioStored,
    "transcribe": TranscriptReady,
    "analyze": InsightsReady,
    "publish": CallPublished,
}


@dataclass(frozen=True, slots=True)
class TopicNames:
    """Maps the contract's logical topics and the stages to the cluster's topic and group names."""

    prefix: str
    group_prefix: str

    @classmethod
    def from_settings(cls, settings: KafkaSettings) -> TopicNames:
        return cls(prefix=settings.topic_prefix, group_prefix=settings.group_prefix)

    def _full(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def of_event(self, event_type: type[BaseModel]) -> str:
        """The topic an event type travels on."""
        return self._full(TOPICS[event_type])

    def of(self, event: BaseModel) -> str:
        return self.of_event(type(event))

    def retry_of(self, stage: str) -> str:
        """Where a stage's failed-for-now messages wait for their next attempt."""
        return self._full(f"retry.{stage}")

    @property
    def dead_letters(self) -> str:
        return self.of_event(StageFailed)

    @property
    def published(self) -> str:
        return self.of_event(CallPublished)

    def group_of(self, stage: str) -> str:
        return f"{self.group_prefix}.{stage}" if self.group_prefix else stage

    def needed_by(self, stage: str, consumes: type[BaseModel]) -> set[str]:
        """Every topic a stage's worker reads or writes: input, retry, output (when known), dead letters."""
        needed = {self.of_event(consumes), self.retry_of(stage), self.dead_letters}
        if stage in STAGE_OUTPUTS:
            needed.add(self.of_event(STAGE_OUTPUTS[stage]))
        return needed


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int
    config: dict[str, str]


def topic_plan(settings: KafkaSettings) -> list[TopicSpec]:
    """Every topic the pipeline uses, with partitions, replication and retention from the settings."""
    names = TopicNames.from_settings(settings)

    def spec(name: str, retention_ms: int) -> TopicSpec:
        return TopicSpec(
            name=name,
            partitions=settings.partitions,
            replication_factor=settings.replication_factor,
            config={
                "retention.ms": str(retention_ms),
                "min.insync.replicas": str(min(settings.min_insync_replicas, settings.replication_factor)),
            },
        )

    plan = [
        spec(names.of_event(event), settings.retention_ms) for event in TOPICS if event is not StageFailed
    ]
    plan += [spec(names.retry_of(stage), settings.retention_ms) for stage in STAGE_INPUTS]
    plan.append(spec(names.dead_letters, settings.dead_letter_retention_ms))
    return plan
