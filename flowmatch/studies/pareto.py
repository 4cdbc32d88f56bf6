"""The Pareto front between two objectives, by the epsilon-constraint method.

For objectives A and B (``cost``, ``co2`` or ``landfill``), the two ends of the
front are *lexicographic* optima: minimise A, then B with A held at its minimum
(the end where A is best), and minimise B, then A with B held at its minimum
(the end where B is best). B's values at the two ends bound the real range of
the front; the caps ``eps`` are spread evenly *strictly inside* that range, so
every point asked for is a new trade-off, and A is minimised subject to
``B <= eps``. Each point must meet its own cap within the stated tolerance
(``cap_tolerance``, relative ``REL_TOL`` of B's scale): the ``within_cap``
column says whether it does, and a point that does not is flagged (warning and
note). Dominated points and duplicates (equal within the tolerance) are
dropped. When the two ends coincide within the tolerance the objectives do not
conflict: the front is one point and ``attrs["notes"]`` says so.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd

from flowmatch.errors import FlowmatchError, ParamsError
from flowmatch.files import atomic_write, write_table
from flowmatch.inputs.inventory import Inventory
from flowmatch.metrics import METRICS
from flowmatch.milp.options import SolveOptions
from flowmatch.plans.plan import Plan

__all__ = ["pareto_front", "write_pareto", "non_dominated", "pareto_caps", "PARETO_METRICS", "REL_TOL"]

log = logging.getLogger(__name__)

#: Objective name -> column of the front (and key of ``plan.summary["objective"]``).
PARETO_METRICS = {m.name: m.key for m in METRICS}
#: Relative tolerance under which two values of a metric count as equal, and to which a point meets its cap.
REL_TOL = 1e-6
_REL_TOL = REL_TOL
#: Relative slack of the cap that holds an objective at its minimum for a lexicographic end (rounding only).
_HOLD = 1e-12


def _value(plan: Plan, metric: str) -> float:
    return float(plan.summary["objective"][PARETO_METRICS[metric]])


def _row(plan: Plan, cap: float, tol: float, b: str) -> dict[str, Any]:
    s = plan.summary
    within = bool(math.isnan(cap) or _value(plan, b) <= cap + tol)
    return {**{col: float(s["objective"][col]) for col in PARETO_METRICS.values()},
            "cap": cap, "cap_tolerance": tol, "within_cap": within, "status": plan.status, "gap": plan.gap,
            "n_synergies": s.get("n_synergies"), "solve_s": plan.timings.get("solve", math.nan)}


def pareto_caps(lo: float, hi: float, points: int) -> list[float]:
    """The caps on B for a front of ``points`` points whose ends have B = ``lo`` and ``hi``.

    The ends are found by their own solves, so the ``points - 2`` caps lie
    evenly strictly between them: ``lo + (hi - lo) * k / (points - 1)``, k = 1 ... points - 2.
    """
    return [lo + (hi - lo) * k / (points - 1) for k in range(1, points - 1)]


def _tol(values: np.ndarray) -> float:
    return _REL_TOL * max(1.0, float(np.max(np.abs(values))) if len(values) else 1.0)


def non_dominated(front: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    """Rows of ``front`` that no other row dominates in columns ``a`` and ``b`` (both minimised).

    Values within a relative 1e-6 count as equal; of equal rows the first is kept.
    The result is sorted by ``a``.
    """
    x, y = front[a].to_numpy(float), front[b].to_numpy(float)
    tx, ty = _tol(x), _tol(y)
    keep: list[int] = []
    for i in range(len(front)):
        no_worse = (x <= x[i] + tx) & (y <= y[i] + ty)
        better = (x < x[i] - tx) | (y < y[i] - ty)
        dominated = np.any(no_worse & better)
        duplicate = any(abs(x[j] - x[i]) <= tx and abs(y[j] - y[i]) <= ty for j in keep)
        if not dominated and not duplicate:
            keep.append(i)
    return front.iloc[keep].sort_values(a, kind="stable").reset_index(drop=True)


def pareto_front(
    inventory: Inventory,
    between: tuple[str, str] = ("cost", "co2"),
    points: int = 7,
    time_limit: float | None = None,
    gap: float | None = None,
    solver: str | None = None,
    options: SolveOptions | None = None,
    client: Any = None,
) -> pd.DataFrame:
    """The Pareto front between two objectives (see the module docstring).

    Parameters
    ----------
    inventory : Inventory
    between : (str, str)
        Objectives ``(A, B)``: A is minimised, B is capped.
    points : int
        Grid points from one end of the front to the other (at least 2); the
        front has at most this many rows.
    options : SolveOptions, optional
        For every solve (each point has its own time limit); its objective is
        set per point. Default: a time limit of 30 s per point.
    time_limit, gap, solver
        Override those fields of ``options``.
    client : distributed.Client, optional
        Solve the capped points as tasks on this Dask cluster
        (:func:`flowmatch.cluster.grid_tasks.caps_on_cluster`); the two ends are solved here.

    Returns
    -------
    pandas.DataFrame
        One row per non-dominated point, sorted by A: ``point``, ``cost``,
        ``co2_t``, ``landfill_t``, ``<B>_cap`` (the cap on B, empty for the
        two lexicographic ends), ``cap_tolerance`` (how far over its cap a
        point may be), ``within_cap``, ``status``, ``gap``, ``n_synergies``,
        ``solve_s``. ``attrs`` holds ``between`` and ``currency`` for the plot,
        ``tolerance``, ``flat`` (the objectives do not conflict) and ``notes``
        (sentences for the reader: a flat front, points over their cap, points
        dropped as dominated or equal).

    Raises
    ------
    ParamsError
        Unknown or equal objectives, or fewer than 2 points.
    """
    a, b = between
    if a not in PARETO_METRICS or b not in PARETO_METRICS or a == b:
        raise ParamsError(f"between = {between!r}: give two different objectives of "
                          f"{', '.join(PARETO_METRICS)}.")
    if points < 2:
        raise ParamsError(f"points = {points}: give at least 2 points (the two ends of the front).")
    from flowmatch.milp.optimise import optimise

    opts = (options or SolveOptions(time_limit=30.0)).overridden(time_limit=time_limit, gap=gap, solver=solver)
    ka, kb = PARETO_METRICS[a], PARETO_METRICS[b]
    first_a = optimise(inventory, options=opts.replace(objective=a))
    cands = first_a.candidates  # match once: every solve uses the same pairs
    first_b = optimise(inventory, options=opts.replace(objective=b), candidates=cands)
    tol_a = _tol(np.array([_value(first_a, a), _value(first_b, a)]))
    tol_b = _tol(np.array([_value(first_a, b), _value(first_b, b)]))

    def lexicographic(first: Plan, then: str, held: str, tol: float) -> Plan:
        """Minimise ``then`` with ``held`` at its minimum (``first``'s value, to rounding only).

        ``first`` stands unless the refined plan is better in ``then`` by more than ``tol``: a
        refinement within rounding only adds the solver's artefacts (a synergy left open at 1e-9 t).
        """
        v = _value(first, held)
        try:
            refined = optimise(inventory, options=opts.replace(objective=then), candidates=cands,
                               metric_caps={PARETO_METRICS[held]: v + _HOLD * max(1.0, abs(v))})
        except FlowmatchError as exc:  # the first solve stands as the end
            log.warning("pareto: the %s end, %s held at its minimum, could not be refined: %s", held, then, exc)
            return first
        return refined if _value(refined, then) < _value(first, then) - tol else first

    end_a = lexicographic(first_a, b, a, tol_b)  # A best, then B as low as it can be there
    end_b = lexicographic(first_b, a, b, tol_a)  # B best, then A as low as it can be there
    hi, lo = _value(end_a, b), _value(end_b, b)
    log.info("pareto %s-%s: %s from %.6g to %.6g (tolerance %.3g)", a, b, b, lo, hi, tol_b)
    rows = [_row(end_a, math.nan, tol_b, b), _row(end_b, math.nan, tol_b, b)]
    notes = []
    flat = hi - lo <= tol_b and abs(_value(end_a, a) - _value(end_b, a)) <= tol_a
    if flat:
        notes.append(f"The front is flat: {a} and {b} do not conflict here. The plan with the lowest {a} also "
                     f"has the lowest {b} (within the tolerance {tol_b:.3g}), so the front is that one point.")
    else:
        caps = pareto_caps(lo, hi, points)
        for eps, (plan, error) in zip(caps, _solve_caps(inventory, opts.replace(objective=a), cands,
                                                        [{kb: eps} for eps in caps], client), strict=True):
            if plan is None:
                log.warning("pareto point %s <= %.6g skipped: %s", b, eps, error)
                notes.append(f"The point with {b} <= {eps:,.6g} was not solved: {error}")
                continue
            rows.append(_row(plan, eps, tol_b, b))
            if not rows[-1]["within_cap"]:
                msg = (f"The point with {b} <= {eps:,.6g} has {b} {_value(plan, b):,.6g}, over its cap by more "
                       f"than the tolerance {tol_b:.3g} (status {plan.status}); do not trust it.")
                log.warning("pareto: %s", msg)
                notes.append(msg)
    asked = len(rows)
    front = pd.DataFrame(rows).rename(columns={"cap": f"{b}_cap"})
    front = non_dominated(front, ka, kb)
    front.insert(0, "point", np.arange(1, len(front) + 1))
    if not flat and len(front) < asked:
        notes.append(f"{asked - len(front)} of the {asked} plans solved were dominated by or equal to another "
                     "(the front is a staircase of whole synergies), so the front has "
                     f"{len(front)} point{'s' if len(front) != 1 else ''}.")
    front.attrs.update(between=(a, b), currency=inventory.params.currency, tolerance=tol_b, notes=notes,
                       flat=flat)
    return front


def _solve_caps(inventory: Inventory, options: SolveOptions, cands: pd.DataFrame | None,
                caps: list[dict[str, float]], client: Any) -> list[tuple[Plan | None, str | None]]:
    """Each capped solve: ``(plan, None)`` or ``(None, why not)``; on ``client``'s cluster when given."""
    if client is not None:
        from flowmatch.cluster.grid_tasks import caps_on_cluster

        return caps_on_cluster(client, inventory, options, cands, caps)
    from flowmatch.milp.optimise import optimise

    out: list[tuple[Plan | None, str | None]] = []
    for c in caps:
        try:
            out.append((optimise(inventory, options=options, candidates=cands, metric_caps=c), None))
        except FlowmatchError as exc:
            out.append((None, str(exc)))
    return out


# --------------------------------------------------------------------------- the plot


def _ticks(lo: float, hi: float, n: int = 5) -> np.ndarray:
    """Round tick values covering ``[lo, hi]``, about ``n`` of them."""
    if hi <= lo:  # one value: a narrow axis around it, not one from zero
        lo, hi = lo - max(1.0, 0.05 * abs(lo)), hi + max(1.0, 0.05 * abs(hi))
    raw = (hi - lo) / n
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return np.arange(math.floor(lo / step), math.ceil(hi / step) + 1) * step


def _label(v: float) -> str:
    av = abs(v)
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if av >= div:
            return f"{v / div:g}{suffix}"
    return f"{v:g}"


def _axis_title(metric: str, currency: str) -> str:
    return {"cost": f"cost ({currency}/year)", "co2": "CO2e (t/year)", "landfill": "landfill (t/year)"}[metric]


def pareto_svg(front: pd.DataFrame, a: str, b: str, currency: str = "") -> str:
    """A small self-contained SVG of the front: B against A, one marker per point."""
    notes = [n[:110] for n in front.attrs.get("notes", [])[:2]]  # a flat front, a point over its cap
    w, h, left, right, top, bottom = 640, 420 + 14 * len(notes), 80, 24, 40 + 14 * len(notes), 56
    x, y = front[PARETO_METRICS[a]].to_numpy(float), front[PARETO_METRICS[b]].to_numpy(float)
    pad = lambda v: (float(v.min()) - 0.04 * np.ptp(v), float(v.max()) + 0.04 * np.ptp(v))  # noqa: E731
    xt, yt = _ticks(*pad(x)), _ticks(*pad(y))
    sx = lambda v: left + (v - xt[0]) / (xt[-1] - xt[0]) * (w - left - right)  # noqa: E731
    sy = lambda v: h - bottom - (v - yt[0]) / (yt[-1] - yt[0]) * (h - top - bottom)  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
           'font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{w / 2}" y="22" text-anchor="middle" font-size="15">'
           f'Pareto front: {escape(a)} vs {escape(b)}</text>']
    for i, note in enumerate(notes):
        out.append(f'<text x="{w / 2}" y="{38 + 14 * i}" text-anchor="middle" font-size="10" '
                   f'fill="#a33">{escape(note)}</text>')
    for v in xt:
        px = sx(v)
        out.append(f'<line x1="{px:.1f}" y1="{top}" x2="{px:.1f}" y2="{h - bottom}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{px:.1f}" y="{h - bottom + 16}" text-anchor="middle">{_label(v)}</text>')
    for v in yt:
        py = sy(v)
        out.append(f'<line x1="{left}" y1="{py:.1f}" x2="{w - right}" y2="{py:.1f}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{left - 6}" y="{py + 4:.1f}" text-anchor="end">{_label(v)}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{w - left - right}" height="{h - top - bottom}" '
               'fill="none" stroke="#444"/>')
    out.append(f'<text x="{(left + w - right) / 2}" y="{h - 14}" text-anchor="middle">'
               f'{escape(_axis_title(a, currency))}</text>')
    out.append(f'<text transform="translate(18 {(top + h - bottom) / 2}) rotate(-90)" text-anchor="middle">'
               f'{escape(_axis_title(b, currency))}</text>')
    pts = " ".join(f"{sx(u):.1f},{sy(v):.1f}" for u, v in zip(x, y, strict=True))
    out.append(f'<polyline points="{pts}" fill="none" stroke="#1f77b4" stroke-width="1.5" '
               'stroke-dasharray="4 3"/>')  # the front is discrete: the line only guides the eye
    for i, (u, v) in enumerate(zip(x, y, strict=True)):
        tip = f"point {i + 1}: {a} {u:,.6g}, {b} {v:,.6g}"
        out.append(f'<circle cx="{sx(u):.1f}" cy="{sy(v):.1f}" r="5" fill="#1f77b4" stroke="white">'
                   f"<title>{escape(tip)}</title></circle>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def write_pareto(front: pd.DataFrame, out: str | Path) -> list[Path]:
    """Write ``OUT/pareto.csv`` and the plot ``OUT/pareto.svg``, each atomically.

    The plot's axes come from ``front.attrs["between"]`` (as :func:`pareto_front`
    sets it), else cost against co2.
    """
    from flowmatch.plans.staging import stage

    out = Path(out)
    a, b = front.attrs.get("between", ("cost", "co2"))
    with stage(out, "pareto") as st:  # the folder is written as one (docs/plan-folder.md)
        names = [write_table(front, st.path / "pareto.csv").name]
        if len(front):
            svg = pareto_svg(front, a, b, front.attrs.get("currency", ""))
            names.append(atomic_write(st.path / "pareto.svg",
                                      lambda p: p.write_text(svg, encoding="utf-8")).name)
        else:
            log.warning("the Pareto front is empty: no plot written")
    return [out / n for n in names]
