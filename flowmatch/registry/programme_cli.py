"""``flowmatch registry learn | search | report``: parse, call the library, print.

Part B's actions of the ``flowmatch registry`` group
(:mod:`flowmatch.registry.cli` adds each with one line): :func:`add_learn`,
:func:`add_search`, :func:`add_report`, each making its subparser with its
``run_*`` function.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_learn", "add_search", "add_report"]


def _nonneg(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = -1.0
    if not v >= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number 0 or more")
    return v


def run_learn(args: argparse.Namespace) -> int:
    from flowmatch.registry.db import open_registry
    from flowmatch.registry.learn import learn

    reg = open_registry(args.db)
    print(f"{reg.shown}: {reg.write(learn)}")
    print("flowmatch registry export writes them as evidence.csv; matching of the export uses them")
    return 0


def add_learn(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("learn", parents=[parent], help="count completed and abandoned synergies per type pair "
                       "into the knowledge that matching uses")
    p.set_defaults(func=run_learn)


def run_search(args: argparse.Namespace) -> int:
    from flowmatch.registry.db import open_registry
    from flowmatch.registry.search import SearchQuery, format_results, search

    q = SearchQuery(type=args.type, role=args.role, min_qty=args.min_qty, max_qty=args.max_qty, park=args.park,
                    near=args.near, within_km=args.within, all_snapshots=args.all_snapshots, limit=args.limit)
    df = open_registry(args.db).read(lambda s: search(s, q))
    sys.stdout.write(format_results(df, args.format).rstrip("\n") + "\n")
    return 0


def add_search(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("search", parents=[parent], help="find registered resources by type, role, quantity, "
                       "distance and park")
    p.add_argument("--type", metavar="TYPE", help="a type code (with the types below it: ewc:1001) or a pattern "
                   "(ewc:10*); several separated by commas")
    p.add_argument("--role", choices=["have", "want"])
    p.add_argument("--min-qty", type=_nonneg, metavar="Q", help="least quantity (the resource's own unit)")
    p.add_argument("--max-qty", type=_nonneg, metavar="Q", help="largest quantity")
    p.add_argument("--near", metavar="SITE", help="a site id of the registry (with --within)")
    p.add_argument("--within", type=_nonneg, metavar="KM", help="great-circle km from --near")
    p.add_argument("--park", metavar="NAME")
    p.add_argument("--all-snapshots", action="store_true", help="every snapshot, not only each park's latest")
    p.add_argument("--limit", type=int, metavar="N", help="show the first N")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.set_defaults(func=run_search)


def run_report(args: argparse.Namespace) -> int:
    from flowmatch.registry.db import open_registry
    from flowmatch.registry.report import programme_tables
    from flowmatch.report.programme import write_programme

    t = open_registry(args.db).read(lambda s: programme_tables(s, park=args.park))
    path = write_programme(t, args.output)
    total = t.by_state.iloc[-1]
    print(f"{int(total['synergies'])} synergies, {total['landfill_diverted_t']:,.0f} t diverted from landfill, "
          f"{total['co2_saved_t']:,.0f} t CO2 saved -> {path}")
    for n in t.notes:
        print(f"note: {n}")
    return 0


def add_report(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("report", parents=[parent], help="the programme's outcomes by year, park, sector and "
                       "state, with charts (.xlsx or .html)")
    p.add_argument("--park", metavar="NAME", help="one park (default: all)")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="FILE",
                   help="programme.xlsx or programme.html")
    p.set_defaults(func=run_report)
