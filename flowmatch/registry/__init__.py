"""The registry: a park programme's database of inventory snapshots, synergies and their outcomes.

``flowmatch.registry`` is import-light: SQLAlchemy and Alembic load when a
function is first called (PEP 562), so ``import flowmatch`` never imports them.
See ``docs/registry.md`` for the schema, the lifecycle and the errors.

Modules: ``db`` (URL, engine, transactions, schema revision), ``models``
(the tables), ``migrations/`` (Alembic), ``errors``, ``snapshots`` (import,
export), ``proposals`` (a plan's synergies), ``states`` and ``lifecycle`` (the
state machine), ``outcomes``, ``listing``, ``notes``, ``cli`` (``flowmatch registry ...``).

>>> from flowmatch import registry
>>> reg = registry.open_registry("sqlite:///programme.db", create=True)  # doctest: +SKIP
>>> reg.upgrade()                                                          # doctest: +SKIP
>>> registry.import_inventory(reg, "datasets/mini", park="Demo", year=2024)  # doctest: +SKIP
"""

from __future__ import annotations

from importlib import import_module

from flowmatch.registry.errors import (
    DuplicateImportError,
    RegistryError,
    RegistryLockedError,
    RegistryNotInitialisedError,
    RegistryUnreachableError,
    SchemaNewerError,
    SchemaOutdatedError,
    UnknownIdError,
    WrongStateError,
)

_LAZY = {
    "open_registry": "db",
    "Registry": "db",
    "resolve_url": "db",
    "head_revision": "db",
    "import_inventory": "snapshots",
    "export_snapshot": "snapshots",
    "ImportResult": "snapshots",
    "propose_plan": "proposals",
    "advance": "lifecycle",
    "STATES": "states",
    "next_states": "states",
    "record_outcome": "outcomes",
    "list_synergies": "listing",
    "format_synergies": "listing",
    "add_note": "notes",
    "list_notes": "notes",
    "format_notes": "notes",
}

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
    *_LAZY,
]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'flowmatch.registry' has no attribute {name!r}")
    value = getattr(import_module(f"flowmatch.registry.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
