"""gdpr: erasure ledger and tasks, retention markers on recordings

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 05:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gdpr_erasures",
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column("name_hashes", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("subject_hash", name=op.f("pk_gdpr_erasures")),
    )
    op.create_table(
        "gdpr_erasure_tasks",
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column("recording_id", sa.String(length=512), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("remote_attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("pending_blobs", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subject_hash", "recording_id", name=op.f("pk_gdpr_erasure_tasks")),
    )
    with op.batch_alter_table("recordings") as batch:
        batch.add_column(sa.Column("audio_expired_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("transcript_expired_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("recordings") as batch:
        batch.drop_column("transcript_expired_at")
        batch.drop_column("audio_expired_at")
    op.drop_table("gdpr_erasure_tasks")
    op.drop_table("gdpr_erasures")
