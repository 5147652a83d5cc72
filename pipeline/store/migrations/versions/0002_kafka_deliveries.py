"""kafka deliveries

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 15:33:22.791688
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "kafka_deliveries",
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("recording_id", sa.String(length=512), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("started", sa.Integer(), nullable=False),
        sa.Column("last_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("topic", "partition", "offset", name=op.f("pk_kafka_deliveries")),
    )


def downgrade() -> None:

    op.drop_table("kafka_deliveries")
