"""Where the gap of a big material block lies (issue 16): the LP relaxation's structure, and
optionally a long HiGHS solve with its log, so the 10 s / 60 s plan and bound can be compared with
the best known ones.

Run::

    .venv/bin/python benchmarks/gap_diagnosis.py park300                    # LP relaxation only
    .venv/bin/python benchmarks/gap_diagnosis.py park300 --solve 300 --log /tmp/park300.log
    .venv/bin/python benchmarks/gap_diagnosis.py single10k --solve 300 --log /tmp/single10k.log

Cases are ``bench_scale.CASES`` (``park300``, ``single10k`` ...). Prints the LP relaxation's bound, how many
binaries sit at 0, 1 and in between, the linking rows that are loose, and (with ``--solve``)
HiGHS's final plan, bound and gap; the log (``--log``) shows when each plan was found.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))


def build(name: str):
    from bench_scale import _case

    from flowmatch.milp.optimise import build_model, build_parts

    inv, cands = _case(name)
    return build_model(build_parts(inv, cands))


def lp_report(model) -> dict:
    from flowmatch.milp.highs import new_highs, pass_highs

    c, k = model.objective({"cost": 1.0})
    relaxed = dataclasses.replace(model, integrality=np.zeros(model.n_vars, bool))
    h = new_highs()
    pass_highs(h, relaxed, c, k)
    t = time.perf_counter()
    h.run()
    x = np.asarray(h.getSolution().col_value, float)
    y = x[model.integrality]
    names = np.array(model.var_names, dtype=object)
    kinds = np.array([n.split("[")[0] for n in names[model.integrality]])
    frac = (y > 1e-6) & (y < 1 - 1e-6)
    out = {"lp_bound": float(c @ x + k), "lp_s": round(time.perf_counter() - t, 2),
           "binaries": int(model.integrality.sum()), "at_0": int((y <= 1e-6).sum()),
           "at_1": int((y >= 1 - 1e-6).sum()), "fractional": int(frac.sum()),
           "fractional_by_kind": {kd: int((frac & (kinds == kd)).sum()) for kd in np.unique(kinds)},
           "fixed_cost_paid_in_lp": float(c[model.integrality] @ y),
           "fixed_cost_of_fractional_if_rounded_up": float(c[model.integrality][frac].sum())}
    rn = np.array([r.split("[")[0] for r in model.row_names])
    act = model.A @ x
    for kind in np.unique(rn):
        sel = rn == kind
        tight = (np.abs(act[sel] - model.row_ub[sel]) < 1e-6 * np.maximum(1, np.abs(model.row_ub[sel]))) | (
            np.abs(act[sel] - model.row_lb[sel]) < 1e-6 * np.maximum(1, np.abs(model.row_lb[sel])))
        out[f"rows_{kind}"] = f"{int(sel.sum())} ({int(tight.sum())} tight)"
    return out


def long_solve(model, seconds: float, log_path: str | None) -> dict:
    from flowmatch.milp.highs import new_highs, pass_highs

    c, k = model.objective({"cost": 1.0})
    h = new_highs(time_limit=seconds, gap=0.01)
    if log_path:
        h.setOptionValue("log_file", log_path)
        h.setOptionValue("output_flag", True)
        h.setOptionValue("log_to_console", False)
    pass_highs(h, model, c, k)
    t = time.perf_counter()
    h.run()
    info = h.getInfo()
    obj, bound = float(info.objective_function_value), float(info.mip_dual_bound)
    return {"objective": obj, "bound": bound, "gap": (obj - bound) / abs(obj) if obj else None,
            "status": h.modelStatusToString(h.getModelStatus()), "s": round(time.perf_counter() - t, 1),
            "nodes": int(info.mip_node_count)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("case")
    ap.add_argument("--solve", type=float, default=0.0, help="seconds of HiGHS on the whole model")
    ap.add_argument("--log", default=None, help="HiGHS log file")
    a = ap.parse_args()
    model = build(a.case)
    print(f"{a.case}: {model.n_vars} variables ({int(model.integrality.sum())} binary), {model.n_rows} rows")
    for key, v in lp_report(model).items():
        print(f"  {key}: {v}")
    if a.solve:
        for key, v in long_solve(model, a.solve, a.log).items():
            print(f"  solve {key}: {v}")


if __name__ == "__main__":
    main()
