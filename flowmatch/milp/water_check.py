"""The water cascade's check before the solve: sinks no mix of sources and fresh water can meet.

A sink whose own fresh water is dirtier than it accepts needs reused water that
is clean enough; :func:`infeasible_sinks` solves a small LP per such sink (and
one for all of them together) within the run's budget, so the water part can
name the sinks the user must fix before the plan is solved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from flowmatch.milp.builder import ModelBuilder
from flowmatch.milp.options import SolveBudget
from flowmatch.milp.solvers import solve

if TYPE_CHECKING:
    from flowmatch.milp.water import WaterStreams

__all__ = ["infeasible_sinks"]


def infeasible_sinks(ws: WaterStreams, pairs: Any, removal: float | None,
                     budget: SolveBudget) -> list[str]:
    """Names of sinks that no mix of their sources and fresh water can meet.

    Each check is a small LP solved within the run's ``budget`` (a tenth of
    the time left each).
    """
    dirty_fresh = (ws.snk_fresh > ws.snk_max).any(axis=1)
    if not dirty_fresh.any():
        return []
    bad = []

    def feasible(sinks: np.ndarray) -> bool:
        sel = np.isin(pairs.snk, sinks)
        p_src, p_snk, p_regen = pairs.src[sel], pairs.snk[sel], pairs.regen[sel]
        local = pd.Index(sinks).get_indexer(p_snk)
        mb = ModelBuilder()
        f = mb.add_vars(len(p_src), name="flow")
        fresh = mb.add_vars(len(sinks), name="fresh")
        mb.add_rows(np.concatenate([local, np.arange(len(sinks))]), np.concatenate([f, fresh]),
                    np.ones(len(f) + len(sinks)), ws.snk_flow[sinks], ws.snk_flow[sinks], name="sink")
        mb.add_rows(p_src, f, np.ones(len(f)), -np.inf, ws.src_flow, name="source")
        for k, j in enumerate(sinks):
            here = np.flatnonzero(local == k)
            for c in np.flatnonzero(np.isfinite(ws.snk_max[j])):
                conc = ws.src_conc[p_src[here], c] * np.where(p_regen[here], 1.0 - (removal or 0.0), 1.0)
                conc = np.where(np.isnan(conc), ws.snk_max[j, c], conc)  # unstated: assumed at the limit
                coef = np.append(np.minimum(conc, 1e12), ws.snk_fresh[j, c]) - ws.snk_max[j, c]
                mb.add_rows(np.zeros(len(coef), np.int64), np.append(f[here], fresh[k]),
                            coef / max(np.abs(coef).max(), 1.0), -np.inf, 0.0, name="quality")
        r = solve(mb.build(), {}, gap=0.0, time_limit=budget.share(0.1))
        return r.status == "optimal" or r.status not in ("infeasible", "unbounded")

    candidates = np.flatnonzero(dirty_fresh)
    for j in candidates:
        if not feasible(np.array([j])):
            bad.append(str(ws.snk_ids[j]))
    if not bad and len(candidates) > 1 and not feasible(candidates):
        bad = [str(ws.snk_ids[j]) for j in candidates]
    return bad
