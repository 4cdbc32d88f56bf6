"""Size and LP relaxation bound of the cascade models (issue 16): how tight the water and
heat rows are, measured without the search.

Builds the model of the synthetic water and heat parks of ``bench_cascades.py``
(steady, or seasonal with ``--seasonal``), drops integrality and solves the LP
relaxation with HiGHS, printing rows, columns, nonzeros, the LP bound (the
cost objective) and the LP time; with ``--mip S`` also the MILP by HiGHS for S seconds. Run::

    .venv/bin/python benchmarks/cascade_lp.py water heat --n 200 [--seasonal] [--mip 60] [--lp-solver ipm]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from bench_cascades import heat_park, seasonal, water_park  # noqa: E402

from flowmatch.matching.candidates import match  # noqa: E402
from flowmatch.milp.highs import new_highs, pass_highs  # noqa: E402
from flowmatch.milp.optimise import build_model  # noqa: E402
from flowmatch.milp.part import build_parts  # noqa: E402


def lp_bound(kind: str, n: int, seasonal_park: bool, seed: int = 0, mip_s: float = 0.0,
             lp_solver: str = "choose") -> dict:
    """Model size, LP relaxation bound and LP time of the ``kind`` (water or heat) park of ``n`` streams.

    With ``mip_s`` > 0, also HiGHS on the MILP itself for that many seconds (no start, no
    heuristics of flowmatch's): its plan, bound and gap, and in the LP relaxation and the plan
    the cost of the fixed charges (the binaries' costs) apart. ``lp_solver`` is HiGHS's
    ``solver`` for the LP and its ``mip_lp_solver`` for the MILP (``choose``, ``simplex``, ``ipm``).
    """
    inv = (water_park if kind == "water" else heat_park)(n, seed)
    if seasonal_park:
        inv = seasonal(inv, "water" if kind == "water" else "energy")
    cands = match(inv)
    t0 = time.perf_counter()
    model = build_model(build_parts(inv, cands))
    t_build = time.perf_counter() - t0
    c, k = model.objective({"cost": 1.0})
    lp = replace(model, integrality=np.zeros(model.n_vars, bool))
    h = new_highs(time_limit=600.0)
    h.setOptionValue("solver", lp_solver)
    pass_highs(h, lp, c, k)
    t0 = time.perf_counter()
    h.run()
    t_lp = time.perf_counter() - t0
    fixed = model.integrality
    x_lp = np.asarray(h.getSolution().col_value)
    out = {}
    if mip_s > 0:
        hm = new_highs(time_limit=mip_s, gap=1e-4)
        hm.setOptionValue("mip_lp_solver", lp_solver)
        pass_highs(hm, model, c, k)
        t0 = time.perf_counter()
        hm.run()
        info = hm.getInfo()
        x = np.asarray(hm.getSolution().col_value)
        out = {"mip_cost": info.objective_function_value, "mip_bound": info.mip_dual_bound,
               "mip_gap": info.mip_gap, "t_mip": round(time.perf_counter() - t0, 2),
               "mip_fixed": float(c[fixed] @ x[fixed]), "mip_links": int((x[fixed] > 0.5).sum())}
    return {"park": f"{kind}{n}{'-seasonal' if seasonal_park else ''}", "rows": model.n_rows,
            "cols": model.n_vars, "binaries": int(model.integrality.sum()), "nnz": model.A.nnz,
            "lp_bound": h.getInfo().objective_function_value, "t_build": round(t_build, 2),
            "t_lp": round(t_lp, 2), "status": h.modelStatusToString(h.getModelStatus()),
            "lp_fixed": float(c[fixed] @ x_lp[fixed]), **out}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kinds", nargs="+", choices=["water", "heat"])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seasonal", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mip", type=float, default=0.0, help="also solve the MILP for this many seconds")
    ap.add_argument("--lp-solver", default="choose", choices=["choose", "simplex", "ipm"],
                    help="HiGHS's solver for the LP and mip_lp_solver for the MILP")
    a = ap.parse_args()
    for kind in a.kinds:
        r = lp_bound(kind, a.n, a.seasonal, a.seed, a.mip, a.lp_solver)
        print(" ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()),
              flush=True)


if __name__ == "__main__":
    main()
