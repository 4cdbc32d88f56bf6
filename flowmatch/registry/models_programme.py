"""Part B's additions to the registry's schema: the learned exchanges, and the index search reads.

* ``learned_exchanges`` (:class:`LearnedExchange`): what ``flowmatch registry
  learn`` counted (:mod:`flowmatch.registry.learn`);
* ``ix_resources_lat_lon`` on ``resources(lat, lon)``: the latitude range of
  ``search --near --within`` (:mod:`flowmatch.registry.search`) reads it
  instead of every row.

Both are built by Alembic revision ``0101``; :mod:`flowmatch.registry.models`
imports this module, so ``Base.metadata`` always holds them.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from flowmatch.registry.models import Base, Resource

__all__ = ["LearnedExchange", "RESOURCES_LAT_LON"]


class LearnedExchange(Base):
    """Completed and abandoned synergies of one park for one type pair (what ``learn`` counted)."""

    __tablename__ = "learned_exchanges"
    __table_args__ = (UniqueConstraint("park_id", "have_type", "want_type", name="uq_learned_park_pair"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    park_id: Mapped[int] = mapped_column(ForeignKey("parks.id"), nullable=False)
    have_type: Mapped[str] = mapped_column(String(200), nullable=False)
    want_type: Mapped[str] = mapped_column(String(200), nullable=False)
    completed: Mapped[int] = mapped_column(Integer, nullable=False)
    abandoned: Mapped[int] = mapped_column(Integer, nullable=False)
    abandon_reasons: Mapped[str] = mapped_column(Text, nullable=False)
    learned_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                    nullable=False)


#: The index ``search --near`` prefilters through (latitude range, then longitude).
RESOURCES_LAT_LON = Index("ix_resources_lat_lon", Resource.lat, Resource.lon)
