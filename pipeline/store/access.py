"""Tables of the API's access control and analyst feedback, and the indexes of the API's query paths.

API keys are stored as an HMAC of their secret (never the key); sessions and sign-in flows by the SHA-256 of
their opaque id, so a copy of the database holds nothing a browser or a program could present. Feedback on a
risk signal is keyed by what identifies the signal across reprocessing (recording, type, segment), not by the
risk row's id, which changes whenever the insight stage runs again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dealtalk.pipeline.store.schema import (
    AuditRow,
    Base,
    CallRow,
    LinkRow,
    RecordingRow,
    RiskRow,
    utcnow,
)

__all__ = ["ApiKeyRow", "ApiSessionRow", "RiskFeedbackRow"]


class ApiKeyRow(Base):
    """A service account's API key: ``dtk_<key_id>_<secret>``; only HMAC-SHA256(pepper, secret) is kept."""

    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    # The CRM user (systemuserid) a manager key speaks for: its team is that user's reports.
    systemuser_id: Mapped[str | None] = mapped_column(String(64))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class ApiSessionRow(Base):
    """A browser session or a pending sign-in flow, by the SHA-256 of its opaque id (cookie value / state)."""

    __tablename__ = "api_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # session | flow
    data: Mapped[dict[str, Any]]
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class RiskFeedbackRow(Base):
    """An analyst's or manager's verdict on a risk signal: confirmed or rejected, by whom, when."""

    __tablename__ = "risk_feedback"
    __table_args__ = (Index("ix_risk_feedback_signal", "recording_id", "type", "segment_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recording_id: Mapped[str] = mapped_column(String(512))
    type: Mapped[str] = mapped_column(String(40))
    segment_index: Mapped[int] = mapped_column(Integer)
    start_s: Mapped[float] = mapped_column(Float)
    verdict: Mapped[str] = mapped_column(String(16))  # confirmed | rejected
    comment: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


# The API's query paths over the pipeline's tables (declared here so that the pipeline's schema module stays
# about the pipeline; they join the same metadata, so migrations and the models still match).
Index("ix_recordings_discovered_at", RecordingRow.discovered_at, RecordingRow.recording_id)
Index("ix_calls_language", CallRow.language)
# Covers what the aggregates read per call, so PostgreSQL answers them from the index alone.
Index("ix_risks_recording_type", RiskRow.recording_id, RiskRow.type, RiskRow.severity, RiskRow.confidence)
Index("ix_risks_type_confidence", RiskRow.type, RiskRow.confidence)
Index("ix_links_account_name", LinkRow.account_name)
Index("ix_audit_log_actor_at", AuditRow.actor, AuditRow.at)

# The aggregate routes' pre-aggregated counts join the same metadata.
from dealtalk.pipeline.store import rollups as _rollups  # noqa: E402, F401
