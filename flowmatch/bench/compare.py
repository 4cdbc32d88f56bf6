"""Compare a ``flowmatch bench`` record with a baseline: the check a user's CI runs.

:func:`read_record` reads a baseline written by ``flowmatch bench --json`` (a
missing, unreadable or foreign file is a :class:`~flowmatch.errors.BenchError`
naming it and the fix). :func:`compare` checks that both records timed the same
inventory (checksum and sizes), then compares every phase's median seconds and
both throughputs: a phase (or a throughput) is *slower* when it takes more than
``1 + max_slowdown`` times the baseline's seconds (or gives less than
``1 / (1 + max_slowdown)`` of its rate) and the extra time is at least
``noise_floor`` seconds, so a phase of a few milliseconds cannot fail a build on
timer noise alone.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowmatch.bench.phases import FORMAT, MATCH_PHASES, PHASES, REQUIRED_PHASES
from flowmatch.errors import BenchError

__all__ = ["Verdict", "read_record", "compare", "check_limits", "check_same_inventory", "NOISE_FLOOR_S"]

#: Extra seconds below which a slower phase is taken as noise (``--noise-floor``).
NOISE_FLOOR_S = 0.05
#: The throughputs compared, with the phases whose seconds they are counted over.
THROUGHPUTS = {"pairs_per_s": ("search",), "candidates_per_s": MATCH_PHASES}


@dataclass(frozen=True)
class Verdict:
    """One line of the comparison: a phase or a throughput against the baseline."""

    name: str
    unit: str  #: ``s`` (lower is better) or ``/s`` (higher is better)
    baseline: float
    current: float
    slowdown: float  #: the fraction slower: 0.5 is 1.5 times the baseline's time
    extra_s: float  #: seconds lost against the baseline (negative when faster)
    failed: bool

    def text(self, max_slowdown: float) -> str:
        """``search: 1.84 s against 0.92 s, 100% slower (allowed 20%)``."""
        fmt = (lambda v: f"{v:.4g} s") if self.unit == "s" else (lambda v: f"{v:,.0f}/s")
        how = f"{abs(self.slowdown):.0%} {'slower' if self.slowdown >= 0 else 'faster'}"
        return (f"{self.name}: {fmt(self.current)} against the baseline's {fmt(self.baseline)}, "
                f"{how} (allowed {max_slowdown:.0%})")


def read_record(path: str | Path) -> dict[str, Any]:
    """A record written by ``flowmatch bench --json``, checked.

    Raises
    ------
    BenchError
        The file is missing or unreadable, is not JSON, or lacks what a record has.
    """
    p = Path(path)
    make = f"make one with `flowmatch bench INVENTORY --json {p}` on the version to compare against"
    if not p.is_file():
        raise BenchError(f"baseline {p}: no such file; {make}.")
    try:
        rec = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BenchError(f"baseline {p}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
                         f"{make}.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BenchError(f"baseline {p}: cannot be read ({exc}); {make}.") from None
    if not isinstance(rec, dict) or rec.get("format") != FORMAT:
        got = rec.get("format") if isinstance(rec, dict) else type(rec).__name__
        raise BenchError(f"baseline {p}: not a flowmatch bench record (format {got!r}, expected "
                         f"{FORMAT!r}); {make}.")
    for key in ("inventory", "phases", "throughput"):
        if not isinstance(rec.get(key), dict):
            raise BenchError(f"baseline {p}: the '{key}' section is missing or damaged; {make}.")
    for phase in [p for p in PHASES if p in REQUIRED_PHASES or p in rec["phases"]]:
        entry = rec["phases"].get(phase)
        v = entry.get("median_s") if isinstance(entry, dict) else None
        if not isinstance(v, int | float) or not _number(v) or v < 0:
            raise BenchError(f"baseline {p}: phases.{phase}.median_s is missing or not a number >= 0; {make}.")
    for name in THROUGHPUTS:
        if not _number(rec["throughput"].get(name)) or rec["throughput"][name] < 0:
            raise BenchError(f"baseline {p}: throughput.{name} is missing or not a number >= 0; {make}.")
    return rec


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def check_same_inventory(inventory: dict[str, Any], baseline: dict[str, Any], where: str = "BASELINE") -> None:
    """Raise :class:`BenchError` unless ``inventory`` (a record's ``inventory`` section) is the
    baseline's: the same checksum and sizes."""
    a, b = inventory, baseline["inventory"]
    differ = [k for k in ("checksum", "sites", "resources", "haves", "wants") if a.get(k) != b.get(k)]
    if differ:
        sizes = ", ".join(f"{k} {b.get(k)!s:.16} -> {a.get(k)!s:.16}" for k in differ)
        raise BenchError(f"baseline {where} timed another inventory ({b.get('path')}; {sizes}): its "
                         "seconds are not comparable. Bench the same inventory, or give "
                         "--allow-different-inventory to compare anyway.")


def check_limits(max_slowdown: float, noise_floor: float) -> None:
    """Raise :class:`BenchError` unless both are numbers >= 0."""
    if not _number(max_slowdown) or max_slowdown < 0:
        raise BenchError(f"bench: --max-slowdown {max_slowdown!r} is not a fraction >= 0; give e.g. 0.2 "
                         "(fail when over 20% slower).")
    if not _number(noise_floor) or noise_floor < 0:
        raise BenchError(f"bench: --noise-floor {noise_floor!r} is not a number of seconds >= 0; give e.g. 0.05.")


def compare(current: dict[str, Any], baseline: dict[str, Any], max_slowdown: float = 0.2,
            noise_floor: float = NOISE_FLOOR_S, allow_different_inventory: bool = False,
            where: str = "BASELINE") -> list[Verdict]:
    """Every phase and throughput of ``current`` against ``baseline``.

    Parameters
    ----------
    current, baseline : dict
        Records of :func:`flowmatch.bench.phases.run_bench` (the baseline read by :func:`read_record`).
    max_slowdown : float
        Allowed fraction slower (0.2: up to 1.2 times the baseline's seconds).
    noise_floor : float
        A phase fails only when it is also at least this many seconds slower.
    allow_different_inventory : bool
        Compare even when the baseline timed another inventory.
    where : str
        The baseline's file name, for messages.

    Returns
    -------
    list of Verdict
        The phases both records timed, in pipeline order (``model`` and ``solve`` are
        left out when either is ``--matching-only``), then the throughputs;
        ``failed`` marks the slower ones.

    Raises
    ------
    BenchError
        ``max_slowdown`` or ``noise_floor`` out of range, or another inventory.
    """
    check_limits(max_slowdown, noise_floor)
    if not allow_different_inventory:
        check_same_inventory(current["inventory"], baseline, where)
    out = []
    for phase in [p for p in PHASES if p in current["phases"] and p in baseline["phases"]]:
        now, base = current["phases"][phase]["median_s"], baseline["phases"][phase]["median_s"]
        slow = now / base - 1.0 if base > 0 else (math.inf if now > 0 else 0.0)
        extra = now - base
        out.append(Verdict(phase, "s", base, now, slow, extra,
                           slow > max_slowdown and extra >= noise_floor))
    for name, phases in THROUGHPUTS.items():
        now, base = current["throughput"][name], baseline["throughput"][name]
        seconds = sum(current["phases"][p]["median_s"] for p in phases)
        if now <= 0 or base <= 0:  # nothing to count: nothing to compare
            out.append(Verdict(name, "/s", base, now, 0.0, 0.0, False))
            continue
        slow = base / now - 1.0
        extra = seconds * (1.0 - now / base)  # seconds lost at the baseline's rate
        out.append(Verdict(name, "/s", base, now, slow, extra, slow > max_slowdown and extra >= noise_floor))
    return out
