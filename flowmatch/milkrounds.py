"""Milk rounds: pool small loads of a waste into collection routes to a processor.

:class:`MilkRoundPart` is the model part (:class:`~flowmatch.parts.ModelPart`)
that offers the MILP a pool of collection routes. A route starts and ends at a
processor (a material want), visits several haves compatible with it, collects
one load from each per collection and runs as often a year as those haves need.
Each route is one binary variable; choosing it

- collects each of its haves' whole yearly quantity: the quantity enters the
  have's balance row ``flows + disposal + collections = supply``, owned by the
  synergy part, so a have is collected by at most one route and never both
  collected and shipped or disposed beyond its supply;
- delivers the sum into the processor's want balance row
  ``flows + virgin + deliveries = demand``;
- costs ``collections * (vehicle_cost_km * km + vehicle_cost_collection * stops)``
  and emits ``collections * km * vehicle_co2_kg_km``.

So the MILP chooses among routes, direct synergies and disposal in one plan.
Routes come from :func:`~flowmatch.routing.generate_routes`; every route respects
the vehicle capacity per collection and ``milk_round_max_stops`` (a have whose
own load exceeds the capacity is offered alone, with several vehicles).

Which haves a processor may collect: the candidate pairs from matching, and the
pairs the knowledge base makes compatible (:func:`milk_round_pairs`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from .inventory import Inventory
from .model import ModelBuilder
from .plan import FLOW_COLUMNS, ROUTE_COLUMNS
from .routing import Route, RoutingInstance, generate_routes, planar_km, site_distance_matrix

__all__ = [
    "MilkRoundPart",
    "BalanceRows",
    "milk_round_pairs",
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
ROUTE_EXTRA_COLUMNS = ["want_id", "haves", "load_per_collection", "vehicles_per_collection",
                       "cost", "co2_kg"]

MILK_ROUND = "milk_round"


class BalanceRows(Protocol):
    """What the milk rounds need from the part that owns material balances.

    ``have_row`` and ``want_row`` map a resource id to the global index of its
    balance row (``flows + disposal (+ collections) = supply``; ``flows + virgin
    (+ deliveries) = demand``); they are filled by that part's ``add_to``.
    """

    have_row: dict[str, int]
    want_row: dict[str, int]


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

    Compatible: the same type; the want's type an ancestor of the have's (a want
    of ``ewc:1001`` takes ``ewc:100105``); or a knowledge-base row whose have type
    is the have's type or an ancestor and whose want type is the want's type or
    an ancestor.
    """
    tax = inventory.taxonomy
    kb = set(zip(inventory.compatibility["have_type"], inventory.compatibility["want_type"], strict=True))
    anc = {t: tax.ancestors(t) or [t] for t in {*have_types, *want_types}}
    out = set()
    for ht in have_types:
        for wt in want_types:
            if wt in anc[ht] or any((a, b) in kb for a in anc[ht] for b in anc[wt]):
                out.add((ht, wt))
    return out


def milk_round_pairs(inventory: Inventory, candidates: pd.DataFrame | None) -> pd.DataFrame:
    """The (have, want) pairs a milk round may serve: material haves and wants only.

    A pair qualifies when it is a candidate (from matching), or when the
    knowledge base makes the types compatible (see :func:`_type_pairs`), the
    hazardous have goes to a want licensed for it (``hazardous`` true), their
    months overlap, and the have lies within ``params.milk_round_max_km`` of the
    want and within both sides' ``max_distance_km``.

    Returns
    -------
    pandas.DataFrame
        ``have_id, want_id, distance_km``, one row per pair, sorted.
    """
    p = inventory.params
    res = inventory.resources
    mat = res[res["category"] == "material"]
    haves = mat[mat["role"] == "have"].set_index("resource_id")
    wants = mat[mat["role"] == "want"].set_index("resource_id")
    cols = ["have_id", "want_id", "distance_km"]
    if haves.empty or wants.empty:
        return pd.DataFrame(columns=cols)
    compatible = _type_pairs(inventory, haves["type"].unique().tolist(), wants["type"].unique().tolist())
    hs, ws = [], []
    for wt, wgroup in wants.groupby("type", sort=True):
        htypes = [ht for ht in haves["type"].unique() if (ht, wt) in compatible]
        if not htypes:
            continue
        hsel = haves[haves["type"].isin(htypes)]
        for w, wrow in wgroup.iterrows():
            ok = ((~hsel["hazardous"]) | bool(wrow["hazardous"])) & (
                (hsel["month_mask"] & int(wrow["month_mask"])) != 0)
            hs.extend(hsel.index[ok.to_numpy()])
            ws.extend([w] * int(ok.sum()))
    kb_pairs = pd.DataFrame({"have_id": hs, "want_id": ws})
    if candidates is not None and len(candidates):
        cand = candidates[["have_id", "want_id"]]
        cand = cand[cand["have_id"].isin(haves.index) & cand["want_id"].isin(wants.index)]
    else:
        cand = pd.DataFrame(columns=["have_id", "want_id"])
    pairs = pd.concat([cand, kb_pairs], ignore_index=True).drop_duplicates()
    if pairs.empty:
        return pd.DataFrame(columns=cols)
    hsite = haves.loc[pairs["have_id"], "site_id"].to_numpy()
    wsite = wants.loc[pairs["want_id"], "site_id"].to_numpy()
    sites = list(dict.fromkeys([*hsite, *wsite]))
    code = {s: i for i, s in enumerate(sites)}
    d = site_distance_matrix(inventory.sites, sites, inventory.distances)
    km = d[[code[s] for s in hsite], [code[s] for s in wsite]]
    pairs = pairs.assign(distance_km=km)
    reach = np.fmin(haves.loc[pairs["have_id"], "max_distance_km"].to_numpy(float),
                    wants.loc[pairs["want_id"], "max_distance_km"].to_numpy(float))
    reach = np.fmin(np.nan_to_num(reach, nan=np.inf), p.milk_round_max_km)
    pairs = pairs[km <= reach + 1e-9]
    return pairs.sort_values(["want_id", "have_id"]).reset_index(drop=True)[cols]


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
    cost: float
    co2: float


class MilkRoundPart:
    """Model part offering collection routes (see the module docstring).

    Parameters
    ----------
    inventory : Inventory
    candidates : pandas.DataFrame or None
        Candidate pairs from matching (``have_id``, ``want_id``); may be ``None``.
    balances : BalanceRows
        The part owning the material balance rows (the synergy part); its
        ``add_to`` must run before this part's.
    seed : int
        Seed of the route generation; the same seed gives the same plan.
    """

    name = "milk_rounds"

    def __init__(self, inventory: Inventory, candidates: pd.DataFrame | None,
                 balances: BalanceRows, seed: int = 0):
        self.inventory = inventory
        self.balances = balances
        self.seed = seed
        self.pairs = milk_round_pairs(inventory, candidates)
        self.offers: list[_Offer] = []
        self.var_idx = np.zeros(0, np.int64)

    def resource_ids(self) -> list[str]:
        """None: the balances milk rounds join belong to the synergy part."""
        return []

    # ----------------------------------------------------------------- routes

    def _offers(self) -> list[_Offer]:
        """The route pool: one routing instance per frequency, hazard class and connected group."""
        inv = self.inventory
        p = inv.params
        pairs = self.pairs[self.pairs["have_id"].isin(self.balances.have_row.keys())
                           & self.pairs["want_id"].isin(self.balances.want_row.keys())]
        if pairs.empty:
            return []
        res = inv.resources.set_index("resource_id")
        haves = res.loc[pairs["have_id"].unique()]
        haves = haves[haves["quantity"] > 0]
        freq = pd.Series(collections_per_year(haves, p.milk_round_continuous_collections),
                         index=haves.index)
        offers: list[_Offer] = []
        keys = pd.DataFrame({"f": freq, "haz": haves["hazardous"].astype(bool)})
        for (f, _haz), grp in keys.groupby(["f", "haz"], sort=True):
            sub = pairs[pairs["have_id"].isin(grp.index)]
            for comp in _components(sub):
                offers += self._offers_for(comp, haves, res, int(f))
        log.info("milk rounds: %d routes offered for %d haves and %d processors",
                 len(offers), pairs["have_id"].nunique(), pairs["want_id"].nunique())
        return offers

    def _offers_for(self, pairs: pd.DataFrame, haves: pd.DataFrame, res: pd.DataFrame,
                    f: int) -> list[_Offer]:
        """Routes for one routing instance: ``pairs`` of haves collected ``f`` times a year."""
        inv = self.inventory
        p = inv.params
        hids = sorted(pairs["have_id"].unique())
        wids = sorted(pairs["want_id"].unique())
        sites = [*res.loc[wids, "site_id"], *res.loc[hids, "site_id"]]
        dist = site_distance_matrix(inv.sites, sites, inv.distances)
        spos = pd.Index(inv.sites["site_id"]).get_indexer(sites)
        xy = planar_km(inv.sites["lat"].to_numpy(float)[spos], inv.sites["lon"].to_numpy(float)[spos])
        allowed = np.zeros((len(hids), len(wids)), bool)
        allowed[pd.Index(hids).get_indexer(pairs["have_id"]),
                pd.Index(wids).get_indexer(pairs["want_id"])] = True
        qty = haves.loc[hids, "quantity"].to_numpy(float)
        inst = RoutingInstance(dist, qty / f, p.vehicle_capacity_t, p.milk_round_max_stops,
                               allowed=allowed, xy=xy)
        demand = res.loc[wids, "quantity"].to_numpy(float)
        offers = []
        for r in generate_routes(inst, seed=self.seed, pyvrp_iterations=p.milk_round_pyvrp_iterations):
            q = qty[list(r.stops)]
            if q.sum() > demand[r.depot] * (1 + 1e-9):
                continue  # more than the processor takes
            offers.append(self._offer(inst, wids[r.depot], [hids[s] for s in r.stops], r, f, q))
        return offers

    def _offer(self, inst: RoutingInstance, want_id: str, have_ids: list[str], r: Route,
               f: int, q: np.ndarray) -> _Offer:
        p = self.inventory.params
        m = inst.n_depots
        loc = [r.depot, *(s + m for s in r.stops), r.depot]
        leg = inst.dist[loc[:-1], loc[1:]]
        stop_km = np.cumsum(leg[::-1])[::-1][1:]  # from each stop on to the processor
        cost = f * (p.vehicle_cost_km * r.km + p.vehicle_cost_collection * len(r.stops) * r.vehicles)
        co2 = f * p.vehicle_co2_kg_km * r.km
        return _Offer(want_id, tuple(have_ids), r, f, q, stop_km, cost, co2)

    # ----------------------------------------------------------------- model

    def add_to(self, mb: ModelBuilder) -> None:
        """One binary per route; its quantities join the have and want balance rows."""
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
        hrow, wrow = self.balances.have_row, self.balances.want_row
        for j, o in zip(self.var_idx.tolist(), self.offers, strict=True):
            for h, q in zip(o.have_ids, o.quantities.tolist(), strict=True):
                rows.append(hrow[h])
                cols.append(j)
                vals.append(q)
            rows.append(wrow[o.want_id])
            cols.append(j)
            vals.append(float(o.quantities.sum()))
        mb.add_entries(np.array(rows), np.array(cols), np.array(vals))

    def warm_start(self, x: np.ndarray) -> None:
        """No route in the start: the synergy part's start stays feasible."""
        x[self.var_idx] = 0.0

    # ----------------------------------------------------------------- results

    def _chosen(self, x: np.ndarray) -> list[tuple[str, _Offer]]:
        picked = [o for o, v in zip(self.offers, x[self.var_idx], strict=True) if v > 0.5]
        width = max(3, len(str(len(picked))))
        return [(f"MR{k + 1:0{width}d}", o) for k, o in enumerate(picked)]

    def flows(self, x: np.ndarray) -> pd.DataFrame:
        """One ``milk_round`` flow per collected have; route cost and CO2 shared by quantity."""
        unit = "t"
        recs = []
        for rid, o in self._chosen(x):
            share = o.quantities / o.quantities.sum()
            for h, q, km, s in zip(o.have_ids, o.quantities, o.stop_km, share, strict=True):
                recs.append((h, o.want_id, float(q), unit, MILK_ROUND, rid, float(km),
                             float(o.cost * s), float(o.co2 * s)))
        return pd.DataFrame(recs, columns=FLOW_COLUMNS)

    def routes(self, x: np.ndarray) -> pd.DataFrame:
        """One row per chosen route: ``ROUTE_COLUMNS`` then ``ROUTE_EXTRA_COLUMNS``."""
        res = self.inventory.resources.set_index("resource_id")["site_id"]
        recs = []
        for rid, o in self._chosen(x):
            depot = res[o.want_id]
            visit = [depot]
            for h in o.have_ids:
                if res[h] != visit[-1]:
                    visit.append(res[h])
            visit.append(depot)
            recs.append((rid, ";".join(visit), o.route.km, o.collections, o.want_id,
                         ";".join(o.have_ids), o.route.load, o.route.vehicles, o.cost, o.co2))
        return pd.DataFrame(recs, columns=[*ROUTE_COLUMNS, *ROUTE_EXTRA_COLUMNS])

