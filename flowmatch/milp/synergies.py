"""The direct-synergy part of the MILP: which candidate pairs to run, and how much.

For the resources it owns, :class:`SynergyPart` adds to the shared
:class:`~flowmatch.milp.builder.ModelBuilder`:

* a flow variable ``flow[H>W]`` per candidate pair (0 .. min(supply, demand));
* a binary ``use[H>W]`` per pair that carries a fixed yearly cost or a minimum
  economic flow, linked by ``link_max`` (flow <= M * use) and ``link_min``
  (flow >= ``min_synergy_flow`` * use) rows;
* a ``disposal[H]`` variable per have and a ``virgin[W]`` variable per want;
* balance rows ``have[H]`` (flows + disposal = supply) and ``want[W]``
  (flows + virgin = demand), declared on the builder
  (:meth:`~flowmatch.milp.builder.ModelBuilder.declare_balances`) so that other
  parts (milk rounds) can add their own collections to them;
* blending rows ``blend_max[W:prop]`` / ``blend_min[W:prop]`` where a want has
  a range on a property and some candidate have lies outside it: the flow-
  weighted mean of the haves' values must stay within the range (haves without
  a value for that property are taken to meet it);
* ``suppliers[W]`` rows capping the haves per want at
  ``params.max_suppliers_per_want`` (when that is above 0).

Metrics per unit (see :mod:`flowmatch.milp.costs`): a flow costs transport by
distance and category (times an infrastructure factor) and emits transport
CO2; a binary costs the fixed yearly cost (``fixed_cost_synergy``,
``byproduct_fixed_cost`` for a have marked ``byproduct``; for water a pipe and
for energy a heat link, both priced by distance); disposal and virgin supply
cost and emit what they do today. The carbon price times CO2 is part of cost;
landfill (t) counts the disposal of landfilled material.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from flowmatch.inputs.inventory import Inventory
from flowmatch.milp.builder import ModelBuilder
from flowmatch.milp.capex import have_capex
from flowmatch.milp.costs import (
    carbon_cost,
    disposal_terms,
    infrastructure_factors,
    link_fixed_cost,
    transport_rates,
    virgin_terms,
)
from flowmatch.milp.part import PartContext, PartKind
from flowmatch.plans.plan import DISPOSAL, FLOW_COLUMNS, ROUTE_COLUMNS, VIRGIN

__all__ = ["SynergyPart", "KIND"]

log = logging.getLogger(__name__)

#: Flows below this (base units per year) are reported as zero.
FLOW_TOL = 1e-9


def _names(prefix: str, labels) -> list[str]:
    return [f"{prefix}[{a}]" for a in labels]


class SynergyPart:
    """Direct synergies between haves and wants (see the module docstring).

    Parameters
    ----------
    inventory : Inventory
    candidates : pandas.DataFrame
        As :func:`flowmatch.matching.candidates.match` returns them (``have_id``,
        ``want_id``, ``distance_km`` at least). Pairs whose have or want this
        part does not own, or that cannot carry ``min_synergy_flow``, are left out.
    resource_ids : iterable of str, optional
        The resources whose balance this part owns (default: all).
    """

    name = "synergies"
    row_meaning = {
        "have": "the supply balance of have",
        "want": "the demand balance of want",
        "link_max": "the most a synergy can carry,",
        "link_min": "the minimum economic flow of synergy",
        "blend_max": "the blend's maximum at want",
        "blend_min": "the blend's minimum at want",
        "suppliers": "the cap on suppliers of want",
    }

    def __init__(self, inventory: Inventory, candidates: pd.DataFrame, resource_ids=None):
        self.inventory = inventory
        self.params = p = inventory.params
        res = inventory.resources
        if resource_ids is not None:
            res = res[res["resource_id"].isin(set(resource_ids))]
        self.haves = res[res["role"] == "have"].reset_index(drop=True)
        self.wants = res[res["role"] == "want"].reset_index(drop=True)
        self._ids = res["resource_id"].tolist()

        hidx = pd.Index(self.haves["resource_id"])
        widx = pd.Index(self.wants["resource_id"])
        c = candidates.drop_duplicates(["have_id", "want_id"])
        h = hidx.get_indexer(c["have_id"])
        w = widx.get_indexer(c["want_id"])
        keep = (h >= 0) & (w >= 0)
        c, h, w = c[keep], h[keep], w[keep]
        supply = self.haves["quantity"].to_numpy(float)
        demand = self.wants["quantity"].to_numpy(float)
        big_m = np.minimum(supply[h], demand[w])
        ok = (big_m > 0) & (big_m >= p.min_synergy_flow)
        if (~ok).any():
            log.debug("%s: %d candidate pairs cannot carry the minimum flow", self.name, int((~ok).sum()))
        self.pairs = pd.DataFrame({
            "h": h[ok], "w": w[ok], "big_m": big_m[ok],
            "distance_km": c["distance_km"].to_numpy(float)[ok],
        })
        self._have_ids = self.haves["resource_id"].to_numpy(dtype=object)
        self._want_ids = self.wants["resource_id"].to_numpy(dtype=object)
        #: ``HAVE>WANT`` of each pair, for variable and row names
        self.pair_labels = [f"{a}>{b}" for a, b in zip(self._have_ids[h[ok]], self._want_ids[w[ok]],
                                                          strict=True)]
        self._price()

    # ------------------------------------------------------------------ pricing

    def _price(self) -> None:
        p, pr, hv, wt = self.params, self.pairs, self.haves, self.wants
        h, w = pr["h"].to_numpy(), pr["w"].to_numpy()
        cat = hv["category"].to_numpy()[h]
        d = np.nan_to_num(pr["distance_km"].to_numpy(float))
        rate, co2_rate = transport_rates(cat, p)
        tf, ff = infrastructure_factors(self.inventory, hv["site_id"].to_numpy()[h],
                                        wt["site_id"].to_numpy()[w], cat)
        pr["co2_unit"] = d * co2_rate
        pr["cost_unit"] = d * rate * tf + carbon_cost(pr["co2_unit"].to_numpy(), p)
        byp = hv["byproduct"].to_numpy(bool)[h] if "byproduct" in hv else np.zeros(len(pr), bool)
        fixed = np.where(byp, p.byproduct_fixed_cost, p.fixed_cost_synergy)
        piped = link_fixed_cost(cat, d, p)
        fixed = np.where(np.isnan(piped), fixed, piped)
        pr["fixed"] = fixed * ff + have_capex(self.inventory, self._have_ids[h])[1]  # capital, annualised
        dc, dco2, land = disposal_terms(hv, p)
        self.disp_co2 = dco2
        self.disp_cost = dc + carbon_cost(dco2, p)
        self.disp_landfill = land
        vc, vco2 = virgin_terms(wt, p)
        self.virgin_co2 = vco2
        self.virgin_cost = vc + carbon_cost(vco2, p)
        self._blend = self._blend_terms()
        K = p.max_suppliers_per_want
        crowded = np.zeros(len(wt), bool)
        if K > 0:
            crowded = np.bincount(w, minlength=len(wt)) > K
        self._crowded = crowded
        pr["binary"] = (pr["fixed"].to_numpy() > 0) | (p.min_synergy_flow > 0) | crowded[w]

    def _blend_terms(self) -> pd.DataFrame:
        """(pair, want, property, coef, sense) for every blending row that can bind."""
        props = self.inventory.properties
        cols = ["pair", "w", "property", "coef", "sense"]
        if len(props) == 0 or len(self.pairs) == 0:
            return pd.DataFrame(columns=cols)
        w_of = pd.Index(self._want_ids).get_indexer(props["resource_id"])
        h_of = pd.Index(self._have_ids).get_indexer(props["resource_id"])
        rng = props.assign(w=w_of)[(w_of >= 0) & (props["min"].notna() | props["max"].notna()).to_numpy()]
        val = props.assign(h=h_of)[(h_of >= 0) & props["value"].notna().to_numpy()]
        if len(rng) == 0 or len(val) == 0:
            return pd.DataFrame(columns=cols)
        pr = self.pairs[["h", "w"]].assign(pair=np.arange(len(self.pairs)))
        m = pr.merge(rng[["w", "property", "min", "max"]], on="w")
        m = m.merge(val[["h", "property", "value"]], on=["h", "property"])
        out = []
        for bound, sense in (("max", "max"), ("min", "min")):
            s = m[m[bound].notna()].assign(coef=lambda d, b=bound: d["value"] - d[b], sense=sense)
            viol = s["coef"] > 0 if sense == "max" else s["coef"] < 0
            binding = s.loc[viol, ["w", "property"]].drop_duplicates()
            out.append(s.merge(binding, on=["w", "property"])[cols])
        return pd.concat(out, ignore_index=True)

    # ------------------------------------------------------------------ ModelPart

    def resource_ids(self) -> list[str]:
        """Ids of the haves and wants whose balance this part owns."""
        return list(self._ids)

    def add_to(self, mb: ModelBuilder) -> None:
        """Add flows, binaries, disposal, virgin supply and their rows to ``mb``."""
        pr, hv, wt, p = self.pairs, self.haves, self.wants, self.params
        n, H, W = len(pr), len(hv), len(wt)
        h, w = pr["h"].to_numpy(), pr["w"].to_numpy()
        lab = self.pair_labels
        self.x_idx = mb.add_vars(n, 0.0, pr["big_m"].to_numpy(), name=_names("flow", lab),
                                 cost=pr["cost_unit"].to_numpy(), co2=pr["co2_unit"].to_numpy())
        binary = pr["binary"].to_numpy()
        self.bin_pairs = np.flatnonzero(binary)
        nb = len(self.bin_pairs)
        bin_lab = lab if nb == n else [lab[i] for i in self.bin_pairs]
        self.y_idx = mb.add_vars(nb, 0.0, 1.0, integer=True, name=_names("use", bin_lab),
                                 cost=pr["fixed"].to_numpy()[self.bin_pairs])
        supply = hv["quantity"].to_numpy(float)
        demand = wt["quantity"].to_numpy(float)
        self.d_idx = mb.add_vars(H, 0.0, supply, name=_names("disposal", self._have_ids),
                                 cost=self.disp_cost, co2=self.disp_co2, landfill=self.disp_landfill)
        self.v_idx = mb.add_vars(W, 0.0, demand, name=_names("virgin", self._want_ids),
                                 cost=self.virgin_cost, co2=self.virgin_co2)
        # balances
        rows_h = mb.add_rows(np.concatenate([h, np.arange(H)]), np.concatenate([self.x_idx, self.d_idx]),
                             np.ones(n + H), supply, supply, name=_names("have", self._have_ids))
        rows_w = mb.add_rows(np.concatenate([w, np.arange(W)]), np.concatenate([self.x_idx, self.v_idx]),
                             np.ones(n + W), demand, demand, name=_names("want", self._want_ids))
        mb.declare_balances(self._have_ids, rows_h, self.d_idx, self.name)
        mb.declare_balances(self._want_ids, rows_w, self.v_idx, self.name)
        mb.declare_pair_flows(self._have_ids[h], self._want_ids[w], self.x_idx, 1.0, "direct", self.name)
        # linking flow and binary
        if nb:
            bp = self.bin_pairs
            k = np.arange(nb)
            xs, ys = self.x_idx[bp], self.y_idx
            mb.add_rows(np.concatenate([k, k]), np.concatenate([xs, ys]),
                        np.concatenate([np.ones(nb), -pr["big_m"].to_numpy()[bp]]), -np.inf, 0.0,
                        name=_names("link_max", bin_lab))
            mb.add_rows(np.concatenate([k, k]), np.concatenate([xs, ys]),
                        np.concatenate([np.ones(nb), np.full(nb, -p.min_synergy_flow)]), 0.0, np.inf,
                        name=_names("link_min", bin_lab))
        # blending
        bl = self._blend
        if len(bl):
            key = bl["w"].astype(str) + ":" + bl["property"] + ":" + bl["sense"]
            codes, uniq = pd.factorize(key)
            first = bl.groupby(codes).head(1)
            names = [f"blend_{s}[{self._want_ids[int(ww)]}:{prop}]"
                     for ww, prop, s in zip(first["w"], first["property"], first["sense"], strict=True)]
            sense = first["sense"].to_numpy()
            mb.add_rows(codes, self.x_idx[bl["pair"].to_numpy(int)], bl["coef"].to_numpy(float),
                        np.where(sense == "min", 0.0, -np.inf), np.where(sense == "max", 0.0, np.inf),
                        name=names)
        # suppliers per want
        if self._crowded.any():
            K = p.max_suppliers_per_want
            crowded_w = np.flatnonzero(self._crowded)
            local = pd.Index(crowded_w).get_indexer(w[self.bin_pairs])
            sel = local >= 0
            mb.add_rows(local[sel], self.y_idx[sel], np.ones(int(sel.sum())), -np.inf, float(K),
                        name=_names("suppliers", self._want_ids[crowded_w]))

    def warm_start(self, x: np.ndarray) -> None:
        """Greedy plan: best net saving per unit first, each pair as much as it can carry.

        A pair is taken when it carries at least the minimum flow, its saving
        pays its fixed cost, its have lies within the want's property ranges
        (so every blend holds) and the want has room for another supplier.
        Always feasible: what no pair takes is disposed or bought virgin.
        """
        pr, p = self.pairs, self.params
        h, w = pr["h"].to_numpy(), pr["w"].to_numpy()
        saving = self.disp_cost[h] + self.virgin_cost[w] - pr["cost_unit"].to_numpy()
        bad = np.zeros(len(pr), bool)
        if len(self._blend):
            viol = self._blend.loc[np.where(self._blend["sense"] == "max", self._blend["coef"] > 0,
                                            self._blend["coef"] < 0), "pair"]
            bad[viol.to_numpy(int)] = True
        fixed = pr["fixed"].to_numpy()
        binary = pr["binary"].to_numpy()
        K = p.max_suppliers_per_want if p.max_suppliers_per_want > 0 else np.iinfo(np.int64).max
        rem_s = self.haves["quantity"].to_numpy(float).copy()
        rem_d = self.wants["quantity"].to_numpy(float).copy()
        n_sup = np.zeros(len(rem_d), np.int64)
        flow = np.zeros(len(pr))
        for i in np.argsort(-saving, kind="stable"):
            if saving[i] <= 0:
                break
            if bad[i] or n_sup[w[i]] >= K:
                continue
            q = min(rem_s[h[i]], rem_d[w[i]])
            if q <= 0 or (binary[i] and (q < p.min_synergy_flow or q * saving[i] <= fixed[i])):
                continue
            flow[i] = q
            rem_s[h[i]] -= q
            rem_d[w[i]] -= q
            n_sup[w[i]] += 1
        x[self.x_idx] = flow
        x[self.y_idx] = (flow[self.bin_pairs] > 0).astype(float)
        x[self.d_idx] = rem_s
        x[self.v_idx] = rem_d

    def flows(self, x: np.ndarray) -> pd.DataFrame:
        """Used pairs (mode ``direct``), then disposal and virgin rows; ``cost`` includes carbon."""
        pr, hv, wt = self.pairs, self.haves, self.wants
        q = x[self.x_idx]
        used = q > FLOW_TOL
        fixed = np.zeros(len(pr))
        fixed[self.bin_pairs] = pr["fixed"].to_numpy()[self.bin_pairs] * x[self.y_idx]
        unit = hv["unit"].to_numpy()
        h, w = pr["h"].to_numpy(), pr["w"].to_numpy()
        direct = pd.DataFrame({
            "have_id": self._have_ids[h[used]], "want_id": self._want_ids[w[used]],
            "quantity": q[used], "unit": unit[h[used]], "mode": "direct",
            "route_id": "", "distance_km": pr["distance_km"].to_numpy(float)[used],
            "cost": (q * pr["cost_unit"].to_numpy() + fixed)[used],
            "co2_kg": (q * pr["co2_unit"].to_numpy())[used],
        })
        d = x[self.d_idx]
        dm = d > FLOW_TOL
        disp = pd.DataFrame({
            "have_id": self._have_ids[dm], "want_id": DISPOSAL, "quantity": d[dm],
            "unit": unit[dm], "mode": "disposal", "route_id": "", "distance_km": 0.0,
            "cost": (d * self.disp_cost)[dm], "co2_kg": (d * self.disp_co2)[dm],
        })
        v = x[self.v_idx]
        vm = v > FLOW_TOL
        virgin = pd.DataFrame({
            "have_id": VIRGIN, "want_id": self._want_ids[vm], "quantity": v[vm],
            "unit": wt["unit"].to_numpy()[vm], "mode": "virgin", "route_id": "", "distance_km": 0.0,
            "cost": (v * self.virgin_cost)[vm], "co2_kg": (v * self.virgin_co2)[vm],
        })
        parts = [df for df in (direct, disp, virgin) if len(df)]
        if not parts:
            return pd.DataFrame(columns=FLOW_COLUMNS)
        return pd.concat(parts, ignore_index=True)[FLOW_COLUMNS]

    def routes(self, x: np.ndarray) -> pd.DataFrame:
        """Direct synergies have no routes."""
        return pd.DataFrame(columns=ROUTE_COLUMNS)


def _build(ctx: PartContext, resource_ids: list[str]) -> list[SynergyPart]:
    return [SynergyPart(ctx.inventory, ctx.candidates, resource_ids=resource_ids)]


#: Direct synergies own every resource no other part kind takes.
KIND = PartKind("synergies", build=_build, default=True)
