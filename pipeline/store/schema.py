"""The relational store: recordings and their results, the embedded bus, dead letters and the audit log.

One schema for SQLite (embedded profile) and PostgreSQL; Alembic migrations under ``migrations/`` create it.
Results are keyed by recording id (one current transcript/insight per recording); ``stage_results`` keys every
stage's output by recording id + stage + model version, which is what makes redelivery idempotent.
Every result row carries the provenance of the models that produced it (``models`` JSON).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ActionItemRow",
    "AuditRow",
    "Base",
    "BusMessageRow",
    "CallRow",
    "DeadLetterRow",
    "DeliveryRow",
    "ErasureRow",
    "ErasureTaskRow",
    "InsightRow",
    "LinkRow",
    "PublicationRow",
    "RecordingRow",
    "RiskRow",
    "SegmentRow",
    "SpeakerRow",
    "StageResultRow",
    "WordRow",
    "utcnow",
]


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend.

    SQLite has no timezone type; storing naive UTC in one fixed format keeps comparisons (lease expiry,
    retry time) correct there, and PostgreSQL gets ``timestamptz``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use datetime.now(UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=_NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime, dict[str, Any]: JSON, date: Date}


_RECORDING_FK = "recordings.recording_id"


class RecordingRow(Base):
    __tablename__ = "recordings"

    recording_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    source_ref: Mapped[str] = mapped_column(Text)
    meeting: Mapped[dict[str, Any]]
    trace_id: Mapped[str] = mapped_column(String(64))
    # The content address of the audio; unique so that the same audio under two ids is caught as a duplicate.
    audio_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    audio_size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(32), index=True)
    discovered_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # When retention removed the audio / the transcript (``dealtalk gdpr retention``); None while kept.
    audio_expired_at: Mapped[datetime | None]
    transcript_expired_at: Mapped[datetime | None]


class CallRow(Base):
    """The current transcript of a recording."""

    __tablename__ = "calls"

    recording_id: Mapped[str] = mapped_column(ForeignKey(_RECORDING_FK, ondelete="CASCADE"), primary_key=True)
    language: Mapped[str] = mapped_column(String(16))
    duration_s: Mapped[float] = mapped_column(Float)
    transcript_sha256: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(200))
    models: Mapped[dict[str, Any]]
    warnings: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SpeakerRow(Base):
    __tablename__ = "speakers"

    recording_id: Mapped[str] = mapped_column(ForeignKey(_RECORDING_FK, ondelete="CASCADE"), primary_key=True)
    speaker_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16))


class SegmentRow(Base):
    __tablename__ = "segments"

    recording_id: Mapped[str] = mapped_column(ForeignKey(_RECORDING_FK, ondelete="CASCADE"), primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    speaker_id: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    sentiment_label: Mapped[str | None] = mapped_column(String(16))
    sentiment_score: Mapped[float | None] = mapped_column(Float)


class WordRow(Base):
    __tablename__ = "words"

    recording_id: Mapped[str] = mapped_column(ForeignKey(_RECORDING_FK, ondelete="CASCADE"), primary_key=True)
    segment_idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    word: Mapped[str] = mapped_column(String(200))
    speaker_id: Mapped[str] = mapped_column(String(16))
    probability: Mapped[float] = mapped_column(Float)


class InsightRow(Base):
    """The current insights of a recording: KPIs, summary, health and the models that produced them."""

    __tablename__ = "insights"

    recording_id: Mapped[str] = mapped_column(ForeignKey(_RECORDING_FK, ondelete="CASCADE"), primary_key=True)
    insights_sha256: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(200))
    kpis: Mapped[dict[str, Any]]
    summary: Mapped[str] = mapped_column(Text)
    health_score: Mapped[int] = mapped_column(Integer)
    health: Mapped[dict[str, Any]]
    entities: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    models: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RiskRow(Base):
    """One negotiation-risk signal with its evidence (the exact quote and when it was said)."""

    __tablename__ = "risks"
    __table_args__ = (Index("ix_risks_type_severity", "type", "severity"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recording_id: Mapped[str] = mapped_column(ForeignKey(_RECORDING_FK, ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(8))
    confidence: Mapped[float] = mapped_column(Float)
    speaker_id: Mapped[str] = mapped_column(String(16))
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    quote: Mapped[str] = mapped_column(Text)
    segment_index: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(32))
    explanation: Mapped[str] = mapped_column(Text)
    # How well the quoted segment was heard, 0..1 (``contracts.evidence``); below 0.5 it was heard badly.
    evidence_quality: Mapped[float] = mapped_column(Float, server_default="1.0")


class ActionItemRow(Base):
    __tablename__ = "action_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recording_id: Mapped[str] = mapped_column(ForeignKey(_RECORDING_FK, ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(16))
    due: Mapped[date | None]
    start_s: Mapped[float] = mapped_column(Float)
    segment_index: Mapped[int] = mapped_column(Integer)


class LinkRow(Base):
    """How a recording was linked to its opportunity (appointment, contact_account, manual) or not."""

    __tablename__ = "links"

    recording_id: Mapped[str] = mapped_column(ForeignKey(_RECORDING_FK, ondelete="CASCADE"), primary_key=True)
    opportunity_id: Mapped[str | None] = mapped_column(String(64), index=True)
    method: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text)
    opportunity_name: Mapped[str | None] = mapped_column(String(400))
    account_name: Mapped[str | None] = mapped_column(String(400))
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)


class PublicationRow(Base):
    """The activity a recording's insights were published as (one per recording: upserted, never duplicated)."""

    __tablename__ = "publications"

    recording_id: Mapped[str] = mapped_column(ForeignKey(_RECORDING_FK, ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    activity_id: Mapped[str | None] = mapped_column(String(64))
    opportunity_id: Mapped[str | None] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(Text)
    publish_count: Mapped[int] = mapped_column(Integer, default=0)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditRow(Base):
    """Who did what to which recording, when. Never transcript text or personal data."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    recording_id: Mapped[str | None] = mapped_column(String(512), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]]


class StageResultRow(Base):
    """A stage's output event, keyed by recording id + stage + model version: the idempotency record."""

    __tablename__ = "stage_results"

    recording_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    stage: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[str] = mapped_column(String(200), primary_key=True)
    output_event: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BusMessageRow(Base):
    """A message on the embedded bus: at-least-once, leased, retried with backoff, ordered per key."""

    __tablename__ = "bus_messages"
    __table_args__ = (
        Index("ix_bus_messages_claim", "topic", "status", "available_at"),
        Index("ix_bus_messages_key", "topic", "key", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    topic: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(512))
    payload: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16))  # pending | done | dead
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime] = mapped_column(default=utcnow)
    leased_by: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]


class DeadLetterRow(Base):
    """A message a stage gave up on, with the reason; ``dealtalk dlq`` lists, shows and replays these."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(100), index=True)
    stage: Mapped[str] = mapped_column(String(32))
    recording_id: Mapped[str | None] = mapped_column(String(512), index=True)
    reason: Mapped[str] = mapped_column(Text)
    error_type: Mapped[str] = mapped_column(String(100))
    attempt: Mapped[int] = mapped_column(Integer)
    payload: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    replayed: Mapped[bool] = mapped_column(Boolean, default=False)
    replayed_at: Mapped[datetime | None]


class DeliveryRow(Base):
    """How often a Kafka record was started without finishing (its worker crashed, was killed or timed out).

    Kafka keeps no delivery count, so a record that kills its worker (out of memory on a huge file) would
    otherwise come back forever; past ``max_attempts`` it goes to the dead-letter topic instead.
    """

    __tablename__ = "kafka_deliveries"

    topic: Mapped[str] = mapped_column(String(200), primary_key=True)
    partition: Mapped[int] = mapped_column(Integer, primary_key=True)
    offset: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    recording_id: Mapped[str] = mapped_column(String(512))
    stage: Mapped[str] = mapped_column(String(32))
    started: Mapped[int] = mapped_column(Integer)
    last_started_at: Mapped[datetime] = mapped_column(default=utcnow)


class ErasureRow(Base):
    """The erasure ledger: one row per erased person, by hashes only (never the address or the name).

    Stages consult it whenever results are derived again (a new discovery, reprocessing), so an erased
    person never comes back.
    """

    __tablename__ = "gdpr_erasures"

    subject_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_hashes: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # running | done | incomplete
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]


class ErasureTaskRow(Base):
    """One recording of an erasure, with the step it reached, so that a rerun resumes where one stopped.

    ``state``: "stored" once the database and blobs are rewritten (one transaction), "done" once the CRM
    activity was updated or deleted too.
    """

    __tablename__ = "gdpr_erasure_tasks"

    subject_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    recording_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    remote_attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Blobs (sha256) the rewrite replaced, still to delete; deleted after the transaction commits.
    pending_blobs: Mapped[list[str]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# The API's tables and indexes join this metadata (imported last: they subclass ``Base``).
from dealtalk.pipeline.store import access as _access  # noqa: E402, F401

# The reprocessing tables share this metadata (migrations and the migrations-vs-models check see them).
from dealtalk.pipeline.store import reprocess_schema as _reprocess_schema  # noqa: E402, F401
