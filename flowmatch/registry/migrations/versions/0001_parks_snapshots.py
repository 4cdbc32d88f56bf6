"""Parks, their companies and yearly inventory snapshots with their resources.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _now() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "parks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("country", sa.String(100)),
        sa.Column("region", sa.String(200)),
        _now(),
    )
    op.create_table(
        "companies",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("park_id", sa.Integer, sa.ForeignKey("parks.id"), nullable=False),
        sa.Column("site_id", sa.String(200), nullable=False),
        sa.Column("name", sa.String(300)),
        sa.Column("sector", sa.String(100)),
        sa.Column("lat", sa.Float),
        sa.Column("lon", sa.Float),
        sa.UniqueConstraint("park_id", "site_id", name="uq_companies_park_site"),
    )
    op.create_table(
        "snapshots",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("park_id", sa.Integer, sa.ForeignKey("parks.id"), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("checksum", sa.String(64), nullable=False),
        sa.Column("n_sites", sa.Integer, nullable=False),
        sa.Column("n_resources", sa.Integer, nullable=False),
        sa.Column("tables_json", sa.Text, nullable=False),
        sa.Column("params_toml", sa.Text),
        sa.UniqueConstraint("park_id", "year", "version", name="uq_snapshots_park_year_version"),
    )
    op.create_table(
        "resources",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("snapshot_id", sa.Integer, sa.ForeignKey("snapshots.id"), nullable=False),
        sa.Column("company_id", sa.Integer, sa.ForeignKey("companies.id"), nullable=False),
        sa.Column("resource_id", sa.String(200), nullable=False),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("type", sa.String(200), nullable=False),
        sa.Column("quantity", sa.Float, nullable=False),
        sa.Column("unit", sa.String(20), nullable=False),
        sa.Column("lat", sa.Float),
        sa.Column("lon", sa.Float),
        sa.Column("row_json", sa.Text, nullable=False),
    )
    op.create_index("ix_resources_type", "resources", ["type"])
    op.create_index("ix_resources_snapshot_id", "resources", ["snapshot_id"])
    op.create_index("ix_resources_quantity", "resources", ["quantity"])


def downgrade() -> None:
    op.drop_table("resources")
    op.drop_table("snapshots")
    op.drop_table("companies")
    op.drop_table("parks")
