"""api access: API keys, sessions, risk feedback, indexes of the API query paths

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 05:17:30.656966
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("systemuser_id", sa.String(length=64), nullable=True),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_api_keys")),
    )
    op.create_table(
        "api_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_api_sessions")),
    )
    with op.batch_alter_table("api_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_sessions_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "risk_feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("recording_id", sa.String(length=512), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("segment_index", sa.Integer(), nullable=False),
        sa.Column("start_s", sa.Float(), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_feedback")),
    )
    with op.batch_alter_table("risk_feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_feedback_at"), ["at"], unique=False)
        batch_op.create_index(
            "ix_risk_feedback_signal", ["recording_id", "type", "segment_index"], unique=False
        )

    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_actor_at", ["actor", "at"], unique=False)

    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index("ix_calls_language", ["language"], unique=False)

    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.create_index("ix_links_account_name", ["account_name"], unique=False)

    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.create_index("ix_recordings_discovered_at", ["discovered_at", "recording_id"], unique=False)

    with op.batch_alter_table("risks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_risks_recording_type", ["recording_id", "type", "severity", "confidence"], unique=False
        )
        batch_op.create_index("ix_risks_type_confidence", ["type", "confidence"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("risks", schema=None) as batch_op:
        batch_op.drop_index("ix_risks_type_confidence")
        batch_op.drop_index("ix_risks_recording_type")

    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_index("ix_recordings_discovered_at")

    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.drop_index("ix_links_account_name")

    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_language")

    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_actor_at")

    with op.batch_alter_table("risk_feedback", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_feedback_signal")
        batch_op.drop_index(batch_op.f("ix_risk_feedback_at"))

    op.drop_table("risk_feedback")
    with op.batch_alter_table("api_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_sessions_expires_at"))

    op.drop_table("api_sessions")
    op.drop_table("api_keys")
