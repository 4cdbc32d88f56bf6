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
from pathlib import Path

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


def run_import(args: argparse.Namespace) -> int:
    from flowmatch.registry.db import open_registry
    from flowmatch.registry.snapshots import import_inventory

    result = import_inventory(open_registry(args.db), args.inventory, args.park, args.year,
                              country=args.country, region=args.region)
    print(result.text())
    return 0


def _add_import(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("import", parents=[parent], help="store an inventory as a park's snapshot for a year")
    p.add_argument("inventory", type=Path, help="an inventory folder or .xlsx workbook")
    p.add_argument("--park", required=True, metavar="NAME", help="the park's name (created on first import)")
    p.add_argument("--year", required=True, type=_year, metavar="YYYY", help="the year the inventory describes")
    p.add_argument("--country", default=None, help="the park's country (stored on the park)")
    p.add_argument("--region", default=None, help="the park's region (stored on the park)")
    p.set_defaults(func=run_import)


def run_export(args: argparse.Namespace) -> int:
    from flowmatch.registry.db import open_registry
    from flowmatch.registry.snapshots import export_snapshot

    snap, out = export_snapshot(open_registry(args.db), args.park, args.output, year=args.year,
                                version=args.version)
    print(f"park {args.park!r} {snap.year} version {snap.version}: wrote {snap.n_sites} sites, "
          f"{snap.n_resources} resources to {out}")
    return 0


def _add_export(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    from flowmatch.cli import _output

    p = sub.add_parser("export", parents=[parent], help="write a snapshot as an inventory folder")
    p.add_argument("park", metavar="PARK", help="the park's name")
    p.add_argument("--year", type=_year, default=None, help="the snapshot's year (default: the latest)")
    p.add_argument("--version", type=int, default=None, help="the version (default: the latest of that year)")
    p.add_argument("-o", "--output", type=_output, required=True, help="the inventory folder to write")
    p.set_defaults(func=run_export)


def run_propose(args: argparse.Namespace) -> int:
    from flowmatch.registry.db import open_registry
    from flowmatch.registry.proposals import propose_plan

    print(propose_plan(open_registry(args.db), args.plan, park=args.park, date=args.date).text())
    return 0


def _add_propose(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("propose", parents=[parent], help="register a plan's synergies as identified")
    p.add_argument("plan", type=Path, metavar="PLAN_DIR", help="a plan folder (flowmatch optimise -o PLAN_DIR)")
    p.add_argument("--park", default=None, metavar="NAME",
                   help="the park (default: the one the plan's sites name, or the registry's only park)")
    p.add_argument("--date", type=_date, default=None, help="date identified, YYYY-MM-DD (default: today)")
    p.set_defaults(func=run_propose)


def run_synergies(args: argparse.Namespace) -> int:
    from flowmatch.registry.db import open_registry
    from flowmatch.registry.listing import format_synergies, list_synergies

    rows = list_synergies(open_registry(args.db), park=args.park, status=args.status)
    print(format_synergies(rows, args.format))
    return 0


def _add_synergies(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    from flowmatch.registry.states import STATES

    p = sub.add_parser("synergies", parents=[parent], help="list the registry's synergies")
    p.add_argument("--park", default=None, metavar="NAME", help="only this park's")
    p.add_argument("--status", default=None, choices=list(STATES), help="only those in this state")
    p.add_argument("--format", default="table", choices=["table", "csv", "json"])
    p.set_defaults(func=run_synergies)


def run_advance(args: argparse.Namespace) -> int:
    from flowmatch.registry.db import open_registry
    from flowmatch.registry.lifecycle import advance

    before, after = advance(open_registry(args.db), args.id, args.status, date=args.date, note=args.note,
                            reason=args.reason)
    print(f"synergy {args.id}: {before} -> {after}")
    return 0


def _add_advance(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("advance", parents=[parent], help="move a synergy to its next lifecycle state")
    p.add_argument("id", type=int, metavar="ID", help="the synergy's id (flowmatch registry synergies)")
    p.add_argument("status", metavar="STATUS", help="contacted, in_discussion, agreed, implemented, "
                   "completed, or abandoned (with --reason)")
    p.add_argument("--date", type=_date, default=None, help="date of the step, YYYY-MM-DD (default: today)")
    p.add_argument("--note", default=None, help="a note kept with the step")
    p.add_argument("--reason", default=None, help="why it was abandoned (required for abandoned)")
    p.set_defaults(func=run_advance)


def run_outcome(args: argparse.Namespace) -> int:
    from flowmatch.registry.db import open_registry
    from flowmatch.registry.outcomes import MEASURES, record_outcome

    measures = {m: getattr(args, m) for m in MEASURES}
    print(record_outcome(open_registry(args.db), args.id, args.year, currency=args.currency, **measures).text())
    return 0


def _add_outcome(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("outcome", parents=[parent], help="record what an implemented synergy achieved in a year")
    p.add_argument("id", type=int, metavar="ID", help="the synergy's id")
    p.add_argument("--year", required=True, type=_year, metavar="YYYY")
    for flag, dest, what in [
        ("--landfill-diverted", "landfill_diverted_t", "t kept out of landfill"),
        ("--co2-saved", "co2_saved_t", "t CO2e saved"),
        ("--cost-saved", "cost_saved", "money saved (in --currency)"),
        ("--virgin-saved", "virgin_saved_t", "t of virgin material saved"),
        ("--water-saved", "water_saved_m3", "m3 of fresh water saved"),
        ("--jobs", "jobs_created", "jobs created"),
        ("--investment", "investment", "capital invested (in --currency)"),
    ]:
        p.add_argument(flag, dest=dest, type=float, default=None, metavar="X", help=what)
    p.add_argument("--currency", default=None, help="currency of --cost-saved and --investment, e.g. CNY")
    p.set_defaults(func=run_outcome)


def run_note(args: argparse.Namespace) -> int:
    from flowmatch.registry.db import open_registry
    from flowmatch.registry.notes import add_note

    print(add_note(open_registry(args.db), args.text, park=args.park, synergy=args.synergy).text())
    return 0


def _add_note(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("note", parents=[parent], help="keep a free-text note on a park or a synergy")
    on = p.add_mutually_exclusive_group(required=True)
    on.add_argument("--park", default=None, metavar="NAME", help="the park the note is on")
    on.add_argument("--synergy", type=int, default=None, metavar="ID", help="the synergy the note is on")
    p.add_argument("text", metavar="TEXT", help="the note (quote it)")
    p.set_defaults(func=run_note)


def run_notes(args: argparse.Namespace) -> int:
    from flowmatch.registry.db import open_registry
    from flowmatch.registry.notes import format_notes, list_notes

    print(format_notes(list_notes(open_registry(args.db), park=args.park, synergy=args.synergy), args.format))
    return 0


def _add_notes(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("notes", parents=[parent], help="list the notes on parks and synergies, and the notes "
                       "of lifecycle steps")
    p.add_argument("--park", default=None, metavar="NAME", help="only this park's, and its synergies'")
    p.add_argument("--synergy", type=int, default=None, metavar="ID", help="only this synergy's")
    p.add_argument("--format", default="table", choices=["table", "csv", "json"])
    p.set_defaults(func=run_notes)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``flowmatch registry`` and its actions to the top-level subparsers ``sub``."""
    p = sub.add_parser("registry", help="the programme's database: snapshots, synergies, outcomes")
    p.add_argument("--db", metavar="URL", default=None,
                   help="the registry database (default: $FLOWMATCH_DB, else sqlite:///flowmatch-registry.db)")
    rsub = p.add_subparsers(dest="registry_command", required=True, metavar="ACTION")
    parent = db_parent()
    _add_init(rsub, parent)
    _add_import(rsub, parent)
    _add_export(rsub, parent)
    _add_propose(rsub, parent)
    _add_synergies(rsub, parent)
    _add_advance(rsub, parent)
    _add_outcome(rsub, parent)
    _add_note(rsub, parent)
    _add_notes(rsub, parent)
    programme_cli.add_learn(rsub, parent)
    programme_cli.add_search(rsub, parent)
    programme_cli.add_report(rsub, parent)
