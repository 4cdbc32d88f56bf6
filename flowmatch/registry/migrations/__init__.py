"""The registry's Alembic migrations, run by :mod:`flowmatch.registry.db` (no alembic.ini)."""
