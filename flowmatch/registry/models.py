"""The registry's schema: SQLAlchemy 2 typed ORM classes, one per table.

A park has companies (its inventory's sites) and yearly inventory snapshots;
a snapshot holds its resources and is never overwritten (a re-import is a new
version). Synergies come from plans (``propose``) and move through the
lifecycle (:mod:`flowmatch.registry.lifecycle`), each move an event; outcomes
are what an implemented synergy achieved, one row a year. The Alembic
migrations in ``flowmatch/registry/migrations/versions/`` build exactly this
schema; ``tests/test_registry_schema.py`` checks that they agree.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = ["Base", "Park", "Company", "Snapshot", "Resource", "Synergy", "Event", "Outcome", "Note"]


class Base(DeclarativeBase):
    """Base of every registry table (part B adds ``learned_exchanges`` on it)."""


def _now() -> Mapped[dt.datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Park(Base):
    """An industrial park (an eco-industrial programme's unit)."""

    __tablename__ = "parks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    country: Mapped[str | None] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _now()


class Company(Base):
    """A company site of a park, keyed by the inventory's ``site_id``."""

    __tablename__ = "companies"
    __table_args__ = (UniqueConstraint("park_id", "site_id", name="uq_companies_park_site"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    park_id: Mapped[int] = mapped_column(ForeignKey("parks.id"), nullable=False)
    site_id: Mapped[str] = mapped_column(String(200), nullable=False)
    name: Mapped[str | None] = mapped_column(String(300))
    sector: Mapped[str | None] = mapped_column(String(100))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)


class Snapshot(Base):
    """A park's inventory for one year, one version of it; never overwritten.

    ``tables_json`` keeps the inventory's other tables (sites, properties,
    distances, types, compatibility, rules) row by row as read, and
    ``params_toml`` its ``params.toml``, so an export is the inventory imported.
    """

    __tablename__ = "snapshots"
    __table_args__ = (UniqueConstraint("park_id", "year", "version", name="uq_snapshots_park_year_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    park_id: Mapped[int] = mapped_column(ForeignKey("parks.id"), nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    imported_at: Mapped[dt.datetime] = _now()
    source: Mapped[str] = mapped_column(Text, nullable=False)
    checksum: Mapped[str] = mapped_column(String(64), nullable=False)
    n_sites: Mapped[int] = mapped_column(Integer, nullable=False)
    n_resources: Mapped[int] = mapped_column(Integer, nullable=False)
    tables_json: Mapped[str] = mapped_column(Text, nullable=False)
    params_toml: Mapped[str | None] = mapped_column(Text)
    park: Mapped[Park] = relationship()


class Resource(Base):
    """One have or want of a snapshot; ``row_json`` is its row as read (every column)."""

    __tablename__ = "resources"
    __table_args__ = (
        Index("ix_resources_type", "type"),
        Index("ix_resources_snapshot_id", "snapshot_id"),
        Index("ix_resources_quantity", "quantity"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id"), nullable=False)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), nullable=False)
    resource_id: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str] = mapped_column(String(8), nullable=False)
    type: Mapped[str] = mapped_column(String(200), nullable=False)
    quantity: Mapped[float] = mapped_column(Float, nullable=False)
    unit: Mapped[str] = mapped_column(String(20), nullable=False)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    row_json: Mapped[str] = mapped_column(Text, nullable=False)


class Synergy(Base):
    """A synergy a plan proposed, and where it stands in the lifecycle."""

    __tablename__ = "synergies"
    __table_args__ = (
        UniqueConstraint("park_id", "plan_source", "plan_synergy_id", name="uq_synergies_plan"),
        Index("ix_synergies_status", "status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    park_id: Mapped[int] = mapped_column(ForeignKey("parks.id"), nullable=False)
    plan_source: Mapped[str] = mapped_column(Text, nullable=False)
    plan_synergy_id: Mapped[str] = mapped_column(String(200), nullable=False)
    have_ref: Mapped[str] = mapped_column(String(200), nullable=False)
    want_ref: Mapped[str] = mapped_column(String(200), nullable=False)
    have_type: Mapped[str | None] = mapped_column(String(200))
    want_type: Mapped[str | None] = mapped_column(String(200))
    mode: Mapped[str | None] = mapped_column(String(50))
    quantity: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(20))
    net_cash: Mapped[float | None] = mapped_column(Float)
    net_total: Mapped[float | None] = mapped_column(Float)
    co2_saved: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    status_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()
    park: Mapped[Park] = relationship()


class Event(Base):
    """One step of a synergy through the lifecycle."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    synergy_id: Mapped[int] = mapped_column(ForeignKey("synergies.id"), nullable=False, index=True)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20), nullable=False)
    date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = _now()


class Outcome(Base):
    """What an implemented synergy achieved in one year."""

    __tablename__ = "outcomes"
    __table_args__ = (UniqueConstraint("synergy_id", "year", name="uq_outcomes_synergy_year"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    synergy_id: Mapped[int] = mapped_column(ForeignKey("synergies.id"), nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    landfill_diverted_t: Mapped[float | None] = mapped_column(Float)
    co2_saved_t: Mapped[float | None] = mapped_column(Float)
    cost_saved: Mapped[float | None] = mapped_column(Float)
    virgin_saved_t: Mapped[float | None] = mapped_column(Float)
    water_saved_m3: Mapped[float | None] = mapped_column(Float)
    jobs_created: Mapped[float | None] = mapped_column(Float)
    investment: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(10))


class Note(Base):
    """A free-text note on a park or a synergy."""

    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    park_id: Mapped[int | None] = mapped_column(ForeignKey("parks.id"))
    synergy_id: Mapped[int | None] = mapped_column(ForeignKey("synergies.id"))
    text: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[dt.datetime] = _now()


from flowmatch.registry import models_programme  # noqa: E402,F401  part B's tables (learned_exchanges), kept apart
