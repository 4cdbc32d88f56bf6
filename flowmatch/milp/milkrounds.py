"""Milk rounds: pool small loads of a waste into collection routes to a processor.

:class:`MilkRoundPart` is the model part (:class:`~flowmatch.milp.part.ModelPart`)
that offers the MILP a pool of collection routes. A route starts and ends at a
processor (a material want), visits several haves compatible with it, collects
one load from each per collection and runs as often a year as those haves need.
Each route is one binary variable; choosing it

- collects each of its haves' whole yearly quantity: the quantity enters the
  have's balance row ``flows + disposal + collections = supply``, declared on the
  builder by the part that owns it (direct synergies), so a have is collected by
  at most one route and never both collected and shipped or disposed beyond its
  supply;
- delivers the sum into the processor's want balance row
  ``flows + virgin + deliveries = demand``;
- emits ``collections * km * vehicle_co2_kg_km`` kg CO2e and costs
  ``collections * (vehicle_cost_km * km + vehicle_cost_collection * stops)`` plus
  the carbon price of that CO2 (as every cost in the model), plus the
  annualised ``capex`` of each have it collects (:func:`flowmatch.milp.capex.have_capex`:
  a dryer built to pool that have; a have is collected by at most one route,
  so its capital is paid once when it is collected).

So the MILP chooses among routes, direct synergies and disposal in one plan.
Routes come from :func:`~flowmatch.milp.routing.generate_routes`; every route respects
the vehicle capacity per collection and ``milk_round_max_stops``.

Which haves go on milk rounds: material haves whose load per collection fits one
vehicle (:func:`milk_round_haves`; bigger ones ship direct or are disposed of).
Which processors may collect them: the candidate pairs from matching and the
pairs the knowledge base makes compatible, the nearest few per have
(:func:`milk_round_pairs`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from flowmatch.geo import site_pairs_within
from flowmatch.inputs.inventory import Inventory
from flowmatch.matching.frozen import type_score_matrix
from flowmatch.milp.builder import Balance, ModelBuilder
from flowmatch.milp.capex import have_capex
from flowmatch.milp.costs import carbon_cost, disposal_terms, virgin_terms
from flowmatch.milp.options import SolveBudget
from flowmatch.milp.part import PartContext, PartKind
from flowmatch.milp.routing import (
    Route,
    RoutingInstance,
    generate_routes,
    planar_xy,
    site_distance_matrices,
)
from flowmatch.plans.plan import FLOW_COLUMNS, ROUTE_COLUMNS

__all__ = [
    "MilkRoundPart",
    "KIND",
    "milk_round_pairs",
    "milk_round_haves",
    "collections_per_year",
    "COLLECTIONS_PER_YEAR",
    "ROUTE_EXTRA_COLUMNS",
]

log = logging.getLogger(__name__)

#: Collections a year for a have of each frequency over all twelve months
#: (``continuous`` is ``params.milk_round_continuous_collections``).
COLLECTIONS_PER_YEAR = {"daily": 365, "weekly": 52, "monthly": 12, "quarterly": 4,
                        "yearly": 1, "batch": 1}

#: Columns ``routes`` gives after ``plan.ROUTE_COLUMNS``.
ROUTE_EXTRA_COLUMNS = ["want_id", "haves", "load_per_collection", "cost", "co2_kg"]

MILK_ROUND = "milk_round"


def collections_per_year(resources: pd.DataFrame, continuous: int) -> np.ndarray:
    """How many collections a year each have needs.

    From ``frequency`` (:data:`COLLECTIONS_PER_YEAR`; ``continuous`` production is
    collected ``continuous`` times a year), scaled by the share of the year the
    have is available (its ``month_mask``), rounded up, at least one.

    Parameters
    ----------
    resources : pandas.DataFrame
        Normalised resources (``frequency``, ``month_mask``).
    continuous : int
        Collections a year for continuous production.

    Returns
    -------
    ndarray of int
    """
    per_year = resources["frequency"].map({**COLLECTIONS_PER_YEAR, "continuous": continuous})
    per_year = per_year.fillna(continuous).to_numpy(float)
    months = np.array([bin(int(m)).count("1") for m in resources["month_mask"]], float)
    months[months == 0] = 12
    return np.maximum(1, np.ceil(per_year * months / 12 - 1e-9)).astype(np.int64)


def _type_pairs(inventory: Inventory, have_types: list[str], want_types: list[str]) -> set[tuple[str, str]]:
    """Which (have type, want type) pairs are compatible.

    Those matching's type score (:func:`~flowmatch.matching.frozen.type_score_matrix`)
    rates above zero by the same type, is-a (the want's type an ancestor of the
    have's) or a knowledge-base row; merely related types (cousins in the
    taxonomy) do not count.
    """
    params = inventory.params.replace(type_related_max=0.0)
    score = type_score_matrix(have_types, want_types, inventory.taxonomy, inventory.compatibility, params)
    return {(have_types[i], want_types[j]) for i, j in zip(*np.nonzero(score > 0), strict=True)}


def milk_round_haves(inventory: Inventory) -> pd.DataFrame:
    """The haves a milk round may collect: material, with a load per collection that fits a vehicle.

    Returns
    -------
    pandas.DataFrame
        Those rows of ``inventory.resources`` (indexed by ``resource_id``), with
        ``collections`` (:func:`collections_per_year`) and ``load``
        (``quantity / collections``) added.
    """
    p = inventory.params
    res = inventory.resources
    haves = res[(res["role"] == "have") & (res["category"] == "material") & (res["quantity"] > 0)]
    haves = haves.set_index("resource_id")
    f = collections_per_year(haves, p.milk_round_continuous_collections)
    haves = haves.assign(collections=f, load=haves["quantity"].to_numpy(float) / f)
    return haves[haves["load"] <= p.vehicle_capacity_t * (1 + 1e-9)]


def milk_round_pairs(inventory: Inventory, candidates: pd.DataFrame | None) -> pd.DataFrame:
    """The (have, want) pairs a milk round may serve.

    The haves are :func:`milk_round_haves`, the processors material wants. A
    pair qualifies when it is a candidate (from matching), or when the types are
    compatible (see :func:`_type_pairs`), a hazardous have goes to a want
    licensed for it (``hazardous`` true) and their months overlap; and the have
    lies within ``params.milk_round_max_km`` of the want and within both sides'
    ``max_distance_km``. Each have keeps its ``params.milk_round_processors_per_have``
    nearest qualifying processors. None when ``params.milk_round_max_stops`` is
    0 (milk rounds switched off).

    Parameters
    ----------
    inventory : Inventory
    candidates : pandas.DataFrame or None
        Candidate pairs from matching (``have_id``, ``want_id``, ``distance_km``).

    Returns
    -------
    pandas.DataFrame
        ``have_id, want_id, distance_km``, one row per pair, sorted.
    """
    p = inventory.params
    res = inventory.resources
    haves = milk_round_haves(inventory)
    wants = res[(res["role"] == "want") & (res["category"] == "material") & (res["quantity"] > 0)]
    wants = wants.set_index("resource_id")
    cols = ["have_id", "want_id", "distance_km"]
    if haves.empty or wants.empty or p.milk_round_max_stops == 0:
        return pd.DataFrame(columns=cols)
    out: list[pd.DataFrame] = []
    if candidates is not None and len(candidates):  # matching measured these already
        keep = candidates["have_id"].isin(haves.index) & candidates["want_id"].isin(wants.index)
        out.append(candidates.loc[keep, cols])
    # type-compatible pairs, one search per set of want types some have types share
    htypes, wtypes = haves["type"].unique().tolist(), wants["type"].unique().tolist()
    compatible = _type_pairs(inventory, htypes, wtypes)
    by_targets: dict[frozenset[str], list[str]] = {}
    for ht in htypes:
        targets = frozenset(wt for wt in wtypes if (ht, wt) in compatible)
        if targets:
            by_targets.setdefault(targets, []).append(ht)
    for targets, sources in sorted(by_targets.items(), key=lambda kv: sorted(kv[1])):
        group = haves[haves["type"].isin(sources)]
        wsel = wants[wants["type"].isin(targets)]
        hs, ws = group["site_id"].unique(), wsel["site_id"].unique()
        ia, ib, km = site_pairs_within(inventory, hs, ws, p.milk_round_max_km)
        # resource pairs of the near site pairs, as positions in group and wsel
        near = pd.DataFrame({"hs": ia, "ws": ib, "distance_km": km})
        hp = pd.DataFrame({"hs": pd.Index(hs).get_indexer(group["site_id"]), "h": np.arange(len(group))})
        wp = pd.DataFrame({"ws": pd.Index(ws).get_indexer(wsel["site_id"]), "w": np.arange(len(wsel))})
        pr = near.merge(hp, on="hs").merge(wp, on="ws")
        h, w = pr["h"].to_numpy(), pr["w"].to_numpy()
        ok = (~group["hazardous"].to_numpy(bool)[h] | wsel["hazardous"].to_numpy(bool)[w]) \
            & ((group["month_mask"].to_numpy(np.int64)[h] & wsel["month_mask"].to_numpy(np.int64)[w]) != 0)
        out.append(pd.DataFrame({"have_id": group.index.to_numpy()[h[ok]], "want_id": wsel.index.to_numpy()[w[ok]],
                                 "distance_km": pr["distance_km"].to_numpy()[ok]}))
    pairs = pd.concat(out, ignore_index=True).drop_duplicates(["have_id", "want_id"]) if out else None
    if pairs is None or pairs.empty:
        return pd.DataFrame(columns=cols)
    reach = np.fmin(haves.loc[pairs["have_id"], "max_distance_km"].to_numpy(float),
                    wants.loc[pairs["want_id"], "max_distance_km"].to_numpy(float))
    reach = np.fmin(np.nan_to_num(reach, nan=np.inf), p.milk_round_max_km)
    pairs = pairs[pairs["distance_km"].to_numpy(float) <= reach + 1e-9]
    pairs = pairs.sort_values(["have_id", "distance_km", "want_id"], kind="stable")
    pairs = pairs.groupby("have_id", sort=False).head(p.milk_round_processors_per_have)
    return pairs.sort_values(["want_id", "have_id"]).reset_index(drop=True)


def _components(pairs: pd.DataFrame) -> list[pd.DataFrame]:
    """Split (have, want) pairs into connected components: independent routing instances."""
    hc, hu = pd.factorize(pairs["have_id"])
    wc, wu = pd.factorize(pairs["want_id"])
    n = len(hu) + len(wu)
    g = sp.coo_matrix((np.ones(len(pairs)), (hc, len(hu) + wc)), shape=(n, n))
    _, label = connected_components(g, directed=False)
    lab = label[hc]
    return [pairs[lab == k] for k in np.unique(lab)]


@dataclass(frozen=True)
class _Offer:
    """One route offered to the MILP, in resource terms."""

    want_id: str
    have_ids: tuple[str, ...]
    route: Route
    collections: int
    quantities: np.ndarray  # yearly quantity of each stop
    stop_km: np.ndarray  # on-route km from each stop to the processor
    cost: float  # a year: the route's vehicle cost, its carbon, and its haves' capital annualised
    co2: float
    start: bool  # part of the shortest whole solution route generation found
    capex_annual: np.ndarray  # yearly capital charge of each stop's have (in ``cost``)


@dataclass(frozen=True)
class _Lookup:
    """Plain dicts of what route generation reads per resource and site (fast to index)."""

    site: dict[str, str]
    quantity: dict[str, float]
    load: dict[str, float]
    latlon: dict[str, tuple[float, float]]


class MilkRoundPart:
    """Model part offering collection routes (see the module docstring).

    Parameters
    ----------
    inventory : Inventory
    candidates : pandas.DataFrame or None
        Candidate pairs from matching (``have_id``, ``want_id``, ``distance_km``);
        may be ``None``.
    seed : int
        Seed of the route generation; the same seed gives the same plan.
    budget : SolveBudget, optional
        The run's clock: route generation (all routing instances together,
        PyVRP's search included) takes at most a quarter of the time left when
        it starts; instances it has not reached by then get no routes (their
        haves go direct or to disposal; the plan stays valid).

    Routes serve only haves and wants whose balance rows another part declared
    on the builder before this part's :meth:`add_to` runs.
    """

    name = "milk_rounds"
    row_meaning: dict[str, str] = {}
    #: Share of the run's time left that route generation may take.
    BUDGET_SHARE = 0.25

    def __init__(self, inventory: Inventory, candidates: pd.DataFrame | None, seed: int = 0,
                 budget: SolveBudget | None = None):
        self.inventory = inventory
        self.seed = seed
        self.budget = budget
        self.pairs = milk_round_pairs(inventory, candidates)
        self.offers: list[_Offer] = []
        self.var_idx = np.zeros(0, np.int64)
        self.balances: dict[str, Balance] = {}
        self._capex_annual = pd.Series(dtype=float)  # per have: capital annualised (set in add_to)
        self._capex_of: dict[str, float] = {}  # the same as a dict (fast to look up per route)

    def resource_ids(self) -> list[str]:
        """None: milk rounds join the balances other parts declared."""
        return []

    # ----------------------------------------------------------------- routes

    def _offers(self) -> list[_Offer]:
        """The route pool: one routing instance per frequency, hazard class and connected group."""
        inv = self.inventory
        pairs = self.pairs[self.pairs["have_id"].isin(self.balances.keys())
                           & self.pairs["want_id"].isin(self.balances.keys())]
        if pairs.empty:
            return []
        haves = milk_round_haves(inv).loc[pairs["have_id"].unique()]
        wants = inv.resources.set_index("resource_id").loc[pairs["want_id"].unique()]
        look = _Lookup(
            site={**haves["site_id"].to_dict(), **wants["site_id"].to_dict()},
            quantity={**haves["quantity"].to_dict(), **wants["quantity"].to_dict()},
            load=haves["load"].to_dict(),
            latlon=dict(zip(inv.sites["site_id"], zip(inv.sites["lat"], inv.sites["lon"], strict=True),
                            strict=True)))
        groups = [(comp, int(f)) for (f, _haz), grp in haves.groupby(["collections", "hazardous"], sort=True)
                  for comp in _components(pairs[pairs["have_id"].isin(grp.index)])]
        ids = [(sorted(comp["want_id"].unique()), sorted(comp["have_id"].unique())) for comp, _ in groups]
        dists = site_distance_matrices(inv, [[look.site[r] for r in (*w, *h)] for w, h in ids])
        # one clock for all instances: route generation stops on its share of the run's budget
        limit = None if self.budget is None else self.budget.share(self.BUDGET_SHARE, at_least=0.0)
        deadline = None if limit is None else time.perf_counter() + limit
        offers: list[_Offer] = []
        done = 0
        for (comp, f), (wids, hids), dist in zip(groups, ids, dists, strict=True):
            left = None if deadline is None else deadline - time.perf_counter()
            if left is not None and left <= 0.0:
                break
            offers += self._offers_for(comp, wids, hids, dist, look, f, left)
            done += 1
        if done < len(groups):
            log.warning("milk rounds: route generation used its share of the time limit (%.3g s) after "
                        "%d of %d routing instances; the rest are left to direct synergies and disposal "
                        "(a larger --time-limit generates them)", limit, done, len(groups))
        log.info("milk rounds: %d routes offered for %d haves and %d processors",
                 len(offers), pairs["have_id"].nunique(), pairs["want_id"].nunique())
        return offers

    def _offers_for(self, pairs: pd.DataFrame, wids: list[str], hids: list[str], dist: np.ndarray,
                    look: _Lookup, f: int, limit: float | None = None) -> list[_Offer]:
        """Routes for one routing instance: ``pairs`` of haves collected ``f`` times a year.

        ``wids`` and ``hids`` are its processors and haves, ``dist`` the distances
        between their sites (processors first); ``limit`` the seconds route
        generation may still take (``None``: no limit).
        """
        p = self.inventory.params
        sites = [look.site[r] for r in (*wids, *hids)]
        lat, lon = np.array([look.latlon[s] for s in sites], float).T
        allowed = np.zeros((len(hids), len(wids)), bool)
        allowed[pd.Index(hids).get_indexer(pairs["have_id"]),
                pd.Index(wids).get_indexer(pairs["want_id"])] = True
        inst = RoutingInstance(dist,
                               np.array([look.load[h] for h in hids]), p.vehicle_capacity_t,
                               p.milk_round_max_stops, allowed=allowed, xy=planar_xy(lat, lon))
        qty = np.array([look.quantity[h] for h in hids])
        demand = np.array([look.quantity[w] for w in wids])
        offers = []
        pool = generate_routes(inst, seed=self.seed, pyvrp_iterations=p.milk_round_pyvrp_iterations,
                               time_limit=limit)
        best = set(pool.best)
        for i, r in enumerate(pool.routes):
            q = qty[list(r.stops)]
            if q.sum() > demand[r.depot] * (1 + 1e-9):
                continue  # more than the processor takes
            offers.append(self._offer(inst, wids[r.depot], [hids[s] for s in r.stops], r, f, q, i in best))
        return offers

    def _offer(self, inst: RoutingInstance, want_id: str, have_ids: list[str], r: Route,
               f: int, q: np.ndarray, start: bool) -> _Offer:
        p = self.inventory.params
        m = inst.n_depots
        loc = [r.depot, *(s + m for s in r.stops), r.depot]
        leg = inst.dist[loc[:-1], loc[1:]]
        stop_km = np.cumsum(leg[::-1])[::-1][1:]  # from each stop on to the processor
        co2 = f * p.vehicle_co2_kg_km * r.km
        capex = np.array([self._capex_of.get(h, 0.0) for h in have_ids], float)
        cost = (f * (p.vehicle_cost_km * r.km + p.vehicle_cost_collection * len(r.stops)) + carbon_cost(co2, p)
                + float(capex.sum()))
        return _Offer(want_id, tuple(have_ids), r, f, q, stop_km, cost, co2, start, capex)

    # ----------------------------------------------------------------- model

    def add_to(self, mb: ModelBuilder) -> None:
        """One binary per route; its quantities join the have and want balance rows."""
        self.balances = dict(mb.balances)
        hids = np.array(sorted(self.pairs["have_id"].unique()), dtype=object)
        self._capex_annual = pd.Series(have_capex(self.inventory, hids)[1], index=hids, dtype=float)
        self._capex_of = {h: float(v) for h, v in self._capex_annual.items() if not np.isnan(v)}
        self.offers = self._offers()
        n = len(self.offers)
        if n == 0:
            self.var_idx = np.zeros(0, np.int64)
            return
        names = [f"milk_round[{o.want_id}:{'+'.join(o.have_ids)}]" for o in self.offers]
        self.var_idx = mb.add_vars(n, lb=0.0, ub=1.0, integer=True, name=names,
                                   cost=np.array([o.cost for o in self.offers]),
                                   co2=np.array([o.co2 for o in self.offers]))
        rows, cols, vals = [], [], []
        bal = self.balances
        for j, o in zip(self.var_idx.tolist(), self.offers, strict=True):
            for h, q in zip(o.have_ids, o.quantities.tolist(), strict=True):
                rows.append(bal[h].row)
                cols.append(j)
                vals.append(q)
            rows.append(bal[o.want_id].row)
            cols.append(j)
            vals.append(float(o.quantities.sum()))
        mb.add_entries(np.array(rows), np.array(cols), np.array(vals))
        stops = [(h, o.want_id, j, q) for j, o in zip(self.var_idx.tolist(), self.offers, strict=True)
                 for h, q in zip(o.have_ids, o.quantities.tolist(), strict=True)]
        hs, ws, js, qs = zip(*stops, strict=True)
        mb.declare_pair_flows(hs, ws, js, qs, MILK_ROUND, self.name)

    def _savings(self) -> np.ndarray:
        """What each route saves a year: disposal and virgin input avoided, less its cost."""
        inv = self.inventory
        p = inv.params
        res = inv.resources.set_index("resource_id", drop=False)
        hids = sorted({h for o in self.offers for h in o.have_ids})
        wids = sorted({o.want_id for o in self.offers})
        dc, dco2, _ = disposal_terms(res.loc[hids], p)
        vc, vco2 = virgin_terms(res.loc[wids], p)
        disp = dict(zip(hids, dc + carbon_cost(dco2, p), strict=True))
        virg = dict(zip(wids, vc + carbon_cost(vco2, p), strict=True))
        return np.array([sum(q * disp[h] for h, q in zip(o.have_ids, o.quantities, strict=True))
                         + o.quantities.sum() * virg[o.want_id] - o.cost for o in self.offers])

    def warm_start(self, x: np.ndarray) -> None:
        """Rounds over the synergy part's start: the routes of the shortest whole
        solution route generation found, then the rest by biggest saving.

        A route that saves money is taken when each of its haves is still wholly
        disposed of and its processor still buys that much virgin input in
        ``x``; those amounts move onto the route, so every balance still holds.
        """
        x[self.var_idx] = 0.0
        if not self.offers:
            return
        bal = self.balances
        saving = self._savings()
        start = np.array([o.start for o in self.offers])
        for j in np.lexsort((-saving, ~start)):
            if saving[j] <= 0:
                break
            o = self.offers[j]
            dv = np.array([bal[h].slack for h in o.have_ids])
            vv = bal[o.want_id].slack
            total = float(o.quantities.sum())
            if np.any(x[dv] < o.quantities * (1 - 1e-9)) or x[vv] < total * (1 - 1e-9):
                continue
            x[dv] = np.maximum(0.0, x[dv] - o.quantities)
            x[vv] = max(0.0, x[vv] - total)
            x[self.var_idx[j]] = 1.0

    # ----------------------------------------------------------------- results

    def _chosen(self, x: np.ndarray) -> list[tuple[str, _Offer]]:
        picked = [o for o, v in zip(self.offers, x[self.var_idx], strict=True) if v > 0.5]
        width = max(3, len(str(len(picked))))
        return [(f"MR{k + 1:0{width}d}", o) for k, o in enumerate(picked)]

    def flows(self, x: np.ndarray) -> pd.DataFrame:
        """One ``milk_round`` flow per collected have: the route's vehicle cost and CO2 shared by
        quantity, plus the have's own capital annualised."""
        unit = "t"
        recs = []
        for rid, o in self._chosen(x):
            share = o.quantities / o.quantities.sum()
            vehicle = o.cost - float(o.capex_annual.sum())
            for h, q, km, s, cap in zip(o.have_ids, o.quantities, o.stop_km, share, o.capex_annual, strict=True):
                recs.append((h, o.want_id, float(q), unit, MILK_ROUND, rid, float(km),
                             float(vehicle * s + cap), float(o.co2 * s)))
        return pd.DataFrame(recs, columns=FLOW_COLUMNS)

    def routes(self, x: np.ndarray) -> pd.DataFrame:
        """One row per chosen route: ``ROUTE_COLUMNS`` then ``ROUTE_EXTRA_COLUMNS`` (``cost``: the
        vehicle's and its carbon; the haves' capital is in their ``flows`` rows)."""
        r = self.inventory.resources
        res = dict(zip(r["resource_id"], r["site_id"], strict=True))
        recs = []
        for rid, o in self._chosen(x):
            depot = res[o.want_id]
            visit = [depot]
            for h in o.have_ids:
                if res[h] != visit[-1]:
                    visit.append(res[h])
            visit.append(depot)
            recs.append((rid, ";".join(visit), o.route.km, o.collections, o.want_id,
                         ";".join(o.have_ids), o.route.load, o.cost - float(o.capex_annual.sum()), o.co2))
        return pd.DataFrame(recs, columns=[*ROUTE_COLUMNS, *ROUTE_EXTRA_COLUMNS])


def _build(ctx: PartContext, resource_ids: list[str]) -> list[MilkRoundPart]:
    return [MilkRoundPart(ctx.inventory, ctx.candidates, budget=ctx.budget)]


#: Milk rounds own no balance: they join the material balances declared before them.
KIND = PartKind("milk_rounds", build=_build, joins=True)
