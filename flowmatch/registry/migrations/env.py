"""Alembic's environment for the registry: migrate the connection :mod:`flowmatch.registry.db` gives.

Run only through :func:`flowmatch.registry.db.upgrade` (``flowmatch registry
init`` / ``upgrade``), which puts an open connection in
``config.attributes["connection"]``; there is no ``alembic.ini``.
"""

from __future__ import annotations

from alembic import context

from flowmatch.registry.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
