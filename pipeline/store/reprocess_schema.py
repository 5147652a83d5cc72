"""Reprocessing runs and their versioned results, kept beside the current results of each recording.

A run fixes its selection (the recording ids) and its model set when it starts; each finished call adds one
``reprocess_results`` row, committed on its own. That row is the run's checkpoint: a resumed run skips the
recordings that already have a ``done`` row. The new transcript and insights live in the blob store (content
addressed), next to the blobs of the version they are compared with (``baseline_*``), with model provenance.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dealtalk.pipeline.store.schema import Base, utcnow

__all__ = ["ReprocessResultRow", "ReprocessRunRow"]


class ReprocessRunRow(Base):
    """One ``dealtalk reprocess`` run: what it selected, with which models, where it stands."""

    __tablename__ = "reprocess_runs"

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    # "running" (also after a crash or Ctrl-C: resumable), "finished", "queued" (handed to the workers).
    status: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16))
    selection: Mapped[dict[str, Any]]
    model_set: Mapped[dict[str, Any]]
    recording_ids: Mapped[list[str]] = mapped_column(JSON)


class ReprocessResultRow(Base):
    """The result of one recording in one run, with the version it replaced (for ``reprocess diff``)."""

    __tablename__ = "reprocess_results"

    run_id: Mapped[str] = mapped_column(
        ForeignKey("reprocess_runs.run_id", ondelete="CASCADE"), primary_key=True
    )
    recording_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # done | failed | queued
    # Claim checks of the new and the baseline transcript/insights: {"transcript": BlobRef JSON, ...}.
    blobs: Mapped[dict[str, Any]]
    models: Mapped[dict[str, Any]]
    version: Mapped[str] = mapped_column(String(400))
    audio_s: Mapped[float] = mapped_column(Float, default=0.0)
    elapsed_s: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
    published_activity_id: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
