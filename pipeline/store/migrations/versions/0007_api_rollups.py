"""api rollups: pre-aggregated risk-signal counts per day for the aggregate routes, filled from the risks

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 06:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dealtalk.pipeline.store.rollups import rebuild_rollups

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "risk_rollups",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("level", sa.String(length=2), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=True),
        sa.Column("severity", sa.String(length=8), nullable=True),
        sa.Column("opportunity_id", sa.String(length=64), nullable=True),
        sa.Column("account_name", sa.String(length=400), nullable=True),
        sa.Column("signals", sa.Integer(), nullable=False),
        sa.Column("high", sa.Integer(), nullable=False),
        sa.Column("confidence_micros", sa.BigInteger(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_rollups")),
    )
    op.create_index("ix_risk_rollups_level_day", "risk_rollups", ["level", "day"], unique=False)
    # Calls analysed before this migration: their counts from the raw tables.
    rebuild_rollups(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_risk_rollups_level_day", table_name="risk_rollups")
    op.drop_table("risk_rollups")
