"""Errors of the registry: each a user's mistake or a fault they can fix, with the fix in the message.

Kept apart from :mod:`flowmatch.registry.db` so that catching them never
imports SQLAlchemy. The CLI prints any of them and exits 2.
"""

from __future__ import annotations

from flowmatch.errors import FlowmatchError

__all__ = [
    "RegistryError",
    "RegistryUnreachableError",
    "RegistryLockedError",
    "RegistryNotInitialisedError",
    "SchemaOutdatedError",
    "SchemaNewerError",
    "UnknownIdError",
    "WrongStateError",
    "DuplicateImportError",
]


class RegistryError(FlowmatchError):
    """Base of every registry error."""


class RegistryUnreachableError(RegistryError):
    """The database cannot be opened: a bad URL, a server down, a folder that does not exist."""


class RegistryLockedError(RegistryError):
    """Another process held the database longer than the busy timeout."""


class RegistryNotInitialisedError(RegistryError):
    """The database has no registry yet (``flowmatch registry init`` makes one)."""


class SchemaOutdatedError(RegistryError):
    """The database's schema is older than this flowmatch's (``flowmatch registry upgrade`` migrates it)."""


class SchemaNewerError(RegistryError):
    """The database's schema is newer than this flowmatch knows: refused, never read wrong."""


class UnknownIdError(RegistryError):
    """No park, snapshot or synergy has the id or name given."""


class WrongStateError(RegistryError):
    """A lifecycle step, or an outcome, that the synergy's current state does not allow."""


class DuplicateImportError(RegistryError):
    """The inventory imported is the same as the latest snapshot of that park and year."""
