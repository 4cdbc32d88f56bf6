"""Expert rules: the ``rules`` table of an inventory, checked and resolved to resources.

A rule says what an engineer knows and the data does not: ``forbid`` a have
going to a want, ``force`` it, ``cap`` what may go, or set a ``min_size`` below
which a link is not worth building. ``have`` and ``want`` each name

- a resource (its ``resource_id``; a have in ``have``, a want in ``want``),
- ``site:ID``, every have (or want) of that site,
- a type code, every have (or want) of that type or below it in the taxonomy
  (``ewc:10`` is the whole List of Wastes chapter 10), or
- ``*``, every have (or want).

A name that is both a resource id and a type is the resource. ``value`` is in
the base unit of the flows (t, m3 or MWh a year): the most all the flows the
rule matches may carry together (``cap``), the least they carry together
(``force``; blank: some flow on at least one link), or the least each link
from one have to one want carries if it runs at all (``min_size``). A rule other
than ``forbid`` may carry ``capex`` (with ``lifetime_years``): what its flows
need built, paid once when any of them runs (:mod:`flowmatch.milp.rules`,
:func:`flowmatch.milp.capex.rule_capex`).

:func:`read_rules` checks the table against the inventory and returns it with
the ids each rule matches (``have_ids``, ``want_ids``) and where each rule came
from (``file``, ``row``, for errors raised later); rules that contradict each
other are reported naming both rows. Matching drops forbidden candidates and
adds forced pairs (:mod:`flowmatch.matching.rules`); the optimiser obeys them
(:mod:`flowmatch.milp.rules`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from flowmatch.errors import InputProblem
from flowmatch.inputs.problems import _Problems, _Table
from flowmatch.inputs.taxonomy import Taxonomy
from flowmatch.inputs.units import BASE_UNIT

__all__ = ["RULE_COLUMNS", "ACTIONS", "read_rules", "empty_rules", "rule_text"]

ACTIONS = ("forbid", "force", "cap", "min_size")
#: The normalised rules' columns (``Inventory.rules``).
RULE_COLUMNS = ["rule_id", "action", "have", "want", "value", "unit", "reason", "file", "row",
                "have_ids", "want_ids", "capex", "lifetime_years"]
ANY = "*"
_FLOAT_COLUMNS = ("value", "capex", "lifetime_years")
SITE = "site:"


def empty_rules() -> pd.DataFrame:
    """No rules, with the normalised columns."""
    return pd.DataFrame({c: pd.Series([], dtype=float if c in _FLOAT_COLUMNS else object) for c in RULE_COLUMNS})


def rule_text(rule) -> str:
    """``R3 (force H1 -> W1, at least 5,000 t a year: contract)``: a rule in words, for messages.

    ``rule`` is a row of the normalised rules (a Series, a dict or an ``itertuples`` row).
    """
    r = rule._asdict() if hasattr(rule, "_asdict") else rule
    v = r["value"]
    amount = ""
    if v is not None and v == v:  # not NaN
        word = "at most" if r["action"] == "cap" else "at least"
        amount = f", {word} {float(v):,.6g} {r['unit']} a year" + (" per link" if r["action"] == "min_size" else "")
    reason = f": {r['reason']}" if r["reason"] else ""
    return f"{r['rule_id']} ({r['action']} {r['have']} -> {r['want']}{amount}{reason})"


class _Index:
    """The resources grouped the ways a rule names them (built once per rules table)."""

    def __init__(self, res: pd.DataFrame, site_ids, taxonomy: Taxonomy):
        self.taxonomy = taxonomy
        self.sites = {str(s) for s in site_ids}
        ids = res["resource_id"].astype(str).to_numpy()
        self.role = dict(zip(ids, res["role"].astype(str), strict=True))
        self.all: dict[str, list[str]] = {}
        self.by_site: dict[tuple[str, str], list[str]] = {}
        self.by_type: dict[tuple[str, str], list[str]] = {}
        for rid, role, site, typ in zip(ids, res["role"].astype(str), res["site_id"].astype(str),
                                        res["type"].astype(str), strict=True):
            self.all.setdefault(role, []).append(rid)
            self.by_site.setdefault((role, site), []).append(rid)
            self.by_type.setdefault((role, typ), []).append(rid)
        self.types = {t for _, t in self.by_type}
        self._below: dict[str, set[str]] = {}

    def below(self, spec: str) -> set[str]:
        """The resources' types that are ``spec`` or lie below it in the taxonomy."""
        if spec not in self._below:
            self._below[spec] = {t for t in self.types if t == spec or spec in self.taxonomy.ancestors(t)}
        return self._below[spec]

    def resolve(self, spec: str, role: str) -> tuple[list[str] | None, str]:
        """The ids of the ``role`` resources ``spec`` names, or ``None`` and why not."""
        if spec == ANY:
            return list(self.all.get(role, [])), ""
        if spec.lower().startswith(SITE):
            site = spec[len(SITE):]
            if site not in self.sites:
                return None, f"site '{site}' is not in the sites table."
            return list(self.by_site.get((role, site), [])), ""
        if spec in self.role:
            if self.role[spec] != role:
                return None, f"'{spec}' is a {self.role[spec]}, not a {role}."
            return [spec], ""
        if spec not in self.taxonomy and spec not in self.types:
            return None, f"'{spec}' is neither a resource id, a type code, site:ID nor *."
        return [rid for t in sorted(self.below(spec)) for rid in self.by_type.get((role, t), [])], ""


def read_rules(t: _Table, cols: dict, resources: pd.DataFrame, site_ids, taxonomy: Taxonomy,
               P: _Problems, warnings: list[str]) -> pd.DataFrame:
    """Check the ``rules`` table ``t`` (its checked columns ``cols``) and resolve it.

    Problems (unknown names, a value missing or out of place, a rule that can
    never hold, two rules that contradict each other) go to ``P``, each naming
    the file, row and column; a rule that matches no pair is a warning.
    """
    from flowmatch.inputs.assemble import _assemble

    if not all(c in cols for c in ("rule_id", "action", "have", "want")):
        return empty_rules()
    df = _assemble(t, cols, {})
    df["row"] = np.asarray(t.rows, dtype=np.int64)[: len(df)]
    df["file"] = t.label
    res = resources
    cat = dict(zip(res["resource_id"], res["category"], strict=True))
    index = _Index(res, site_ids, taxonomy)
    out = []
    for r in df.itertuples(index=False):
        row = int(r.row)
        bad = False
        ids = {}
        for col, role in (("have", "have"), ("want", "want")):
            spec = str(getattr(r, col)).strip()
            got, why = index.resolve(spec, role)
            if got is None:
                fix = (f"Name a {role}'s resource_id, a type code (ewc:10 for a whole chapter), "
                       f"site:ID or * in '{col}'.")
                P.items.append(InputProblem(t.label, row, col, why, fix))
                bad = True
            ids[col] = tuple(sorted(got or []))
        action = str(r.action)
        value = float(r.value) if r.value == r.value else np.nan
        if action in ("cap", "min_size") and np.isnan(value):
            P.items.append(InputProblem(t.label, row, "value", f"a {action} rule needs a value.",
                                        "Give the amount in t, m3 or MWh a year."))
            bad = True
        if action == "forbid" and not np.isnan(value):
            P.items.append(InputProblem(t.label, row, "value", "a forbid rule takes no value.",
                                        "Leave 'value' empty, or make it a cap."))
            bad = True
        if action in ("force", "min_size") and value == 0:
            P.items.append(InputProblem(t.label, row, "value", f"a {action} of 0 says nothing.",
                                        "Give an amount above 0, or leave it empty for force."))
            bad = True
        capex = _number(getattr(r, "capex", None))
        life = _number(getattr(r, "lifetime_years", None))
        if action == "forbid" and capex > 0:
            P.items.append(InputProblem(t.label, row, "capex", "a forbid rule lets nothing flow, so it "
                                        "builds nothing and takes no capex.",
                                        "Leave 'capex' empty, or make the rule a cap (the unit's capacity)."))
            bad = True
        if bad or action not in ACTIONS:
            continue
        # a resource whose category is itself wrong (reported already) takes no part
        cats = ({cat[h] for h in ids["have"]} & {cat[w] for w in ids["want"]}) & set(BASE_UNIT)
        if not cats:
            msg = (f"no have it names ({r.have}) can go to a want it names ({r.want}): "
                   + ("one side names no resource." if not ids["have"] or not ids["want"]
                      else "they are of different categories."))
            if action == "force":
                P.items.append(InputProblem(t.label, row, "have", f"the force rule can never hold: {msg}",
                                            "Name haves and wants of one category, or remove the rule."))
                continue
            warnings.append(f"{t.label} row {row}: rule {r.rule_id} matches no pair: {msg}")
        if len(cats) > 1 and not np.isnan(value):
            P.items.append(InputProblem(
                t.label, row, "value", f"the rule matches flows of several units "
                f"({', '.join(sorted(BASE_UNIT[c] for c in cats))}), so one value cannot apply.",
                "Narrow 'have' or 'want' to one category (a type code, or resource ids)."))
            continue
        unit = BASE_UNIT[next(iter(cats))] if len(cats) == 1 else ""
        out.append({"rule_id": str(r.rule_id), "action": action, "have": str(r.have).strip(),
                    "want": str(r.want).strip(), "value": value, "unit": unit,
                    "reason": "" if r.reason is None or r.reason != r.reason else str(r.reason),
                    "file": t.label, "row": row, "have_ids": ids["have"], "want_ids": ids["want"],
                    "capex": capex, "lifetime_years": life if life > 0 else np.nan})
    rules = pd.DataFrame(out, columns=RULE_COLUMNS) if out else empty_rules()
    _contradictions(rules, P)
    return rules


def _number(v) -> float:
    """A checked optional number cell as a float (0 when empty)."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return 0.0
    return f if f == f else 0.0


def _contradictions(rules: pd.DataFrame, P: _Problems) -> None:
    """Report pairs of rules that cannot both hold, naming both rows.

    Only a force or min_size rule can clash, and only with a forbid or cap
    whose pairs include all of its own.
    """
    rs = list(rules.itertuples(index=False))
    sets = {id(r): (frozenset(r.have_ids), frozenset(r.want_ids)) for r in rs}
    limits = [b for b in rs if b.action in ("forbid", "cap")]

    def within(a, b) -> bool:
        return sets[id(a)][0] <= sets[id(b)][0] and sets[id(a)][1] <= sets[id(b)][1]

    def clash(a, b, why: str, fix: str) -> None:
        P.items.append(InputProblem(a.file, a.row, "action",
                                    f"rule {a.rule_id} contradicts rule {b.rule_id} (row {b.row}): {why}", fix))

    for a in (r for r in rs if r.action in ("force", "min_size")):
        for b in limits:
            if not within(a, b):
                continue
            if a.action == "force" and b.action == "forbid":
                clash(a, b, f"it forces flows from {a.have} to {a.want} that rule {b.rule_id} forbids.",
                      "Remove one of the two rules, or narrow the forbid.")
            elif a.action == "force" and b.action == "cap" \
                    and (b.value == 0 or (a.value == a.value and a.value > b.value)):
                least = f"{a.value:,.6g}" if a.value == a.value else "some flow"
                clash(a, b, f"it forces at least {least} {a.unit} a year where rule {b.rule_id} "
                      f"caps the flow at {b.value:,.6g} {b.unit}.",
                      "Lower the force or raise the cap.")
            elif a.action == "min_size" and b.action == "cap" and a.value > b.value:
                clash(a, b, f"its minimum size {a.value:,.6g} {a.unit} is above the cap of "
                      f"{b.value:,.6g} {b.unit} of rule {b.rule_id}, so no such link could ever run.",
                      "Write a forbid rule if that is meant, or change one of the values.")
