"""Expert rules as a model part: rows over every variable that moves a have to a want.

The inventory's ``rules`` (:mod:`flowmatch.inputs.rules`) are obeyed in every
mode alike: direct synergies, milk rounds (a route's binary moves its haves'
whole quantities), the water cascade (direct and regenerated) and steam
let-down. The parts that own those modes declare their variables on the
builder (:meth:`~flowmatch.milp.builder.ModelBuilder.declare_pair_flows`);
:class:`RulesPart` joins after all of them and adds, for each rule over the
variables of the pairs it matches (``x`` the flow of a pair, all modes summed):

- ``forbid``: ``rule_forbid[R]``: sum of x <= 0;
- ``cap``: ``rule_cap[R]``: sum of x <= value;
- ``force``: ``rule_force[R]``: sum of x >= value (blank: at least
  ``min_synergy_flow``, 1 unit when that is 0, or the most the links could carry
  if less), so the links that carry it are built (their binaries follow);
- ``min_size``: per pair a binary ``rule_on[R:H>W]`` with
  ``rule_min[R:H>W]``: x >= value * on and ``rule_on_max[R:H>W]``: x <= most * on
  (``most`` the smaller of the have's and the want's quantity): a link runs at
  value or more, or not at all;
- ``capex`` on a rule (any action but forbid): a binary ``rule_build[R]``
  whose cost is the capital annualised (:func:`flowmatch.milp.capex.rule_capex`)
  and, per pair, ``rule_build_max[R:H>W]``: x <= most * build, so the rule's
  unit is paid once, when any flow it covers runs.

Heat passed through the heat cascade between zones is not a variable of any
one pair, so rules reach it only through steam let-down; a rule that names
heat streams says so in its note. Each rule's rows explain themselves by the
rule's words when a model is infeasible, and :func:`rules_report` says after
the solve how much flowed under each rule and whether it was binding.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from flowmatch.errors import ModelError
from flowmatch.inputs.inventory import Inventory
from flowmatch.inputs.rules import rule_text
from flowmatch.milp.builder import LinearModel, ModelBuilder
from flowmatch.milp.capex import rule_capex
from flowmatch.milp.part import PartContext, PartKind
from flowmatch.plans.plan import FLOW_COLUMNS, ROUTE_COLUMNS

__all__ = ["RulesPart", "KIND", "rules_report", "rule_marginals", "REPORT_COLUMNS"]

log = logging.getLogger(__name__)

#: The columns of the plan's rules section (``summary.json`` ``rules``), in order.
REPORT_COLUMNS = ["rule_id", "action", "have", "want", "value", "unit", "reason", "links",
                  "candidates_removed", "flow", "binding", "slack", "marginal", "note", "capex_annual", "built"]
_TOL = 1e-6


class RulesPart:
    """The inventory's expert rules (see the module docstring)."""

    name = "rules"

    def __init__(self, inventory: Inventory, candidates: pd.DataFrame | None = None):
        self.inventory = inventory
        self.rules = inventory.rules.reset_index(drop=True)
        res = inventory.resources
        self._qty = dict(zip(res["resource_id"], res["quantity"].astype(float), strict=True))
        heat = set()
        if len(self.rules):
            from flowmatch.milp.heat.streams import heat_resource_ids

            heat = set(heat_resource_ids(inventory))
        self._heat = heat
        self._removed = self._candidates_removed(candidates)
        self.row_meaning: dict[str, str] = {}
        self._terms: list[pd.DataFrame] = []  # per rule: its columns (col, coef, pair)
        #: per min_size rule: its binaries, its flow columns, their coefficients and each column's pair
        self._on: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        #: per rule with capex: its build binary (one), its flow columns and their coefficients
        self._build: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._build_of: dict[str, int] = {}  # rule_id -> its build binary

    def _candidates_removed(self, candidates: pd.DataFrame | None) -> list[int]:
        """Candidate pairs each rule took out in matching (``attrs["rules_removed"]`` of the candidates)."""
        got = {} if candidates is None else candidates.attrs.get("rules_removed", {})
        return [int(got.get(r, 0)) for r in self.rules["rule_id"]]

    def resource_ids(self) -> list[str]:
        """None: rules own no balance."""
        return []

    # ----------------------------------------------------------------- model

    def _links(self, mb: ModelBuilder) -> pd.DataFrame:
        """Every declared have-to-want variable: have_id, want_id, col, per_unit, mode."""
        if not mb.pair_flows:
            return pd.DataFrame(columns=["have_id", "want_id", "col", "per_unit", "mode"])
        return pd.concat([pd.DataFrame({"have_id": p.have_ids, "want_id": p.want_ids, "col": p.cols,
                                        "per_unit": p.per_unit, "mode": p.mode})
                          for p in mb.pair_flows], ignore_index=True)

    def _most(self, have_ids, want_ids) -> np.ndarray:
        q = self._qty
        return np.array([min(q[h], q[w]) for h, w in zip(have_ids, want_ids, strict=True)], float)

    def add_to(self, mb: ModelBuilder) -> None:
        """One row per forbid, cap and force rule; a binary and two rows per min_size link."""
        links = self._links(mb)
        p = self.inventory.params
        self._terms, self._on, self._build, self._build_of = [], [], [], {}
        _, capex_annual = rule_capex(self.rules, p)
        for r, ann in zip(self.rules.itertuples(index=False), capex_annual, strict=True):
            sel = links[links["have_id"].isin(r.have_ids) & links["want_id"].isin(r.want_ids)]
            sel = sel.assign(pair=sel["have_id"].astype(str) + ">" + sel["want_id"].astype(str))
            self._terms.append(sel)
            words = "rule " + rule_text(r)
            cols, coef = sel["col"].to_numpy(np.int64), sel["per_unit"].to_numpy(float)
            k = np.zeros(len(sel), np.int64)
            if r.action == "forbid" and len(sel):
                mb.add_rows(k, cols, coef, -np.inf, 0.0, name=[f"rule_forbid[{r.rule_id}]"])
                self.row_meaning[f"rule_forbid[{r.rule_id}]"] = words
            elif r.action == "cap" and len(sel):
                mb.add_rows(k, cols, coef, -np.inf, float(r.value), name=[f"rule_cap[{r.rule_id}]"])
                self.row_meaning[f"rule_cap[{r.rule_id}]"] = words
            elif r.action == "force":
                if sel.empty:
                    raise ModelError(
                        f"{words} cannot hold: the model has no link from {r.have} to {r.want} in any mode "
                        "(no candidate pair, milk round, water pair or steam let-down; a pair out of reach "
                        "or outside a want's quality range is not offered). Fix: name a pair that "
                        "matching proposes (flowmatch match), or remove the rule.")
                least = float(r.value) if r.value == r.value else \
                    min(max(p.min_synergy_flow, 1.0), float(np.max(self._most(sel["have_id"], sel["want_id"]))))
                mb.add_rows(k, cols, coef, least, np.inf, name=[f"rule_force[{r.rule_id}]"])
                self.row_meaning[f"rule_force[{r.rule_id}]"] = words
            elif r.action == "min_size" and len(sel):
                self._add_min_size(mb, r, sel, words)
            if ann > 0 and len(sel) and r.action != "forbid":
                self._add_build(mb, r, sel, words, float(ann))
        self.row_meaning.update({"rule_forbid": "the expert forbid rule", "rule_cap": "the expert cap rule",
                                 "rule_force": "the expert force rule", "rule_min": "the minimum size rule",
                                 "rule_on_max": "the minimum size rule's switch",
                                 "rule_build_max": "the rule's capital cost switch"})

    def _add_min_size(self, mb: ModelBuilder, r, sel: pd.DataFrame, words: str) -> None:
        pairs, code = np.unique(sel["pair"].to_numpy(str), return_inverse=True)
        first = sel.groupby(code).head(1)
        most = self._most(first["have_id"], first["want_id"])
        n = len(pairs)
        on = mb.add_vars(n, 0.0, 1.0, integer=True, name=[f"rule_on[{r.rule_id}:{pr}]" for pr in pairs])
        cols, coef = sel["col"].to_numpy(np.int64), sel["per_unit"].to_numpy(float)
        k = np.arange(n)
        v = float(r.value)
        mb.add_rows(np.concatenate([code, k]), np.concatenate([cols, on]), np.concatenate([coef, np.full(n, -v)]),
                    0.0, np.inf, name=[f"rule_min[{r.rule_id}:{pr}]" for pr in pairs])
        mb.add_rows(np.concatenate([code, k]), np.concatenate([cols, on]), np.concatenate([coef, -most]),
                    -np.inf, 0.0, name=[f"rule_on_max[{r.rule_id}:{pr}]" for pr in pairs])
        for pr in pairs:
            self.row_meaning[f"rule_min[{r.rule_id}:{pr}]"] = f"{words}, link {pr}"
        self._on.append((on, cols, coef, code))

    def _add_build(self, mb: ModelBuilder, r, sel: pd.DataFrame, words: str, annual: float) -> None:
        """The rule's capital: one binary paying ``annual`` a year, on whenever a pair it covers flows."""
        pairs, code = np.unique(sel["pair"].to_numpy(str), return_inverse=True)
        first = sel.groupby(code).head(1)
        most = self._most(first["have_id"], first["want_id"])
        n = len(pairs)
        build = mb.add_vars(1, 0.0, 1.0, integer=True, name=[f"rule_build[{r.rule_id}]"], cost=np.array([annual]))
        cols, coef = sel["col"].to_numpy(np.int64), sel["per_unit"].to_numpy(float)
        mb.add_rows(np.concatenate([code, np.arange(n)]), np.concatenate([cols, np.repeat(build, n)]),
                    np.concatenate([coef, -most]), -np.inf, 0.0,
                    name=[f"rule_build_max[{r.rule_id}:{pr}]" for pr in pairs])
        for pr in pairs:
            self.row_meaning[f"rule_build_max[{r.rule_id}:{pr}]"] = f"{words}, its capital paid for link {pr}"
        self._build.append((build, cols, coef, code))
        self._build_of[str(r.rule_id)] = int(build[0])

    def warm_start(self, x: np.ndarray) -> None:
        """Switch on every min_size link and every rule's capital the other parts' start runs (the start
        may break a rule: the optimiser then solves without it)."""
        for on, cols, coef, code in self._on:
            flow = np.bincount(code, weights=coef * x[cols], minlength=len(on))
            x[on] = (flow > _TOL).astype(float)
        for build, cols, coef, _ in self._build:
            x[build] = float((coef * x[cols]).sum() > _TOL)

    def flows(self, x: np.ndarray) -> pd.DataFrame:
        """Rules move nothing themselves."""
        return pd.DataFrame(columns=FLOW_COLUMNS)

    def routes(self, x: np.ndarray) -> pd.DataFrame:
        """Rules have no routes."""
        return pd.DataFrame(columns=ROUTE_COLUMNS)

    # ----------------------------------------------------------------- report

    def report(self, x: np.ndarray, marginals: dict[str, float] | None = None) -> pd.DataFrame:
        """One row per rule (:data:`REPORT_COLUMNS`): links it reached, flow under it, binding or not,
        and for a rule with capital its yearly charge (``capex_annual``) and whether the plan builds it.

        ``marginals``: row name -> change of the minimised objective per unit more of
        the row's value (:func:`rule_marginals`); a cap or force without one gets None.
        """
        marginals = marginals or {}
        recs = []
        _, capex_annual = rule_capex(self.rules, self.inventory.params)
        for r, sel, removed, ann in zip(self.rules.itertuples(index=False), self._terms, self._removed,
                                        capex_annual, strict=True):
            q = sel["per_unit"].to_numpy(float) * x[sel["col"].to_numpy(np.int64)] if len(sel) else np.zeros(0)
            flow = float(q.sum())
            value = float(r.value) if r.value == r.value else None
            scale = max(1.0, abs(value or 0.0))
            links = int(sel["pair"].nunique()) if len(sel) else 0
            binding, slack = False, None
            if r.action == "forbid":
                binding = links + removed > 0  # it took links away the plan could have used
            elif r.action == "cap" and value is not None:
                slack = value - flow
                binding = slack <= _TOL * scale
            elif r.action == "force":
                least = value if value is not None else 0.0
                slack = flow - least
                binding = value is not None and slack <= _TOL * scale
            elif r.action == "min_size" and len(sel) and value is not None:
                per = pd.Series(q).groupby(sel["pair"].to_numpy()).sum()
                run = per[per > _TOL]
                slack = float((run - value).min()) if len(run) else None
                binding = bool(len(run)) and bool(((run - value).abs() <= _TOL * scale).any())
            notes = []
            if set(r.have_ids) & self._heat and set(r.want_ids) & self._heat:
                notes.append("heat passed through the heat cascade is not bound by rules, only steam let-down")
            if links == 0 and r.action != "forbid":
                notes.append("no link of the model matches it")
            recs.append({"rule_id": r.rule_id, "action": r.action, "have": r.have, "want": r.want,
                         "value": value, "unit": r.unit, "reason": r.reason, "links": links,
                         "candidates_removed": int(removed), "flow": flow, "binding": bool(binding),
                         "slack": None if slack is None else (0.0 if abs(slack) <= _TOL * scale else float(slack)),
                         "marginal": marginals.get(f"rule_{r.action}[{r.rule_id}]"), "note": "; ".join(notes),
                         "capex_annual": float(ann) if ann > 0 else None,
                         "built": (bool(x[self._build_of[r.rule_id]] > 0.5) if r.rule_id in self._build_of
                                   else False) if ann > 0 else None})
        return pd.DataFrame(recs, columns=REPORT_COLUMNS)


def rule_marginals(model: LinearModel, x: np.ndarray, weights: dict[str, float],
                   time_limit: float) -> dict[str, float]:
    """What one more unit of each cap's or force's value is worth, the plan's yes/no choices held.

    The model is solved once more as an LP with every integer variable fixed at
    its value in ``x``; the dual of each ``rule_cap`` / ``rule_force`` row is the
    change of the minimised objective per unit more of the rule's value
    (negative: a looser cap would save that much; positive: a higher force would
    cost it). Empty when the LP does not solve to optimality in ``time_limit``.
    """
    rows = np.array([i for i, n in enumerate(model.row_names) if n.startswith(("rule_cap[", "rule_force["))],
                    np.int64)
    if len(rows) == 0 or time_limit <= 0:
        return {}
    import highspy

    from flowmatch.milp.highs import new_highs, pass_highs

    fix = model.integrality
    lb = np.where(fix, np.round(x), model.lb)
    ub = np.where(fix, np.round(x), model.ub)
    lp = LinearModel(lb, ub, np.zeros(model.n_vars, bool), model.A, model.row_lb, model.row_ub,
                     model.metrics, model.metric_const, model.var_names, model.row_names)
    c, k = model.objective(weights)
    h = new_highs(time_limit=time_limit)
    pass_highs(h, lp, c, k)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        log.info("rules: no marginal values (the LP with the choices fixed did not solve)")
        return {}
    dual = np.asarray(h.getSolution().row_dual, float)
    return {model.row_names[i]: float(dual[i]) + 0.0 for i in rows}


def rules_report(parts, x: np.ndarray, marginals: dict[str, float] | None = None,
                 flows: pd.DataFrame | None = None) -> list[dict]:
    """The rules section of a plan's summary: :meth:`RulesPart.report` of the rules part, as records.

    With the plan's ``flows``, each record also gets ``flow_in_plan`` (what the plan's
    rows carry from the rule's haves to its wants, every mode) and ``held`` (whether
    those rows keep the rule): they differ from ``flow`` only where the heat cascade,
    which rules do not bind, passes heat between the rule's streams.
    """
    out: list[dict] = []
    for part in parts:
        if isinstance(part, RulesPart):
            for rec, r in zip(part.report(x, marginals).to_dict("records"),
                              part.rules.itertuples(index=False), strict=True):
                rec = {k: (None if isinstance(v, float) and v != v else v) for k, v in rec.items()}
                if flows is not None:
                    rec.update(_held(r, rec, flows))
                out.append(rec)
    return out


def _held(rule, rec: dict, flows: pd.DataFrame) -> dict:
    """``flow_in_plan`` and ``held`` of one rule, read from the plan's flow rows."""
    rows = flows[flows["have_id"].isin(set(rule.have_ids)) & flows["want_id"].isin(set(rule.want_ids))]
    q = float(rows["quantity"].sum())
    value = rec.get("value")
    tol = _TOL * max(1.0, abs(value or 0.0))
    if rule.action == "forbid":
        held = q <= tol
    elif rule.action == "cap" and value is not None:
        held = q <= value + tol
    elif rule.action == "min_size" and value is not None:
        per = rows.groupby(["have_id", "want_id"])["quantity"].sum()
        held = bool(((per <= tol) | (per >= value - tol)).all())
    else:  # force: the model row holds it on the links it reaches
        held = True
    return {"flow_in_plan": q, "held": bool(held)}


def _build(ctx: PartContext, resource_ids: list[str]) -> list[RulesPart]:
    if ctx.inventory.rules is None or ctx.inventory.rules.empty:
        return []
    return [RulesPart(ctx.inventory, ctx.candidates)]


#: Rules own no balance: they join after every part that moves a have to a want.
KIND = PartKind("rules", build=_build, joins=True)
