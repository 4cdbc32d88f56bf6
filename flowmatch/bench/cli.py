"""The ``flowmatch bench`` subcommand: its arguments (:func:`add_parser`) and its run (:func:`run`).

CLI glue only: the timing is :func:`flowmatch.bench.phases.run_bench`, the check
:func:`flowmatch.bench.compare.compare`. Exit codes: 0 as fast as the baseline
(or no baseline), 1 slower than the baseline by more than ``--max-slowdown``
(each slower phase named on stderr), 2 a user's mistake (a missing or damaged
baseline, another inventory).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_parser", "run"]


def add_parser(sub) -> argparse.ArgumentParser:
    """Add ``bench`` to the CLI's subparsers."""
    from flowmatch.bench.compare import NOISE_FLOOR_S

    p = sub.add_parser("bench", help="time each phase on an inventory; compare with a baseline (CI)",
                       description="Time read, freeze, search, candidates, model and solve on INVENTORY "
                                   "(median of --repeat runs, after an uncounted warm-up), report pairs "
                                   "scored and candidates per second, and optionally fail (exit 1) when "
                                   "slower than a baseline record.")
    p.add_argument("inventory", type=Path)
    p.add_argument("--json", type=Path, default=None, metavar="FILE", help="write the record as JSON")
    p.add_argument("--compare", type=Path, default=None, metavar="BASELINE.json",
                   help="a record from an earlier `flowmatch bench --json`; exit 1 when slower")
    p.add_argument("--max-slowdown", type=float, default=0.2, metavar="F",
                   help="fraction slower allowed against the baseline (default: 0.2)")
    p.add_argument("--noise-floor", type=float, default=NOISE_FLOOR_S, metavar="S",
                   help=f"a phase fails only when also this many seconds slower (default: {NOISE_FLOOR_S})")
    p.add_argument("--allow-different-inventory", action="store_true",
                   help="compare with a baseline of another inventory (refused without it)")
    p.add_argument("--repeat", type=int, default=3, metavar="N", help="runs; each phase's median (default: 3)")
    p.add_argument("--time-limit", type=float, default=60.0, metavar="S",
                   help="seconds of each optimisation after matching (default: 60)")
    p.add_argument("--threads", type=int, default=None, help="Numba threads of the matching")
    p.add_argument("--matching-only", action="store_true",
                   help="time read and matching only, no model or solve (for inventories whose "
                        "optimisation takes too long to repeat)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Bench, print the table, write the record, compare; the exit code."""
    from flowmatch.bench.compare import check_limits, check_same_inventory, compare, read_record
    from flowmatch.bench.phases import run_bench
    from flowmatch.bench.table import comparison_table, record_table
    from flowmatch.files import write_json

    baseline, check = None, None
    if args.compare is not None:  # a bad baseline or option fails before any timing
        check_limits(args.max_slowdown, args.noise_floor)
        baseline = read_record(args.compare)
        if not args.allow_different_inventory:
            def check(inventory: dict) -> None:
                check_same_inventory(inventory, baseline, str(args.compare))
    rec = run_bench(args.inventory, repeat=args.repeat, time_limit=args.time_limit, threads=args.threads,
                    say=None if args.quiet else (lambda line: print(line, file=sys.stderr)), check=check,
                    matching_only=args.matching_only)
    print(record_table(rec))
    if args.json is not None:
        print(f"wrote {write_json(rec, args.json)}")
    if baseline is None:
        return 0
    verdicts = compare(rec, baseline, max_slowdown=args.max_slowdown, noise_floor=args.noise_floor,
                       allow_different_inventory=args.allow_different_inventory, where=str(args.compare))
    print(comparison_table(verdicts, args.max_slowdown))
    slower = [v for v in verdicts if v.failed]
    for v in slower:
        print(f"flowmatch bench: slower than {args.compare}: {v.text(args.max_slowdown)}", file=sys.stderr)
    if not slower:
        print(f"as fast as {args.compare} (within {args.max_slowdown:.0%})")
    return 1 if slower else 0
