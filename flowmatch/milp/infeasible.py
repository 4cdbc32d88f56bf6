"""Say in words why a model is infeasible.

First an irreducible infeasible subsystem of the LP relaxation (HiGHS's IIS),
its rows described by what the parts that added them say they mean
(:attr:`~flowmatch.milp.part.ModelPart.row_meaning`); when the relaxation is
feasible (the yes/no choices are to blame), each group of rows is dropped in
turn and the groups whose removal makes the model feasible are named. The
explanation draws on the time left of the run's budget.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from flowmatch.milp.builder import LinearModel
from flowmatch.milp.highs import new_highs, pass_highs
from flowmatch.milp.options import SolveBudget
from flowmatch.milp.solvers import solve

__all__ = ["explain_infeasible", "describe_row", "ROW_MEANING"]

#: What rows that no part adds mean: the metric caps of epsilon constraints.
ROW_MEANING = {"cap": "your cap on"}


def _group(name: str) -> str:
    return name.split("[", 1)[0]


def describe_row(name: str, meanings: Mapping[str, str] | None = None) -> str:
    """``have[H1]`` -> ``the supply balance of have H1 (have[H1])``, by ``meanings`` of its group."""
    if meanings and name in meanings:  # a row with words of its own (an expert rule)
        return f"{meanings[name]} ({name})"
    group = _group(name)
    meaning = {**ROW_MEANING, **(meanings or {})}.get(group)
    if meaning is None or not name.endswith("]"):
        return name
    return f"{meaning} {name[len(group) + 1:-1]} ({name})"


def _iis_rows(model: LinearModel, time_limit: float) -> tuple[list[str], list[str]]:
    """Rows and variables (by bounds) of an irreducible infeasible subsystem of the LP relaxation."""
    import highspy

    h = new_highs(time_limit=time_limit)
    h.setOptionValue("iis_strategy", int(highspy.IisStrategy.kIisStrategyFromLp.value))
    pass_highs(h, model, np.zeros(model.n_vars), 0.0)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kInfeasible:
        return [], []
    status, iis = h.getIis()
    if status != highspy.HighsStatus.kOk or not iis.valid_:
        return [], []
    return [model.row_names[i] for i in iis.row_index_], [model.var_names[j] for j in iis.col_index_]


def _feasible(model: LinearModel, time_limit: float) -> bool | None:
    r = solve(model, {}, time_limit=time_limit, gap=1.0)
    return None if r.status in ("time_limit", "error") and r.x is None else r.has_solution


def explain_infeasible(model: LinearModel, time_limit: float = 10.0,
                       meanings: Mapping[str, str] | None = None) -> str:
    """Say which constraints make ``model`` infeasible, within ``time_limit`` seconds in all.

    Parameters
    ----------
    model : LinearModel
    time_limit : float
        Seconds for the whole explanation (the run passes what is left of its budget).
    meanings : mapping, optional
        Row group -> what its rows mean (the parts' ``row_meaning``, merged).
    """
    budget = SolveBudget(time_limit)
    rows, cols = _iis_rows(model, budget.share(0.5))
    if rows:
        shown = "; ".join(describe_row(r, meanings) for r in rows[:20])
        more = f" ... ({len(rows)} in all)" if len(rows) > 20 else ""
        limits = f", with the limits of {len(cols)} variables" if cols else ""
        return f"these constraints cannot all hold together{limits}: {shown}{more}"
    groups = sorted({_group(n) for n in model.row_names})
    culprits = []
    for k, g in enumerate(groups):
        keep = np.array([_group(n) != g for n in model.row_names])
        sub = LinearModel(model.lb, model.ub, model.integrality, model.A.tocsr()[keep].tocsc(),
                          model.row_lb[keep], model.row_ub[keep], model.metrics, model.metric_const,
                          model.var_names, [n for n, kept in zip(model.row_names, keep, strict=True) if kept])
        if _feasible(sub, budget.share(1.0 / (len(groups) - k))):
            culprits.append(g)
    if culprits:
        # a group whose rows have words of their own (expert rules) is named by them
        words = {g: [meanings[n] for n in model.row_names if _group(n) == g and n in meanings]
                 for g in culprits} if meanings else {}
        named = [f"{g} ({'; '.join(words[g][:5])})" if words.get(g) else g for g in culprits]
        return ("the linear relaxation is feasible, but the yes/no choices are not; dropping any one "
                f"of these constraint groups would make it feasible: {', '.join(named)}")
    return "no small set of constraints to blame was found"
