"""Learned exchanges: the programme's completed and abandoned synergies per park and type pair.

Part B's table (:class:`flowmatch.registry.models_programme.LearnedExchange`),
written by ``flowmatch registry learn``, and the index ``search --near`` reads.

Revision ID: 0101
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0101"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "learned_exchanges",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("park_id", sa.Integer, sa.ForeignKey("parks.id"), nullable=False),
        sa.Column("have_type", sa.String(200), nullable=False),
        sa.Column("want_type", sa.String(200), nullable=False),
        sa.Column("completed", sa.Integer, nullable=False),
        sa.Column("abandoned", sa.Integer, nullable=False),
        sa.Column("abandon_reasons", sa.Text, nullable=False),
        sa.Column("learned_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("park_id", "have_type", "want_type", name="uq_learned_park_pair"),
    )
    op.create_index("ix_resources_lat_lon", "resources", ["lat", "lon"])


def downgrade() -> None:
    op.drop_index("ix_resources_lat_lon", "resources")
    op.drop_table("learned_exchanges")
