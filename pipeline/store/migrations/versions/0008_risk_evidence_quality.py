"""risks: how well the quoted segment was heard

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 19:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Signals stored before this column were not judged for audio quality: they count as clearly heard.
    with op.batch_alter_table("risks") as batch:
        batch.add_column(sa.Column("evidence_quality", sa.Float(), nullable=False, server_default="1.0"))


def downgrade() -> None:
    with op.batch_alter_table("risks") as batch:
        batch.drop_column("evidence_quality")
