"""Synergies and their lifecycle: events, yearly outcomes and notes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _now(name: str = "created_at") -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "synergies",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("park_id", sa.Integer, sa.ForeignKey("parks.id"), nullable=False),
        sa.Column("plan_source", sa.Text, nullable=False),
        sa.Column("plan_synergy_id", sa.String(200), nullable=False),
        sa.Column("have_ref", sa.String(200), nullable=False),
        sa.Column("want_ref", sa.String(200), nullable=False),
        sa.Column("have_type", sa.String(200)),
        sa.Column("want_type", sa.String(200)),
        sa.Column("mode", sa.String(50)),
        sa.Column("quantity", sa.Float),
        sa.Column("unit", sa.String(20)),
        sa.Column("net_cash", sa.Float),
        sa.Column("net_total", sa.Float),
        sa.Column("co2_saved", sa.Float),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("status_date", sa.Date, nullable=False),
        sa.Column("reason", sa.Text),
        _now(),
        _now("updated_at"),
        sa.UniqueConstraint("park_id", "plan_source", "plan_synergy_id", name="uq_synergies_plan"),
    )
    op.create_index("ix_synergies_status", "synergies", ["status"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("synergy_id", sa.Integer, sa.ForeignKey("synergies.id"), nullable=False),
        sa.Column("from_status", sa.String(20)),
        sa.Column("to_status", sa.String(20), nullable=False),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("note", sa.Text),
        _now(),
    )
    op.create_index("ix_events_synergy_id", "events", ["synergy_id"])
    op.create_table(
        "outcomes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("synergy_id", sa.Integer, sa.ForeignKey("synergies.id"), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("landfill_diverted_t", sa.Float),
        sa.Column("co2_saved_t", sa.Float),
        sa.Column("cost_saved", sa.Float),
        sa.Column("virgin_saved_t", sa.Float),
        sa.Column("water_saved_m3", sa.Float),
        sa.Column("jobs_created", sa.Float),
        sa.Column("investment", sa.Float),
        sa.Column("currency", sa.String(10)),
        sa.UniqueConstraint("synergy_id", "year", name="uq_outcomes_synergy_year"),
    )
    op.create_table(
        "notes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("park_id", sa.Integer, sa.ForeignKey("parks.id")),
        sa.Column("synergy_id", sa.Integer, sa.ForeignKey("synergies.id")),
        sa.Column("text", sa.Text, nullable=False),
        _now(),
    )


def downgrade() -> None:
    op.drop_table("notes")
    op.drop_table("outcomes")
    op.drop_index("ix_events_synergy_id", "events")
    op.drop_table("events")
    op.drop_index("ix_synergies_status", "synergies")
    op.drop_table("synergies")
