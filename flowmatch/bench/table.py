"""The terminal tables of ``flowmatch bench``: a record's phases and throughputs, and a comparison."""

from __future__ import annotations

from typing import Any

from flowmatch.bench.compare import Verdict

__all__ = ["record_table", "comparison_table"]


def record_table(rec: dict[str, Any]) -> str:
    """The phases' medians (and spread over the repeats), then the counts and throughputs."""
    inv, st = rec["inventory"], rec["settings"]
    total = sum(ph["median_s"] for ph in rec["phases"].values())
    lines = [f"{inv['path']}: {inv['resources']:,} resources ({inv['haves']:,} haves, {inv['wants']:,} wants) "
             f"at {inv['sites']:,} sites; median of {st['repeat']} run{'s' if st['repeat'] != 1 else ''}, "
             f"after a {st['warmup_s']:.2f} s warm-up (Numba compile/cache load, not counted)",
             f"{'phase':<12}{'median s':>12}{'min s':>10}{'max s':>10}{'share':>8}"]
    for p, ph in rec["phases"].items():
        share = ph["median_s"] / total if total > 0 else 0.0
        lines.append(f"{p:<12}{ph['median_s']:>12.4f}{min(ph['runs_s']):>10.4f}{max(ph['runs_s']):>10.4f}"
                     f"{share:>8.0%}")
    lines.append(f"{'total':<12}{total:>12.4f}")
    c, t = rec["counts"], rec["throughput"]
    lines.append(f"pairs in reach {c['pairs_in_reach']:,}: {t['pairs_per_s']:,.0f} pairs scored per s (search)")
    lines.append(f"candidates {c['candidates']:,}: {t['candidates_per_s']:,.0f} candidates per s "
                 "(freeze + search + candidates)")
    solve = rec.get("solve") or {}
    if solve.get("status") and solve["status"] != "optimal":
        gap = "no bound" if solve.get("gap") is None else f"gap {solve['gap']:.3g}"
        lines.append(f"note: the solve stopped at the time limit ({solve['status']}, {gap}): "
                     "its seconds measure the limit, not the speed; give a longer --time-limit")
    return "\n".join(lines)


def comparison_table(verdicts: list[Verdict], max_slowdown: float) -> str:
    """One row per phase and throughput: baseline, now, change, and ``SLOWER`` where it fails."""
    lines = [f"{'':<18}{'baseline':>14}{'now':>14}{'change':>9}"]
    for v in verdicts:
        fmt = "{:>14.4f}" if v.unit == "s" else "{:>14,.0f}"
        change = "-" if v.baseline <= 0 or v.current <= 0 else f"{v.slowdown:+.0%}"
        name = v.name if v.unit == "s" else v.name.replace("_per_s", "/s")
        lines.append(f"{name:<18}" + fmt.format(v.baseline) + fmt.format(v.current) + f"{change:>9}"
                     + ("  SLOWER" if v.failed else ""))
    lines.append(f"(change: + is slower; allowed {max_slowdown:.0%})")
    return "\n".join(lines)
