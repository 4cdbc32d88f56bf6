"""The ``flowmatch`` command line: parse, call the library, write, report.

Each subcommand is one ``cmd_*`` function. A user's mistake (any
:class:`~flowmatch.errors.FlowmatchError`) prints a clear message on stderr and
exits with code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from flowmatch.cluster.commands import add_scheduler_args, blocks_on, cluster_client
from flowmatch.errors import FlowmatchError

log = logging.getLogger("flowmatch")


# --------------------------------------------------------------------------- commands


def cmd_validate(args: argparse.Namespace) -> int:
    from flowmatch.inputs.inventory import read_inventory
    from flowmatch.inputs.requirements import check_requirements

    inv = read_inventory(args.inventory)
    check_requirements(inv)  # every input check the optimiser makes
    from flowmatch.milp.water import check_water_network

    check_water_network(inv)  # and the water network's: a sink nothing can meet
    for w in inv.warnings:
        print(f"warning: {w}")
    n = len(inv.rules)
    rules = f", {n} rule{'s' if n != 1 else ''}" if n else ""
    print(f"{inv.source}: valid ({len(inv.sites)} sites, {len(inv.resources)} resources{rules})")
    from flowmatch.inputs.suggest import type_hints

    for line in type_hints(inv.resources, inv.taxonomy, lang=args.lang):
        print(f"suggest: {line}")
    return 0


def cmd_suggest(args: argparse.Namespace) -> int:
    from flowmatch.inputs.suggest import suggest

    text = " ".join(args.text)
    found = suggest(text, limit=args.limit, lang=args.lang)
    if not found:
        print(f"no type is close to \"{text}\"; try other words, or a code (100105, HW08, 900-249-08)")
        return 0
    for s in found:
        print(f"{s.score:5.1f}  {s.type:20s}  {s.label}" + (f"  [{s.matched}]" if s.matched != s.label else ""))
    return 0


def cmd_describe(args: argparse.Namespace) -> int:
    from flowmatch.inputs.describe import describe_text
    from flowmatch.inputs.inventory import read_inventory

    print(describe_text(read_inventory(args.inventory), lang=args.lang))
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    from flowmatch.inputs.synth import synth

    path = synth(args.resources, seed=args.seed, out=args.output, fmt=args.format, partitions=args.partitions)
    print(f"wrote {args.resources} resources to {path}")
    return 0


def cmd_match(args: argparse.Namespace) -> int:
    from flowmatch.inputs.inventory import read_inventory
    from flowmatch.matching.candidates import match, write_candidates
    from flowmatch.plans.staging import stage

    with stage(args.output, "candidates") as st, cluster_client(args) as client:  # locked and checked first
        if client is None:
            inv = read_inventory(args.inventory)
            cands = match(inv, top_k=args.top_k, min_score=args.min_score, per_have=args.per_have,
                          threads=args.threads, progress=not args.quiet)
            paths = [args.output / p.name for p in write_candidates(cands, st.path, csv=args.csv)]
            n, prog, removed = len(cands), cands, cands.attrs.get("rules_removed") or {}
        else:  # tiles as Dask tasks, each writing its part of candidates.parquet/: the same rows
            from flowmatch.cluster.candidate_parts import write_csv_too, write_parts_on_cluster
            from flowmatch.cluster.out_of_core import write_parts_out_of_core

            out, k, low, quiet = st.path / "candidates.parquet", args.top_k, args.min_score, args.quiet
            parts = write_parts_out_of_core(client, args.inventory, out, k, low, args.per_have, not quiet)
            if parts is None:  # not a partitioned inventory (or rules, --per-have): read whole here
                parts = write_parts_on_cluster(client, read_inventory(args.inventory), out, k, low,
                                               args.per_have, not quiet)
            paths = [args.output / "candidates.parquet", *write_csv_too(parts, args.output, args.csv)]
            n, prog, removed = parts.rows, parts.programme, parts.rules_removed
    if n == 0:
        print("no have can serve any want within the limits: wrote an empty candidates file")
    print(f"{n} candidates -> {', '.join(str(p) for p in paths)}")
    from flowmatch.inputs.evidence import programme_lines

    for line in programme_lines(prog):
        print(line)
    if removed:
        n = sum(removed.values())
        print(f"rules: {n} candidate pair{'s' if n != 1 else ''} forbidden ("
              + ", ".join(f"{r} {n}" for r, n in removed.items()) + ")")
    return 0


def _solve_options(args: argparse.Namespace, **fixed):
    """The run's one :class:`~flowmatch.milp.options.SolveOptions`, validated once, from the flags."""
    from flowmatch.milp.options import SolveOptions

    given = {k: getattr(args, k) for k in ("objective", "time_limit", "gap", "solver") if hasattr(args, k)}
    return SolveOptions(**{**given, **fixed})


def cmd_optimise(args: argparse.Namespace) -> int:
    from flowmatch.inputs.inventory import read_inventory
    from flowmatch.milp.optimise import optimise
    from flowmatch.plans.folder import write_plan
    from flowmatch.plans.staging import stage

    options = _solve_options(args)
    # the whole folder (plan, report, workbook) is written into one staging folder, then swapped in
    with stage(args.output, "plan") as st, cluster_client(args) as client:
        inv = read_inventory(args.inventory)
        lp, mps = (_in_stage(f, args.output, st.path) for f in (args.write_lp, args.write_mps))
        with blocks_on(client):  # --scheduler: big independent blocks solved on its workers
            plan = optimise(inv, options=options, write_lp=lp, write_mps=mps)
        write_plan(plan, st.path, inventory=inv)
        if args.report:
            from flowmatch.report.page import write_report

            write_report(st.path)
    print(plan.text_summary())
    if args.report:
        print(f"report: {args.output / 'report.html'}")
    return 0


def _in_stage(f: Path | None, out: Path, staging: Path) -> Path | None:
    """A file asked for inside the output folder goes into its staging folder (and the manifest)."""
    if f is not None and os.path.abspath(f.parent) == os.path.abspath(out):
        return staging / f.name
    return f


def cmd_pareto(args: argparse.Namespace) -> int:
    from flowmatch.inputs.inventory import read_inventory
    from flowmatch.plans.staging import stage
    from flowmatch.studies.pareto import pareto_front, write_pareto

    options = _solve_options(args)
    with stage(args.output, "pareto") as st, cluster_client(args) as client:
        inv = read_inventory(args.inventory)
        front = pareto_front(inv, between=tuple(args.between), points=args.points, options=options,
                             client=client)
        paths = [args.output / p.name for p in write_pareto(front, st.path)]
    print(front.to_string(index=False))
    print(f"caps met to within {front.attrs.get('tolerance', 0):.3g} (cap_tolerance)")
    for note in front.attrs.get("notes", []):
        print(f"note: {note}")
    print(f"wrote {', '.join(str(p) for p in paths)}")
    return 0


def cmd_whatif(args: argparse.Namespace) -> int:
    from flowmatch.inputs.inventory import read_inventory
    from flowmatch.plans.staging import stage
    from flowmatch.studies.changes import RUNS_FOLDER, run_changes, write_changes
    from flowmatch.studies.whatif import MAX_RUNS, failures_text, run_whatif, write_comparison

    options = _solve_options(args)
    # runs/NAME/ plan folders inside, sealed with the rest
    with stage(args.output, "comparison") as st, cluster_client(args) as client:
        inv = read_inventory(args.inventory)
        table = run_whatif(inv, scenarios=args.scenarios, vary=args.vary, jobs=args.jobs, options=options,
                           max_runs=None if args.yes else MAX_RUNS, runs_dir=st.path / RUNS_FOLDER,
                           client=client)
        paths = [args.output / p.name for p in write_comparison(table, st.path)]
        changes = run_changes(table, st.path)
        paths.append(args.output / write_changes(changes, st.path).name)
    for w in table.attrs.get("warnings", []):
        print(f"warning: {w}")
    print(table.drop(columns="run_folder").to_string(index=False))
    print(f"changes against the baseline: {len(changes)} synergies added, dropped or resized "
          f"(changes.csv; each run's plan under {args.output / RUNS_FOLDER})")
    print(f"wrote {', '.join(str(p) for p in paths)}")
    failed = failures_text(table)  # exit 1 when any run failed, after writing what succeeded
    if failed:
        print(f"flowmatch whatif: {failed}", file=sys.stderr)
    return 1 if failed else 0


def cmd_targets(args: argparse.Namespace) -> int:
    from flowmatch.inputs.inventory import read_inventory
    from flowmatch.milp.targets import targets_text

    print(targets_text(read_inventory(args.inventory)))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from flowmatch.report.page import write_report

    print(f"report: {write_report(args.plan, lang=args.lang, title=args.title)}")
    return 0


def cmd_gaps(args: argparse.Namespace) -> int:
    from flowmatch.inputs.inventory import read_inventory
    from flowmatch.matching.gaps import gaps_text

    print(gaps_text(read_inventory(args.inventory), top=args.top))
    return 0


# --------------------------------------------------------------------------- parser


def _output(text: str) -> Path:
    """An ``-o`` path: never empty (``-o ''`` would write into the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path would write into the current folder; "
                                         "give a folder name, e.g. -o plan")
    return Path(text)


def _add_solve_args(p: argparse.ArgumentParser) -> None:
    from flowmatch.metrics import OBJECTIVES

    p.add_argument("--objective", choices=list(OBJECTIVES), default="cost",
                   help="what to minimise (default: cost)")
    p.add_argument("--time-limit", type=float, default=60.0, metavar="S",
                   help="seconds for everything after matching: model parts, solves, explanations "
                        "(default: 60)")
    p.add_argument("--gap", type=float, default=0.01, metavar="G",
                   help="relative MIP gap to stop at (default: 0.01)")
    p.add_argument("--solver", choices=["highs", "cbc"], default="highs",
                   help="highs (default, fast) or cbc through PuLP")


def _add_lang_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lang", choices=["en", "zh"], default="en",
                   help="language of type labels: en (default) or zh (Chinese)")


def build_parser() -> argparse.ArgumentParser:
    from flowmatch import __version__
    from flowmatch.metrics import MODEL_METRICS

    ap = argparse.ArgumentParser(prog="flowmatch", description=__doc__.splitlines()[0])
    ap.add_argument("--version", action="version", version=f"flowmatch {__version__}")
    ap.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="read and check an inventory")
    p.add_argument("inventory", type=Path)
    _add_lang_arg(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("describe", help="summarise an inventory")
    p.add_argument("inventory", type=Path)
    _add_lang_arg(p)
    p.set_defaults(func=cmd_describe)

    p = sub.add_parser("suggest", help="the types a description most likely means (English or Chinese)")
    p.add_argument("text", nargs="+", help='a description, e.g. "granulated blast furnace slag" or 脱硫石膏')
    p.add_argument("--limit", type=int, default=5, metavar="N", help="suggestions to list (default: 5)")
    _add_lang_arg(p)
    p.set_defaults(func=cmd_suggest)

    p = sub.add_parser("synth", help="write a synthetic inventory")
    p.add_argument("--resources", type=int, required=True, metavar="N")
    p.add_argument("--seed", type=int, default=0, metavar="S")
    p.add_argument("--format", choices=["csv", "parquet"], default="parquet")
    p.add_argument("--partitions", type=int, default=1, metavar="K",
                   help="write resources and properties as folders of K Parquet part files")
    p.add_argument("-o", "--output", type=_output, required=True)
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser("match", help="score haves against wants and write candidates")
    p.add_argument("inventory", type=Path)
    p.add_argument("-o", "--output", type=_output, required=True)
    p.add_argument("--top-k", type=int, default=None, metavar="K", help="candidates per want")
    p.add_argument("--min-score", type=float, default=None, metavar="S")
    p.add_argument("--per-have", action="store_true", help="also keep each have's best K wants")
    p.add_argument("--csv", action="store_true", help="also write candidates.csv")
    p.add_argument("--threads", type=int, default=None, help="Numba threads")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_scheduler_args(p)
    p.set_defaults(func=cmd_match)

    p = sub.add_parser("optimise", aliases=["optimize"], help="choose synergies and write the plan")
    p.add_argument("inventory", type=Path)
    p.add_argument("-o", "--output", type=_output, required=True)
    _add_solve_args(p)
    p.add_argument("--write-lp", type=Path, default=None, metavar="FILE")
    p.add_argument("--write-mps", type=Path, default=None, metavar="FILE")
    p.add_argument("--report", action="store_true", help="also write report.html and plan.xlsx")
    add_scheduler_args(p)
    p.set_defaults(func=cmd_optimise)

    p = sub.add_parser("pareto", help="Pareto front between two objectives")
    p.add_argument("inventory", type=Path)
    p.add_argument("--between", nargs=2, default=["cost", "co2"], metavar=("A", "B"),
                   choices=list(MODEL_METRICS))
    p.add_argument("--points", type=int, default=7)
    p.add_argument("-o", "--output", type=_output, required=True)
    p.add_argument("--time-limit", type=float, default=30.0)
    p.add_argument("--gap", type=float, default=0.01)
    p.add_argument("--solver", choices=["highs", "cbc"], default="highs")
    add_scheduler_args(p)
    p.set_defaults(func=cmd_pareto)

    p = sub.add_parser("whatif", help="run what-if scenarios and compare them")
    p.add_argument("inventory", type=Path)
    p.add_argument("scenarios", nargs="*", type=Path, help="scenario TOML files")
    p.add_argument("--vary", action="append", default=[], metavar="NAME=V1,V2,...",
                   help="a parameter grid axis; repeat for a grid")
    p.add_argument("--jobs", type=int, default=None, help="parallel processes (default: all cores)")
    p.add_argument("--yes", action="store_true", help="run a grid of over 100 runs (refused without it)")
    p.add_argument("-o", "--output", type=_output, required=True)
    _add_solve_args(p)
    add_scheduler_args(p)
    p.set_defaults(func=cmd_whatif)

    p = sub.add_parser("targets", help="water and heat targets (pinch analysis)")
    p.add_argument("inventory", type=Path)
    p.set_defaults(func=cmd_targets)

    p = sub.add_parser("report", help="write report.html and plan.xlsx for a plan folder")
    p.add_argument("plan", type=Path)
    _add_lang_arg(p)
    p.add_argument("--title", default=None, help="the report's title (default: the park's name)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("gaps", help="haves with no good candidate, and whom to recruit")
    p.add_argument("inventory", type=Path)
    p.add_argument("--top", type=int, default=20)
    p.set_defaults(func=cmd_gaps)

    from flowmatch.registry.cli import add_parser as add_registry_parser

    add_registry_parser(sub)  # flowmatch registry ...: its own module
    from flowmatch.bench.cli import add_parser as add_bench_parser

    add_bench_parser(sub)  # flowmatch bench (docs/bench.md)
    return ap


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 2 user error)."""
    ap = build_parser()
    args = ap.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    from flowmatch.plans.manifest import set_run_command

    set_run_command(["flowmatch", *(sys.argv[1:] if argv is None else argv)])
    try:
        return args.func(args)
    except FlowmatchError as exc:
        print(f"flowmatch {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:  # the file system refused: a read-only folder, a full disk...
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"flowmatch {args.command}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
