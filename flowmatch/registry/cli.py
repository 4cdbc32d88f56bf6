"""The ``flowmatch registry ...`` command group: parse, call :mod:`flowmatch.registry`, print.

:func:`add_parser` adds the group to the top-level parser (one line in
:mod:`flowmatch.cli`). Each action is an ``_add_*`` function making its
subparser and a ``run_*`` function running it; a new action (part B's
``search``, ``report``, ``learn``) is one more ``add(sub)`` line in
:func:`add_parser`. ``--db URL`` is accepted on the group and on every action.
"""

from __future__ import annotations

import argparse
import datetime as dt

from flowmatch.registry import programme_cli

__all__ = ["add_parser", "db_parent"]


def db_parent() -> argparse.ArgumentParser:
    """A parent parser giving an action ``--db URL`` (after the action's name too)."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--db", metavar="URL", default=argparse.SUPPRESS,
                   help="the registry database (default: $FLOWMATCH_DB, else "
                        "sqlite:///flowmatch-registry.db)")
    return p


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; give YYYY-MM-DD, e.g. 2026-03-31") from None


def _year(text: str) -> int:
    try:
        year = int(text)
    except ValueError:
        year = 0
    if not 1900 <= year <= 2200:
        raise argparse.ArgumentTypeError(f"{text!r} is not a year; give four digits, e.g. 2025")
    return year


# --------------------------------------------------------------------------- actions


def run_init(args: argparse.Namespace) -> int:
    from flowmatch.registry.db import open_registry

    reg = open_registry(args.db, create=True)
    before, after = reg.upgrade()
    if before == after:
        print(f"{reg.shown}: the registry is up to date (schema {after})")
    elif before is None:
        print(f"{reg.shown}: created the registry (schema {after})")
    else:
        print(f"{reg.shown}: migrated the registry's schema from {before} to {after}")
    return 0


def _add_init(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("init", parents=[parent], help="create the registry, or migrate it to this "
                       "flowmatch's schema", aliases=["upgrade"])
    p.set_defaults(func=run_init)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``flowmatch registry`` and its actions to the top-level subparsers ``sub``."""
    p = sub.add_parser("registry", help="the programme's database: snapshots, synergies, outcomes")
    p.add_argument("--db", metavar="URL", default=None,
                   help="the registry database (default: $FLOWMATCH_DB, else sqlite:///flowmatch-registry.db)")
    rsub = p.add_subparsers(dest="registry_command", required=True, metavar="ACTION")
    parent = db_parent()
    _add_init(rsub, parent)
    programme_cli.add_learn(rsub, parent)
    programme_cli.add_search(rsub, parent)
    programme_cli.add_report(rsub, parent)
