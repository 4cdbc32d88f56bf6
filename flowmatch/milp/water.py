"""The water cascade: graded reuse of water under contaminant limits.

Every water resource of an inventory joins one network model. Haves are
*sources* (a yearly flow at fixed contaminant concentrations, a property's
``value``), wants are *sinks* (a yearly flow with a maximum inlet concentration
per contaminant, a property's ``max``). Contaminants are the properties whose
name ends in ``_ppm`` or ``_mg_l`` (1 mg/l is taken as 1 ppm, so ``cod_ppm`` and
``cod_mg_l`` are one contaminant, ``cod``).

Decisions (all flows in m3 per year):

- ``f[i, j]`` source to sink directly, ``g[i, j]`` source to sink through the
  optional regeneration unit (each contaminant reduced by
  ``regeneration_removal``, priced ``regeneration_cost_m3``; the unit is offered
  only when that price is above 0);
- ``fresh[j]`` fresh water into sink ``j`` (the virgin supply, priced by the
  sink's ``cost`` or ``fresh_water_price``; its concentration is the sink's
  property ``value``, 0 by default);
- ``waste[i]`` wastewater of source ``i`` (priced by the source's ``cost`` or
  ``wastewater_price``);
- ``pipe[a, b]`` a binary per ordered pair of sites at a positive distance,
  with a fixed yearly cost ``pipe_fixed_cost + pipe_cost_km * km``; pumping costs
  ``transport_cost_m3_km`` per m3-km. Sites at zero distance need no pipe.

Seasonal sources and sinks (``months``), batch sources (``frequency``) and
tanks (``storage_m3``) make the model one of periods of the year, built in
:mod:`flowmatch.milp.water_periods`; with every stream all year it is the one
below, in m3 per year.

Rows: each source's flow is reused or wasted; each sink's flow is met; at each
sink, the load of every limited contaminant is at most its maximum times the
flow (linear, since source concentrations are fixed); a pipe carries flow only
when built. A sink that no mix of sources and fresh water can meet is reported
by name (:class:`~flowmatch.errors.ModelError`) before anything is solved.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd

from flowmatch.errors import InventoryError, ModelError
from flowmatch.geo import site_pairs_within
from flowmatch.inputs.inventory import Inventory
from flowmatch.inputs.requirements import water_problems
from flowmatch.milp.builder import ModelBuilder
from flowmatch.milp.costs import (
    carbon_cost,
    disposal_terms,
    infrastructure_factors,
    link_fixed_cost,
    transport_rates,
    virgin_terms,
)
from flowmatch.milp.options import SolveBudget, SolveOptions
from flowmatch.milp.part import PartContext, PartKind
from flowmatch.milp.water_arcs import (
    ALLOWED,
    FORBIDDEN,
    arc_rules,
    assumed_flows,
    with_class_limits,
)
from flowmatch.milp.water_periods import (
    add_water_rows,
    period_infeasible_sinks,
    period_pair_flows,
    rhythm_keep,
    water_period_flows,
    water_periods,
    water_warm_start,
)
from flowmatch.plans.plan import DISPOSAL, FLOW_COLUMNS, ROUTE_COLUMNS, VIRGIN

__all__ = ["WaterPart", "WaterStreams", "water_streams", "water_resource_ids", "check_water_network", "contaminant_of",
           "CONCENTRATION_SUFFIXES", "KIND"]

log = logging.getLogger(__name__)

CONCENTRATION_SUFFIXES = ("_ppm", "_mg_l")
_TOL = 1e-9


def contaminant_of(prop: str) -> str | None:
    """Contaminant named by a property (``cod_mg_l`` -> ``cod``), or ``None``."""
    for suffix in CONCENTRATION_SUFFIXES:
        if prop.endswith(suffix) and len(prop) > len(suffix):
            return prop[: -len(suffix)]
    return None


@dataclass(frozen=True)
class WaterStreams:
    """The water sources and sinks of an inventory, as arrays.

    Attributes
    ----------
    contaminants : list of str
    src_ids, src_sites : ndarray of str
    src_flow : ndarray, shape (n_src,)
        m3 per year.
    src_conc : ndarray, shape (n_src, n_c)
        ppm; NaN where the source gives no value for that contaminant.
    src_price, src_co2 : ndarray
        Wastewater price (carbon included, :mod:`flowmatch.milp.costs`) and kg CO2e
        per m3 of each source.
    src_reach : ndarray
        Farthest a source's water is piped, km.
    snk_ids, snk_sites, snk_flow : as for sources
    snk_max : ndarray, shape (n_snk, n_c)
        Maximum inlet concentration, ppm; ``inf`` where the sink sets no limit.
    snk_fresh : ndarray, shape (n_snk, n_c)
        Concentration of the fresh water the sink takes (its ``value``, else 0).
    snk_price, snk_co2, snk_reach : ndarray
        Fresh-water price (carbon included) and kg CO2e per m3, and reach, of each sink.
    src_mask, snk_mask, src_freq, snk_freq : ndarray
        Months (12-bit ``month_mask``) and ``frequency`` of each source and sink.
    src_storage : ndarray
        Tank of each source, m3 (``storage_m3``; 0 for none), see
        :mod:`flowmatch.milp.water_periods`.
    """

    contaminants: list[str]
    src_ids: np.ndarray
    src_sites: np.ndarray
    src_flow: np.ndarray
    src_conc: np.ndarray
    src_price: np.ndarray
    src_co2: np.ndarray
    src_reach: np.ndarray
    snk_ids: np.ndarray
    snk_sites: np.ndarray
    snk_flow: np.ndarray
    snk_max: np.ndarray
    snk_fresh: np.ndarray
    snk_price: np.ndarray
    snk_co2: np.ndarray
    snk_reach: np.ndarray
    src_mask: np.ndarray
    snk_mask: np.ndarray
    src_freq: np.ndarray
    snk_freq: np.ndarray
    src_storage: np.ndarray

    @property
    def n_src(self) -> int:
        return len(self.src_ids)

    @property
    def n_snk(self) -> int:
        return len(self.snk_ids)


def _or_default(values: pd.Series, default: float) -> np.ndarray:
    v = values.to_numpy(dtype=float)
    return np.where(np.isnan(v), default, v)


def water_streams(inv: Inventory, resource_ids: list[str] | None = None) -> WaterStreams:
    """Read the water sources and sinks of ``inv`` (all, or those in ``resource_ids``).

    Raises
    ------
    InventoryError
        A water resource without any contaminant concentration (a source
        without a ``value``, a sink without a ``max``), naming each one.
    """
    res = inv.resources
    water = res[res["category"] == "water"]
    if resource_ids is not None:
        water = water[water["resource_id"].isin(resource_ids)]
    p = inv.params
    props = inv.properties
    props = props[props["resource_id"].isin(water["resource_id"])].copy()
    props["contaminant"] = props["property"].map(contaminant_of)
    props = props[props["contaminant"].notna()]
    contaminants = sorted(props["contaminant"].unique().tolist())
    # several spellings of one contaminant: the dirtier value, the stricter maximum
    value = props.pivot_table(index="resource_id", columns="contaminant", values="value", aggfunc="max")
    vmax = props.pivot_table(index="resource_id", columns="contaminant", values="max", aggfunc="min")
    value = value.reindex(index=water["resource_id"], columns=contaminants)
    vmax = with_class_limits(inv, water, vmax.reindex(index=water["resource_id"], columns=contaminants))
    contaminants = vmax.columns.tolist()  # the sinks' class limits may add contaminants
    value = value.reindex(columns=contaminants)

    is_src = (water["role"] == "have").to_numpy()
    problems = water_problems(inv, resource_ids)  # the same check `flowmatch validate` runs
    if problems:
        raise InventoryError(problems)

    src = water[is_src]
    snk = water[~is_src]
    src_conc = value.to_numpy(dtype=float)[is_src]
    snk_max = vmax.to_numpy(dtype=float)[~is_src]
    snk_max = np.where(np.isnan(snk_max), np.inf, snk_max)
    snk_fresh = value.to_numpy(dtype=float)[~is_src]
    snk_fresh = np.where(np.isnan(snk_fresh), 0.0, snk_fresh)
    src_cost, src_co2, _ = disposal_terms(src, p)
    snk_cost, snk_co2 = virgin_terms(snk, p)
    return WaterStreams(
        contaminants=contaminants,
        src_ids=src["resource_id"].to_numpy(dtype=object),
        src_sites=src["site_id"].to_numpy(dtype=object),
        src_flow=src["quantity"].to_numpy(dtype=float),
        src_conc=src_conc.reshape(len(src), len(contaminants)),
        src_price=src_cost + carbon_cost(src_co2, p), src_co2=src_co2,
        src_reach=_or_default(src["max_distance_km"], p.max_distance_water_km),
        snk_ids=snk["resource_id"].to_numpy(dtype=object),
        snk_sites=snk["site_id"].to_numpy(dtype=object),
        snk_flow=snk["quantity"].to_numpy(dtype=float),
        snk_max=snk_max.reshape(len(snk), len(contaminants)),
        snk_fresh=snk_fresh.reshape(len(snk), len(contaminants)),
        snk_price=snk_cost + carbon_cost(snk_co2, p), snk_co2=snk_co2,
        snk_reach=_or_default(snk["max_distance_km"], p.max_distance_water_km),
        src_mask=src["month_mask"].to_numpy(dtype=np.int64), snk_mask=snk["month_mask"].to_numpy(dtype=np.int64),
        src_freq=src["frequency"].to_numpy(dtype=object), snk_freq=snk["frequency"].to_numpy(dtype=object),
        src_storage=_or_default(src["storage_m3"], 0.0) if "storage_m3" in src else np.zeros(len(src)),
    )


def _usable(conc: np.ndarray, smax: np.ndarray, cleanest: np.ndarray, assume: bool) -> np.ndarray:
    """Whether water at ``conc`` can go into a sink with limits ``smax``.

    It can where every limited contaminant is known (or, with ``assume``, taken
    at the limit) and is either within the limit or can be diluted by water
    cleaner than the limit (``cleanest``, the lowest concentration on offer to that sink).
    """
    limited = np.isfinite(smax)
    unknown = limited & np.isnan(conc) & (not assume)
    too_dirty = limited & (conc > smax) & (cleanest >= smax)
    return ~(unknown | too_dirty).any(axis=-1)


@dataclass(frozen=True)
class _Pairs:
    """Source-sink pairs a part may use (direct and through regeneration)."""

    src: np.ndarray
    snk: np.ndarray
    km: np.ndarray
    transport_factor: np.ndarray
    fixed_factor: np.ndarray
    regen: np.ndarray  # bool: through the regeneration unit


def _pairs_in_reach(inv: Inventory, ws: WaterStreams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(source, sink, km) of every pair within both ends' reach, found site pair by site pair."""
    a_sites, a_of = np.unique(ws.src_sites.astype(str), return_inverse=True)
    b_sites, b_of = np.unique(ws.snk_sites.astype(str), return_inverse=True)
    ia, ib, km = site_pairs_within(inv, a_sites, b_sites,
                                   float(max(ws.src_reach.max(), ws.snk_reach.max())))
    # every source of site ia with every sink of site ib
    a_order, b_order = np.argsort(a_of, kind="stable"), np.argsort(b_of, kind="stable")
    a_start = np.searchsorted(a_of[a_order], np.arange(len(a_sites) + 1))
    b_start = np.searchsorted(b_of[b_order], np.arange(len(b_sites) + 1))
    na, nb = np.diff(a_start)[ia], np.diff(b_start)[ib]
    per = na * nb
    k = np.repeat(np.arange(len(ia)), per)
    t = np.arange(int(per.sum())) - np.repeat(np.cumsum(per) - per, per)
    si = a_order[a_start[ia[k]] + t // nb[k]]
    sj = b_order[b_start[ib[k]] + t % nb[k]]
    km = km[k]
    keep = km <= np.minimum(ws.src_reach[si], ws.snk_reach[sj]) + 1e-9
    return si[keep], sj[keep], km[keep]


def _pairs(inv: Inventory, ws: WaterStreams, removal: float | None, ignore_distance: bool) -> _Pairs:
    n_src, n_snk = ws.n_src, ws.n_snk
    if ignore_distance or n_src == 0 or n_snk == 0:
        grid_i, grid_j = np.meshgrid(np.arange(n_src), np.arange(n_snk), indexing="ij")
        si, sj = grid_i.ravel(), grid_j.ravel()
        km = np.zeros(len(si))
    else:
        si, sj, km = _pairs_in_reach(inv, ws)
    rule = arc_rules(inv, ws.src_ids, ws.snk_ids)[si, sj] if len(si) else np.zeros(0, np.int64)
    with np.errstate(invalid="ignore"):
        src_min = np.nanmin(np.where(np.isnan(ws.src_conc), np.inf, ws.src_conc), axis=0) \
            if n_src else np.full(len(ws.contaminants), np.inf)
        cleanest = np.minimum(ws.snk_fresh, src_min[None, :] * (1.0 - (removal or 0.0)))
    direct, treated = rule == ALLOWED, rule != FORBIDDEN  # "treatment" pairs only regenerated
    blocks = [(si[direct], sj[direct], km[direct], False, ws.src_conc)]
    if removal is not None:
        blocks.append((si[treated], sj[treated], km[treated], True, ws.src_conc * (1.0 - removal)))
    out_src, out_snk, out_km, out_regen = [], [], [], []
    for bi, bj, bkm, regen, conc in blocks:
        ok = _usable(conc[bi], ws.snk_max[bj], cleanest[bj], inv.params.water_assume_unstated == 1)
        out_src.append(bi[ok])
        out_snk.append(bj[ok])
        out_km.append(bkm[ok])
        out_regen.append(np.full(int(ok.sum()), regen))
    src = np.concatenate(out_src).astype(np.int64)
    snk = np.concatenate(out_snk).astype(np.int64)
    km = np.concatenate(out_km)
    if ignore_distance:
        tf, ff = np.ones(len(src)), np.ones(len(src))
    else:
        tf, ff = infrastructure_factors(inv, ws.src_sites[src], ws.snk_sites[snk],
                                        np.full(len(src), "water", dtype=object))
    return _Pairs(src, snk, km, tf, ff, np.concatenate(out_regen).astype(bool))


class WaterPart:
    """The water cascade as a :class:`~flowmatch.milp.part.ModelPart` (see the module docstring).

    Parameters
    ----------
    inventory : Inventory
    resource_ids : list of str, optional
        The water resources this part owns; all water resources by default.
    targeting : bool
        Build the targeting LP instead: every pair regardless of distance, no
        pipes, no regeneration, and a cost of 1 per m3 of fresh water and 0 for
        everything else, so the optimum is the minimum fresh water.
    budget : SolveBudget, optional
        The run's clock, for the pre-check of the sinks (default: a fresh
        budget of the default time limit).

    Raises
    ------
    InventoryError
        A water resource without a concentration.
    ModelError
        A sink that no mix of sources and fresh water can meet, by name.
    """

    name = "water"
    row_meaning = {
        "water_source": "the flow balance of water source",
        "water_sink": "the flow balance of water sink",
        "water_pipe_use": "the capacity of the water pipe",
        "water_pipe_source": "the most one source can send through its water pipe,",
        "water_pipe_sink": "the most one sink can take through its water pipe,",
        "water_quality": "the inlet limit of water sink",
    }

    def __init__(self, inventory: Inventory, resource_ids: list[str] | None = None, *,
                 targeting: bool = False, budget: SolveBudget | None = None):
        p = inventory.params
        self.params = p
        self.targeting = targeting
        self.streams = ws = water_streams(inventory, resource_ids)
        self.removal = None if targeting or p.regeneration_cost_m3 <= 0 else p.regeneration_removal
        self.pairs = _pairs(inventory, ws, self.removal, ignore_distance=targeting)
        self.periods = water_periods(ws)
        self._keep_pairs(rhythm_keep(ws, self.pairs.src, self.pairs.snk))
        bad = period_infeasible_sinks(ws, self.pairs, self.removal, budget or SolveOptions().start(),
                                      self.periods)
        if bad:
            raise ModelError(
                f"water sink{'s' if len(bad) > 1 else ''} {', '.join(bad)} cannot be met: no mix of "
                "the sources within reach and its fresh water keeps every contaminant within its "
                "maximum. Fix: give the sink cleaner fresh water (a lower property 'value'), raise "
                "its 'max', or add a cleaner source within reach.")
        self._links()
        self._drop_unpaying_pipes()
        self._idx: dict[str, np.ndarray] = {}

    def _pipe_cost(self) -> np.ndarray:
        """Yearly cost of each pipe if built."""
        p = self.params
        return link_fixed_cost("water", self.link_km, p) * self.link_fixed_factor

    def _drop_unpaying_pipes(self) -> None:
        """Leave out pipes whose most possible saving is below their yearly cost.

        A pipe saves at most its capacity times the best saving per m3 of a
        pair it carries (fresh water and wastewater avoided, less pumping);
        pipes into sinks whose own fresh water is too dirty are always kept.
        """
        ws, pr = self.streams, self.pairs
        on = self.pair_link >= 0
        if not on.any():
            return
        pcost, _ = self._pair_cost()
        unit = ws.snk_price[pr.snk] + ws.src_price[pr.src] - pcost
        best = np.full(len(self.link_km), -np.inf)
        np.maximum.at(best, self.pair_link[on], unit[on])
        # any(axis=1) of a 2-D array is an array (numpy types it as bool | array)
        dirty = cast(np.ndarray, (ws.snk_fresh > ws.snk_max).any(axis=1))
        needed = np.zeros(len(self.link_km), bool)
        needed[self.pair_link[on & dirty[pr.snk]]] = True
        drop = (best * self.link_cap < self._pipe_cost()) & ~needed
        if not drop.any():
            return
        keep = ~on | ~drop[np.maximum(self.pair_link, 0)]
        log.debug("water: %d of %d pipes cannot pay for themselves", int(drop.sum()), len(drop))
        self._keep_pairs(keep)
        self._links()

    def _keep_pairs(self, keep: np.ndarray) -> None:
        """Keep only the pairs where ``keep`` is true (a batch source without a tank, say, loses some)."""
        if not keep.all():
            self.pairs = _Pairs(*(getattr(self.pairs, f)[keep] for f in _Pairs.__dataclass_fields__))

    def _links(self) -> None:
        """Group the pairs at a positive distance into directed site-pair pipes."""
        ws, pr = self.streams, self.pairs
        piped = (pr.km > 0) & (not self.targeting)
        a, b = ws.src_sites[pr.src], ws.snk_sites[pr.snk]
        key = pd.Series(a.astype(str)) + "\x1f" + pd.Series(b.astype(str))
        codes, uniques = pd.factorize(key.where(piped, None))
        self.pair_link = codes  # -1 for pairs needing no pipe
        n_links = len(uniques)
        valid = codes >= 0
        _, first_pos = np.unique(codes[valid], return_index=True)
        first = np.flatnonzero(valid)[first_pos]
        self.link_from = a[first]
        self.link_to = b[first]
        self.link_km = pr.km[first]
        self.link_fixed_factor = pr.fixed_factor[first]
        # the most a pipe can carry: the smaller of what its sources give and its sinks take
        on = pd.DataFrame({"link": codes[valid], "src": pr.src[valid], "snk": pr.snk[valid]})
        give = on.drop_duplicates(["link", "src"]).assign(q=lambda d: ws.src_flow[d["src"]])
        take = on.drop_duplicates(["link", "snk"]).assign(q=lambda d: ws.snk_flow[d["snk"]])
        self.link_cap = np.minimum(
            give.groupby("link")["q"].sum().reindex(range(n_links)).to_numpy(dtype=float),
            take.groupby("link")["q"].sum().reindex(range(n_links)).to_numpy(dtype=float))

    def resource_ids(self) -> list[str]:
        """Ids of the water sources and sinks this part owns."""
        return [*map(str, self.streams.src_ids), *map(str, self.streams.snk_ids)]

    def _pair_cost(self) -> tuple[np.ndarray, np.ndarray]:
        """Cost (carbon included) and kg CO2e per m3 on each pair (pumping, and regeneration)."""
        p, pr = self.params, self.pairs
        if self.targeting:
            return np.zeros(len(pr.src)), np.zeros(len(pr.src))
        rate, co2_rate = transport_rates(np.array(["water"]), p)
        co2 = co2_rate[0] * pr.km
        cost = rate[0] * pr.km * pr.transport_factor + carbon_cost(co2, p)
        return cost + np.where(pr.regen, p.regeneration_cost_m3, 0.0), co2

    def add_to(self, mb: ModelBuilder) -> None:
        """Add flows, fresh water, wastewater, pipes and their rows to ``mb``, per period
        (:mod:`flowmatch.milp.water_periods`)."""
        add_water_rows(self, mb)

    def _add_quality_rows(self, mb: ModelBuilder, f: np.ndarray, fresh: np.ndarray, suffix: str = "") -> None:
        """Per sink and limited contaminant: load of the mix <= max * flow (scaled rows); a pair over
        a limit of its sink (taken only by blending) gets a tie-break (``LinearModel.prefer``).

        ``f`` and ``fresh`` are one period's variables, -1 for a pair or sink not in the period.
        """
        ws, pr = self.streams, self.pairs
        scale = np.where(pr.regen, 1.0 - (self.removal or 0.0), 1.0)
        rows_i, cols, vals, names = [], [], [], []
        r = 0
        order = np.argsort(pr.snk, kind="stable")
        bounds = np.searchsorted(pr.snk[order], np.arange(ws.n_snk + 1))
        for j in range(ws.n_snk):
            here = order[bounds[j]:bounds[j + 1]]
            here = here[f[here] >= 0]
            if fresh[j] < 0:
                continue
            over = np.zeros(len(here), bool)
            for c in np.flatnonzero(np.isfinite(ws.snk_max[j])):
                m = ws.snk_max[j, c]
                conc = ws.src_conc[pr.src[here], c] * scale[here]
                conc = np.where(np.isnan(conc), m, conc)  # unstated (water_assume_unstated): at the limit
                over |= conc > m
                coef = np.concatenate([conc - m, [ws.snk_fresh[j, c] - m]])
                if (coef <= 0).all():
                    continue  # every input is within the limit: the row cannot bind
                coef = coef / np.abs(coef).max()
                nz = np.abs(coef) > 1e-9  # at the limit: no part in the row
                rows_i.append(np.full(int(nz.sum()), r))
                cols.append(np.concatenate([f[here], [fresh[j]]])[nz])
                vals.append(coef[nz])
                names.append(f"water_quality[{ws.snk_ids[j]},{ws.contaminants[c]}]{suffix}")
                r += 1
            # water the sink takes only by blending: of two equally cheap plans, the one with less of it
            mb.add_prefer(f[here][over], 1.0)
        if r:
            mb.add_rows(np.concatenate(rows_i), np.concatenate(cols), np.concatenate(vals),
                        -np.inf, 0.0, name=names)

    def warm_start(self, x: np.ndarray) -> None:
        """Today's state: every sink on fresh water, every source to wastewater, no pipe."""
        water_warm_start(self, x)

    def pair_flows(self, x: np.ndarray) -> np.ndarray:
        """Flow on each pair at solution ``x``, scaled so no source gives more than it has."""
        ws, pr = self.streams, self.pairs
        q = period_pair_flows(self, x).sum(axis=1)
        q[q <= _TOL * np.maximum(ws.src_flow[pr.src], 1.0)] = 0.0
        used = np.bincount(pr.src, weights=q, minlength=ws.n_src)
        over = np.where(used > ws.src_flow, ws.src_flow / np.where(used > 0, used, 1.0), 1.0)
        q = q * over[pr.src]
        used = np.bincount(pr.snk, weights=q, minlength=ws.n_snk)
        over = np.where(used > ws.snk_flow, ws.snk_flow / np.where(used > 0, used, 1.0), 1.0)
        return q * over[pr.snk]

    def flows(self, x: np.ndarray) -> pd.DataFrame:
        """Reuse, wastewater and fresh-water rows; each source and sink balances exactly."""
        ws, pr = self.streams, self.pairs
        q = self.pair_flows(x)
        pcost, pco2 = self._pair_cost()
        cost = q * pcost
        # each built pipe's yearly cost is shared by the pairs it carries, by volume
        if len(self.link_km):
            built = x[self._idx["pipe"]] > 0.5
            link_cost = self._pipe_cost()
            on = self.pair_link >= 0
            carried = np.bincount(self.pair_link[on], weights=q[on], minlength=len(self.link_km))
            share = np.zeros(len(q))
            share[on] = np.where(carried[self.pair_link[on]] > 0,
                                 q[on] / np.where(carried[self.pair_link[on]] > 0,
                                                  carried[self.pair_link[on]], 1.0), 0.0)
            cost[on] += share[on] * np.where(built, link_cost, 0.0)[self.pair_link[on]]
        pairs = pd.DataFrame({"s": pr.src, "k": pr.snk, "r": pr.regen, "q": q, "cost": cost,
                              "co2": q * pco2, "km": pr.km})
        pairs = pairs[pairs["q"] > 0].groupby(["s", "k", "r"], as_index=False).agg(
            q=("q", "sum"), cost=("cost", "sum"), co2=("co2", "sum"), km=("km", "first"))
        self._log_assumed(pairs["s"].to_numpy(), pairs["k"].to_numpy())
        reuse = pd.DataFrame({
            "have_id": ws.src_ids[pairs["s"].to_numpy()], "want_id": ws.snk_ids[pairs["k"].to_numpy()],
            "quantity": pairs["q"].to_numpy(),
            "mode": np.where(pairs["r"].to_numpy(dtype=bool), "regenerated", "cascade"),
            "distance_km": pairs["km"].to_numpy(), "cost": pairs["cost"].to_numpy(),
            "co2_kg": pairs["co2"].to_numpy()})
        waste = ws.src_flow - np.bincount(pr.src, weights=q, minlength=ws.n_src)
        fresh = ws.snk_flow - np.bincount(pr.snk, weights=q, minlength=ws.n_snk)
        waste = np.where(waste > _TOL * np.maximum(ws.src_flow, 1.0), waste, 0.0)
        fresh = np.where(fresh > _TOL * np.maximum(ws.snk_flow, 1.0), fresh, 0.0)
        w_on, f_on = waste > 0, fresh > 0
        disposal = pd.DataFrame({
            "have_id": ws.src_ids[w_on], "want_id": DISPOSAL, "quantity": waste[w_on],
            "mode": "disposal", "distance_km": 0.0, "cost": waste[w_on] * ws.src_price[w_on],
            "co2_kg": waste[w_on] * ws.src_co2[w_on]})
        virgin = pd.DataFrame({
            "have_id": VIRGIN, "want_id": ws.snk_ids[f_on], "quantity": fresh[f_on],
            "mode": "virgin", "distance_km": 0.0, "cost": fresh[f_on] * ws.snk_price[f_on],
            "co2_kg": fresh[f_on] * ws.snk_co2[f_on]})
        out = pd.concat([df for df in (reuse, disposal, virgin) if len(df)], ignore_index=True) \
            if (len(reuse) or len(disposal) or len(virgin)) else pd.DataFrame(columns=FLOW_COLUMNS)
        out["unit"] = "m3"
        out["route_id"] = ""
        return out[FLOW_COLUMNS]

    def period_flows(self, x: np.ndarray) -> pd.DataFrame:
        """Flows in each period of the year (``flows_by_period.csv``; empty with one period)."""
        return water_period_flows(self, x)

    def _log_assumed(self, src: np.ndarray, snk: np.ndarray) -> None:
        """Warn of each planned flow that relies on a contaminant its source does not state."""
        ws = self.streams
        for i, j, cs in assumed_flows(ws.src_conc, ws.snk_max, ws.contaminants, src, snk):
            log.warning("water: %s -> %s assumes %s at %s's limit (not stated; water_assume_unstated = 1)",
                        ws.src_ids[i], ws.snk_ids[j], ", ".join(cs), ws.snk_ids[j])

    def routes(self, x: np.ndarray) -> pd.DataFrame:
        """Water is piped: no routes."""
        return pd.DataFrame(columns=ROUTE_COLUMNS)


def check_water_network(inventory: Inventory) -> None:
    """Raise the :class:`~flowmatch.errors.ModelError` the water network would raise on ``inventory``.

    ``flowmatch validate`` runs it, so that a sink no mix of sources and fresh
    water can meet is named before ``optimise`` (it takes one small LP per sink
    group; the other input checks are :mod:`flowmatch.inputs.requirements`).
    """
    ids = water_resource_ids(inventory)
    if ids:
        WaterPart(inventory, ids)


def water_resource_ids(inventory: Inventory) -> list[str]:
    """Ids of the resources the water network owns: every resource of category ``water``."""
    res = inventory.resources
    return res.loc[res["category"] == "water", "resource_id"].astype(str).tolist()


def _build(ctx: PartContext, resource_ids: list[str]) -> list[WaterPart]:
    if not resource_ids:
        return []
    return [WaterPart(ctx.inventory, resource_ids, budget=ctx.budget)]


#: The water network owns every water resource.
KIND = PartKind("water", build=_build, takes=water_resource_ids)
