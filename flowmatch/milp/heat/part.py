"""The heat cascade as a model part: zones, heat links, let-down and the cascade rows.

Sites at zero distance form a *zone* whose streams share one cascade: heat
left over in a slot flows down to the next, and within a zone recovery is
free. Between two zones within reach a *heat link* (one binary per zone pair,
``heat_link_fixed_cost + heat_link_cost_km * km`` a year, and
``transport_cost_mwh_km`` per MWh-km) lets heat of one zone's hot streams go to
the other zone's cold streams in the slot where it is given (imported heat is
used, never passed on). Every cold stream may buy hot utility (virgin; its
``cost`` or ``hot_utility_price``) entering its own top slot, every hot stream
may reject heat to cold utility (disposal; its ``cost`` or
``cold_utility_price``) at its bottom slot. Steam (``energy:steam:*`` levels)
may also be let down directly from a steam have to a steam want of the same or
a lower level (hp -> mp -> lp; never up), at least ``dt_min_k`` hotter than
the want's level like every heat flow. A hot stream's ``opportunity_cost``
(what using its heat costs its owner today) is paid on every MWh it gives.

Zones that no link could ever join are planned apart, one :class:`HeatPart`
each group (:func:`heat_parts`).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from flowmatch.geo import site_pairs_within
from flowmatch.inputs.inventory import Inventory
from flowmatch.milp.builder import ModelBuilder
from flowmatch.milp.costs import (
    carbon_cost,
    infrastructure_factors,
    link_fixed_cost,
    transport_rates,
)
from flowmatch.milp.heat.flows import heat_period_flows, stream_flows
from flowmatch.milp.heat.periods import HeatPeriod, heat_periods
from flowmatch.milp.heat.slots import build_slots, cat
from flowmatch.milp.heat.streams import TOL, HeatStreams, heat_resource_ids, heat_streams
from flowmatch.milp.part import PartContext, PartKind
from flowmatch.milp.periods import build_periods
from flowmatch.milp.tighten import add_pair_link_rows
from flowmatch.plans.plan import ROUTE_COLUMNS

__all__ = ["HeatPart", "heat_parts", "KIND"]

log = logging.getLogger(__name__)

#: An export arc gets its own link row where its bound is at most this share of its direction's capacity.
SLOT_MARGIN = 0.5
#: ... and only in a period with at most this many export arcs. 0: off. Measured (docs/optimise.md,
#: "Tighter rows"): they raise the LP bound of the 50-stream benchmark park 2.8% (3,365 arcs) and
#: of the 200-stream one 0.5% (31,990 arcs, for an LP ten times as slow), but with the defaults'
#: heuristics and search the 50-stream park took 37-41 s to prove 1% with them and 15-16 s without.
SLOT_ROWS_MAX_ARCS = 0


def _zones(inv: Inventory, sites: np.ndarray, max_km: float):
    """Group sites at zero distance into zones, and find the zone pairs within ``max_km``.

    Returns
    -------
    zone : ndarray of int
        Zone of each unique site.
    usites : ndarray of str
        The unique sites.
    za, zb, km : ndarray
        Zone pairs (``za < zb``) at most ``max_km`` apart, with the shortest
        distance between their sites.
    """
    usites = np.unique(sites.astype(str)).astype(object)
    n = len(usites)
    ia, ib, km = site_pairs_within(inv, usites, usites, max(max_km, 0.0))
    zero = km <= 1e-9
    graph = coo_matrix((np.ones(int(zero.sum())), (ia[zero], ib[zero])), shape=(n, n))
    _, zone = connected_components(graph, directed=False)
    a, b = zone[ia], zone[ib]
    keep = a < b
    pairs = pd.DataFrame({"a": a[keep], "b": b[keep], "km": km[keep]})
    pairs = pairs.groupby(["a", "b"], as_index=False)["km"].min()
    return (zone, usites, pairs["a"].to_numpy(np.int64), pairs["b"].to_numpy(np.int64),
            pairs["km"].to_numpy(float))


def heat_parts(inventory: Inventory, resource_ids: list[str] | None = None) -> list[HeatPart]:
    """One :class:`HeatPart` per group of zones that links could join.

    Zones farther apart than their reach can never exchange heat, so each
    group is planned on its own temperature grid (the same optimum, and a far
    smaller model for a country's worth of parks).

    Raises
    ------
    InventoryError
        As :func:`heat_streams`, for every bad stream at once.
    """
    hs = heat_streams(inventory, resource_ids)
    if len(hs) == 0:
        return []
    zone_of_site, usites, za, zb, km = _zones(inventory, hs.sites, float(hs.reach.max()))
    zone = zone_of_site[pd.Index(usites).get_indexer(hs.sites.astype(str))]
    reach = np.zeros(int(zone.max()) + 1)
    np.maximum.at(reach, zone, hs.reach)
    near = km <= np.minimum(reach[za], reach[zb]) + 1e-9
    n = len(reach)
    _, group = connected_components(coo_matrix((np.ones(int(near.sum())), (za[near], zb[near])),
                                               shape=(n, n)), directed=False)
    of_stream = group[zone]
    return [HeatPart(inventory, hs.ids[of_stream == g].astype(str).tolist(), streams=hs.subset(of_stream == g))
            for g in np.unique(of_stream)]



def _first_true(mask: np.ndarray) -> np.ndarray:
    """Per row, the first column that is True; the number of columns where none is (or none exist)."""
    n = mask.shape[1]
    if n == 0:  # no temperature slot at all (every stream has zero duty)
        return np.zeros(mask.shape[0], dtype=np.int64)
    return np.where(mask.any(axis=1), np.argmax(mask, axis=1), n)


def _last_true(mask: np.ndarray) -> np.ndarray:
    """Per row, the last column that is True; -1 where none is (or no column exists)."""
    n = mask.shape[1]
    if n == 0:
        return np.full(mask.shape[0], -1, dtype=np.int64)
    return np.where(mask.any(axis=1), n - 1 - np.argmax(mask[:, ::-1], axis=1), -1)

class HeatPart:
    """The heat cascade as a :class:`~flowmatch.milp.part.ModelPart` (see the module docstring).

    Parameters
    ----------
    inventory : Inventory
    resource_ids : list of str, optional
        The heat resources this part owns (default: :func:`heat_resource_ids`).
    streams : HeatStreams, optional
        Those resources' streams when already read (:func:`heat_parts` reads the
        inventory once and hands each part its subset).

    Raises
    ------
    InventoryError
        A heat stream without temperatures, or one running the wrong way.
    """

    name = "heat"
    row_meaning = {
        "heat_balance": "the heat cascade of zone and interval",
        "heat_import_balance": "the heat imported by zone and interval",
        "steam_give": "the steam that can be let down from",
        "steam_take": "the steam let down to",
        "heat_export_limit": "the heat a zone can export,",
        "heat_link_use": "the capacity of the heat link",
        "heat_slot_link_use": "the heat a link can carry in one temperature interval,",
    }

    def __init__(self, inventory: Inventory, resource_ids: list[str] | None = None,
                 streams: HeatStreams | None = None):
        self.params = inventory.params
        # ``streams``: those of ``resource_ids`` already read (heat_parts reads them once for all parts)
        self.streams = hs = heat_streams(inventory, resource_ids) if streams is None else streams
        self.slots = sl = build_slots(hs)
        n = len(hs)
        zone_of_site, usites, za, zb, zkm = _zones(inventory, hs.sites,
                                                   float(hs.reach.max()) if n else 0.0)
        spos = pd.Index(usites).get_indexer(hs.sites.astype(str))
        self.zone = zone = zone_of_site[spos] if n else np.zeros(0, np.int64)
        n_zone = int(zone.max()) + 1 if n else 0
        self.n_zone = n_zone
        # per zone: its hot and cold duty, reach, and the km and factors to every other zone
        hot_duty = np.bincount(zone, weights=np.where(hs.hot, hs.duty, 0.0), minlength=n_zone)
        cold_duty = np.bincount(zone, weights=np.where(hs.hot, 0.0, hs.duty), minlength=n_zone)
        reach = np.zeros(n_zone)
        np.maximum.at(reach, zone, hs.reach)
        _, rep = np.unique(zone_of_site, return_index=True)  # a site standing for each zone
        # heat and demand per zone and slot
        hot_k = hs.hot[sl.stream]
        zk = zone[sl.stream]
        self.H = np.zeros((n_zone, len(sl)))
        self.C = np.zeros((n_zone, len(sl)))
        np.add.at(self.H, (zk[hot_k], sl.slot[hot_k]), sl.heat[hot_k])
        np.add.at(self.C, (zk[~hot_k], sl.slot[~hot_k]), sl.heat[~hot_k])
        self.hot_duty = hot_duty
        # links: zone pairs within reach where heat can go one way or the other
        ok = (zkm <= np.minimum(reach[za], reach[zb]) + 1e-9) & (
            ((hot_duty[za] > 0) & (cold_duty[zb] > 0)) | ((hot_duty[zb] > 0) & (cold_duty[za] > 0)))
        za, zb = za[ok], zb[ok]
        self.link_a, self.link_b = za, zb
        self.link_km = zkm[ok]
        tf, ff = infrastructure_factors(inventory, usites[rep[za]], usites[rep[zb]],
                                        np.full(len(za), "energy", dtype=object))
        self.link_transport_factor, self.link_fixed_factor = tf, ff
        self.link_cap_ab = self._direction_cap(za, zb, cold_duty)
        self.link_cap_ba = self._direction_cap(zb, za, cold_duty)
        self._drop_unpaying_links(zone)
        za, zb = self.link_a, self.link_b
        self._link_of = {(int(a), int(b)): k for k, (a, b) in enumerate(zip(za, zb, strict=True))}
        self._link_of.update({(int(b), int(a)): k for (a, b), k in list(self._link_of.items())})
        self._exports()
        self._steam_pairs()
        self.periods = build_periods(hs.months)
        self._idx: dict[str, np.ndarray] = {}
        self._idxs: list[dict[str, np.ndarray]] = []

    # ------------------------------------------------------------------ structure

    def _link_fixed(self) -> np.ndarray:
        """Yearly cost of each heat link if built."""
        p = self.params
        return link_fixed_cost("energy", self.link_km, p) * self.link_fixed_factor

    def _direction_cap(self, a: np.ndarray, b: np.ndarray, cold_duty: np.ndarray) -> np.ndarray:
        """Most heat zone ``a`` can send zone ``b`` (per pair of zones), MWh a year.

        What ``a``'s hot streams can give ``b``'s cold streams across
        ``dt_min_k`` (``b``'s demand less the hot utility the problem table of
        those streams alone needs), plus what ``a``'s steam can be let down to
        ``b``'s steam wants.
        """
        hs = self.streams
        steam = hs.level & (hs.steam_rank >= 0) & (hs.duty > 0)
        steam_hot = np.bincount(self.zone, weights=np.where(steam & hs.hot, hs.duty, 0.0),
                                minlength=self.n_zone)
        steam_cold = np.bincount(self.zone, weights=np.where(steam & ~hs.hot, hs.duty, 0.0),
                                 minlength=self.n_zone)
        cap = np.zeros(len(a))
        for lo in range(0, len(a), 2048):
            sa, sb = a[lo:lo + 2048], b[lo:lo + 2048]
            cum = np.cumsum(self.H[sa] - self.C[sb], axis=1)
            qh = np.maximum(0.0, -cum.min(axis=1)) if cum.shape[1] else np.zeros(len(sa))
            cap[lo:lo + 2048] = cold_duty[sb] - qh
        cap = np.minimum(np.minimum(self.hot_duty[a], cold_duty[b]),
                         np.maximum(cap, 0.0) + np.minimum(steam_hot[a], steam_cold[b]))
        return np.where(cap > TOL * max(float(hs.duty.sum()), 1.0), cap, 0.0)

    def _drop_unpaying_links(self, zone: np.ndarray) -> None:
        """Leave out links whose most possible saving is below their yearly cost.

        A link saves at most its capacity times the best utility saving per
        MWh (hot utility of a cold stream at one end plus cold utility of a
        hot stream at the other, less transport). Dropping such a link changes
        no optimum: every stream can always fall back on utility.
        """
        hs = self.streams
        n_zone = self.n_zone
        best_hot = np.full(n_zone, -np.inf)  # dearest cold utility a zone's hot streams avoid
        best_cold = np.full(n_zone, -np.inf)  # dearest hot utility a zone's cold streams avoid
        np.maximum.at(best_hot, zone[hs.hot], (hs.price - hs.opportunity)[hs.hot])
        np.maximum.at(best_cold, zone[~hs.hot], hs.price[~hs.hot])
        unit, _ = self._link_unit_cost()
        a, b = self.link_a, self.link_b
        most = (self.link_cap_ab * np.maximum(best_hot[a] + best_cold[b] - unit, 0.0)
                + self.link_cap_ba * np.maximum(best_hot[b] + best_cold[a] - unit, 0.0))
        keep = (most >= self._link_fixed()) & ((self.link_cap_ab > 0) | (self.link_cap_ba > 0))
        if keep.all():
            return
        log.debug("heat: %d of %d links cannot pay for themselves", int((~keep).sum()), len(keep))
        for name in ("link_a", "link_b", "link_km", "link_transport_factor", "link_fixed_factor",
                     "link_cap_ab", "link_cap_ba"):
            setattr(self, name, getattr(self, name)[keep])

    def _exports(self) -> None:
        """Export arcs (from zone, to zone, slot, link) worth a variable.

        Heat leaves a zone where its hot streams give heat, towards a zone that
        needs heat at or below that slot.
        """
        H, C = self.H, self.C
        # lowest slot at which each zone still needs heat
        needs = C > 0
        last_need = _last_true(needs)
        fr, to, sl, ln = [], [], [], []
        for k, (a, b) in enumerate(zip(self.link_a, self.link_b, strict=True)):
            for x, y, cap in ((a, b, self.link_cap_ab[k]), (b, a, self.link_cap_ba[k])):
                if cap <= 0:
                    continue
                slots = np.flatnonzero(H[x] > 0)
                slots = slots[slots <= last_need[y]]
                fr.append(np.full(len(slots), x))
                to.append(np.full(len(slots), y))
                sl.append(slots)
                ln.append(np.full(len(slots), k))
        self.exp_from, self.exp_to, self.exp_slot, self.exp_link = cat(fr), cat(to), cat(sl), cat(ln)

    def _steam_pairs(self) -> None:
        """Let-down pairs: a steam level have to a steam level want of the same or a lower level."""
        hs, zone = self.streams, self.zone
        steam = hs.level & (hs.steam_rank >= 0) & (hs.duty > 0)
        gi = np.flatnonzero(steam & hs.hot)
        gj = np.flatnonzero(steam & ~hs.hot)
        grid_i, grid_j = np.meshgrid(gi, gj, indexing="ij")
        i, j = grid_i.ravel(), grid_j.ravel()
        ri, rj = hs.steam_rank[i], hs.steam_rank[j]
        # heat flows downhill by dt_min_k here too, as in the cascade and the candidates
        ok = (hs.t_supply[i] >= hs.t_supply[j] + hs.dt_min) & ((ri == 0) | (rj == 0) | (ri >= rj))
        link = np.array([-1 if zone[a] == zone[b] else self._link_of.get((int(zone[a]), int(zone[b])), -2)
                         for a, b in zip(i, j, strict=True)], dtype=np.int64)
        ok &= link != -2
        self.steam_i, self.steam_j, self.steam_link = i[ok], j[ok], link[ok]

    def resource_ids(self) -> list[str]:
        """Ids of the heat streams this part owns."""
        return [str(r) for r in self.streams.ids]

    # ------------------------------------------------------------------ model

    def _link_unit_cost(self) -> tuple[np.ndarray, np.ndarray]:
        """Cost (carbon included) and kg CO2e per MWh carried over each link."""
        p = self.params
        rate, co2_rate = transport_rates(np.array(["energy"]), p)
        co2 = co2_rate[0] * self.link_km
        return rate[0] * self.link_km * self.link_transport_factor + carbon_cost(co2, p), co2

    def add_to(self, mb: ModelBuilder) -> None:
        """Add utilities, residuals, exports, let-down, links and the cascade rows to ``mb``.

        One cascade per period of the year (:mod:`flowmatch.milp.heat.periods`), all on the
        same heat links (built once).
        """
        links = None
        self._idxs = []
        for d in heat_periods(self):
            links = self._add_period(mb, d, links)
        self._idx = self._idxs[0]

    def _add_period(self, mb: ModelBuilder, d: HeatPeriod, links: np.ndarray | None) -> np.ndarray:
        """Add period ``d``'s cascade (the heat links too when ``links`` is None); return the links."""
        hs, sl, sfx = self.streams, self.slots, d.suffix
        n_zone, n_slot = self.H.shape
        ids = hs.ids
        hot = np.flatnonzero(hs.hot & (d.duty > 0))
        cold = np.flatnonzero(~hs.hot & (d.duty > 0))
        # the export arcs and let-down pairs that can carry heat in the period (all with one period)
        ek, sk = d.exports, d.letdowns
        ef, et, es, el = self.exp_from[ek], self.exp_to[ek], self.exp_slot[ek], self.exp_link[ek]
        si, sj = self.steam_i[sk], self.steam_j[sk]
        hu = mb.add_vars(len(cold), ub=d.duty[cold], name=[f"hot_utility[{ids[j]}]{sfx}" for j in cold],
                         cost=hs.price[cold], co2=hs.co2[cold])
        # using a hot stream's heat costs its opportunity cost: opp * (duty - rejected)
        cu = mb.add_vars(len(hot), ub=d.duty[hot], name=[f"cold_utility[{ids[i]}]{sfx}" for i in hot],
                         cost=hs.price[hot] - hs.opportunity[hot], co2=hs.co2[hot])
        mb.add_constant(cost=float(hs.opportunity[hot] @ d.duty[hot]))
        link_cost, link_co2 = self._link_unit_cost()
        e_cost, e_co2 = link_cost[el], link_co2[el]
        exp = mb.add_vars(len(ef), name=f"heat_export{sfx}", cost=e_cost, co2=e_co2)
        s_link = self.steam_link[sk]
        s_on = s_link >= 0
        s_cost = np.where(s_on, link_cost[np.maximum(s_link, 0)] if len(link_cost) else 0.0, 0.0)
        s_co2 = np.where(s_on, link_co2[np.maximum(s_link, 0)] if len(link_co2) else 0.0, 0.0)
        steam = mb.add_vars(len(si), ub=np.minimum(d.duty[si], d.duty[sj]),
                            name=[f"steam_letdown[{ids[i]},{ids[j]}]{sfx}"
                                  for i, j in zip(si, sj, strict=True)],
                            cost=s_cost, co2=s_co2)
        mb.declare_pair_flows(ids[si], ids[sj], steam, 1.0, "cascade", self.name)
        if links is None:
            links = mb.add_vars(len(self.link_a), ub=1.0, integer=True, name="heat_link",
                                cost=self._link_fixed())
        # each zone's cascade in runs of slots: a run starts where the zone's heat or demand per
        # degree changes or imported heat arrives, and ends where heat leaves (utility,
        # exports), so its residual is linear inside a run and is checked at run ends only
        active = (self.H > 0) | (self.C > 0)
        first = _first_true(active)
        last = _last_true(active)
        np.minimum.at(first, self.exp_to, self.exp_slot)  # a zone's range starts at its first import
        starts = np.zeros((n_zone, n_slot + 1), dtype=bool)
        on = hs.duty > 0
        starts[self.zone[on], sl.first[on]] = True
        starts[self.zone[on], sl.last[on] + 1] = True
        starts[self.exp_from, self.exp_slot + 1] = True
        starts[self.exp_to, self.exp_slot] = True
        zz = cat([np.full(max(last[z] - first[z] + 1, 0), z) for z in range(n_zone)])
        ss = cat([np.arange(first[z], last[z] + 1) for z in range(n_zone)])
        st = starts[zz, ss] | np.r_[True, zz[1:] != zz[:-1]] if len(zz) else np.zeros(0, bool)
        run = np.cumsum(st) - 1
        n_run = int(run[-1]) + 1 if len(run) else 0
        run_zone, run_start = zz[st], ss[st]
        run_end = ss[np.r_[np.flatnonzero(st)[1:] - 1, len(ss) - 1]] if n_run else np.zeros(0, np.int64)
        row_of = -np.ones((n_zone, n_slot), dtype=np.int64)
        row_of[zz, ss] = run
        run_c_year = np.bincount(run, weights=self.C[zz, ss], minlength=n_run)
        run_c = np.bincount(run, weights=d.C[zz, ss], minlength=n_run) if d.suffix else run_c_year
        rhs = run_c - np.bincount(run, weights=d.H[zz, ss], minlength=n_run)
        followed = np.r_[run_zone[1:] == run_zone[:-1], False] if n_run else np.zeros(0, bool)
        res_run = np.flatnonzero(followed)  # a residual flows from each run to the next
        res = mb.add_vars(len(res_run), name=f"heat_residual{sfx}")
        # import pools: each run of a zone that can receive; imports used in the zone only
        imp_runs = np.flatnonzero(np.isin(run_zone, self.exp_to))
        ci_run = imp_runs[run_c_year[imp_runs] > 0]
        cimp = mb.add_vars(len(ci_run), ub=run_c[ci_run], name=f"heat_import_use{sfx}")
        ires_run = imp_runs[followed[imp_runs]]
        ires = mb.add_vars(len(ires_run), name=f"heat_import_residual{sfx}")

        # own pool balance per run: R[r-1] - R[r] + hu + cimp + steam_in - exp - cu - steam_out = C - H
        r, c, v = [], [], []

        def put(rows, cols, val):
            r.append(rows)
            c.append(cols)
            v.append(np.broadcast_to(np.asarray(val, float), (len(rows),)))

        put(res_run, res, -1.0)
        put(res_run + 1, res, 1.0)
        put(row_of[self.zone[cold], sl.first[cold]], hu, 1.0)
        put(row_of[self.zone[hot], sl.last[hot]], cu, -1.0)
        put(ci_run, cimp, 1.0)
        put(row_of[ef, es], exp, -1.0)
        put(row_of[self.zone[sj], sl.first[sj]], steam, 1.0)
        put(row_of[self.zone[si], sl.first[si]], steam, -1.0)
        mb.add_rows(np.concatenate(r), np.concatenate(c), np.concatenate(v), rhs, rhs,
                    name=[f"heat_balance[z{z},s{a}-{b}]{sfx}"
                          for z, a, b in zip(run_zone, run_start, run_end, strict=True)])
        # import pool balance per run: I[r-1] - I[r] + exp_in - cimp = 0
        if len(imp_runs):
            irow = -np.ones(n_run, dtype=np.int64)
            irow[imp_runs] = np.arange(len(imp_runs))
            r, c, v = [], [], []
            put(irow[ires_run], ires, -1.0)
            put(irow[ires_run + 1], ires, 1.0)
            put(irow[row_of[et, es]], exp, 1.0)
            put(irow[ci_run], cimp, -1.0)
            mb.add_rows(np.concatenate(r), np.concatenate(c), np.concatenate(v), 0.0,
                        np.zeros(len(imp_runs)),
                        name=[f"heat_import_balance[z{run_zone[k]},s{run_start[k]}-{run_end[k]}]{sfx}"
                              for k in imp_runs])
        # let-down: a steam have gives, a steam want takes, at most its duty
        if len(steam):
            ui, inv_i = np.unique(si, return_inverse=True)
            mb.add_rows(inv_i, steam, np.ones(len(steam)), -np.inf, d.duty[ui],
                        name=[f"steam_give[{ids[i]}]{sfx}" for i in ui])
            uj, inv_j = np.unique(sj, return_inverse=True)
            mb.add_rows(inv_j, steam, np.ones(len(steam)), -np.inf, d.duty[uj],
                        name=[f"steam_take[{ids[j]}]{sfx}" for j in uj])
            # demand let down plus demand met by imports stays within the run's demand
            if len(ci_run):
                ci_of = -np.ones(n_run, dtype=np.int64)
                ci_of[ci_run] = np.arange(len(ci_run))
                k_ci = ci_of[row_of[self.zone[sj], sl.first[sj]]]
                sel = np.flatnonzero(k_ci >= 0)
                if len(sel):
                    used, loc = np.unique(k_ci[sel], return_inverse=True)
                    mb.add_rows(np.concatenate([loc, np.arange(len(used))]),
                                np.concatenate([steam[sel], cimp[used]]), np.ones(len(sel) + len(used)),
                                -np.inf, run_c[ci_run[used]], name=f"heat_import_steam{sfx}")
        # a zone sends out at most its own hot streams' heat; a link carries heat only when built
        out_from = np.concatenate([ef, self.zone[si][s_on]])
        out_cols = np.concatenate([exp, steam[s_on]])
        if len(out_cols):
            uz, loc = np.unique(out_from, return_inverse=True)
            mb.add_rows(loc, out_cols, np.ones(len(out_cols)), -np.inf, d.hot_duty[uz],
                        name=[f"heat_export_limit[z{z}]{sfx}" for z in uz])
        if len(links):
            # per direction: heat sent from a to b (or b to a) only over a built link
            e_dir = (ef != self.link_a[el]).astype(np.int64)
            s_dir = (self.zone[si[s_on]] != self.link_a[s_link[s_on]]).astype(np.int64)
            used = np.flatnonzero(np.column_stack([self.link_cap_ab, self.link_cap_ba]).ravel() > 0)
            cap = np.column_stack([d.cap_ab, d.cap_ba]).ravel()
            local = -np.ones(len(cap), dtype=np.int64)
            local[used] = np.arange(len(used))
            rows = np.concatenate([local[2 * el + e_dir], local[2 * s_link[s_on] + s_dir],
                                   np.arange(len(used))])
            cols = np.concatenate([exp, steam[s_on], links[used // 2]])
            vals = np.concatenate([np.ones(len(exp) + int(s_on.sum())), -cap[used]])
            mb.add_rows(rows, cols, vals, -np.inf, 0.0,
                        name=[f"heat_link_use[z{self.link_a[k // 2]}>z{self.link_b[k // 2]}]{sfx}" if k % 2 == 0
                              else f"heat_link_use[z{self.link_b[k // 2]}>z{self.link_a[k // 2]}]{sfx}"
                              for k in used])
            self._add_slot_link_rows(mb, d, exp, ef, et, es, local[2 * el + e_dir], links[used // 2], cap[used])
        self._idxs.append({"hot_utility": hu, "cold_utility": cu, "export": exp, "steam": steam,
                     "link": links, "residual": res, "import_residual": ires, "import_use": cimp,
                     "hot": hot, "cold": cold, "res_run": res_run, "run_zone": run_zone,
                     "run_of_hot": row_of[self.zone[hot], sl.last[hot]],
                     "run_of_cold": row_of[self.zone[cold], sl.first[cold]], "run_net": -rhs,
                     "ci_z": run_zone[ci_run], "ci_start": run_start[ci_run], "ci_end": run_end[ci_run],
                           "exports": ek, "letdowns": sk})
        return links

    def _add_slot_link_rows(self, mb: ModelBuilder, d: HeatPeriod, exp: np.ndarray, ef: np.ndarray,
                            et: np.ndarray, es: np.ndarray, arc_dir: np.ndarray, dir_links: np.ndarray,
                            dir_cap: np.ndarray) -> None:
        """Per export arc and temperature slot: ``export <= min(heat, demand) * link``.

        Heat leaving zone ``a`` in slot ``k`` is its hot streams' heat at or above ``k``
        (exports are the zone's hot streams' heat, as the export limit has it), and heat
        reaching zone ``b`` in slot ``k`` is used by ``b``'s cold streams at or below ``k``
        (imports are never passed on), so each arc's own big-M is the smaller of the two
        cumulative duties. The direction's row aggregates every slot against the
        direction's capacity; these rows cut where an arc's bound is well below it
        (:func:`flowmatch.milp.tighten.add_pair_link_rows`, margin ``SLOT_MARGIN``), and only
        in periods of at most ``SLOT_ROWS_MAX_ARCS`` arcs (0 by default: off, see there).
        """
        if len(ef) > SLOT_ROWS_MAX_ARCS:
            return
        hot_above = np.cumsum(d.H, axis=1)
        cold_below = np.cumsum(d.C[:, ::-1], axis=1)[:, ::-1]
        arc_cap = np.minimum(hot_above[ef, es], cold_below[et, es])
        add_pair_link_rows(mb, exp, arc_dir, arc_cap, dir_links, dir_cap,
                           [f"z{a}>z{b},s{k}{d.suffix}" for a, b, k in zip(ef, et, es, strict=True)],
                           "heat_slot_link_use", margin=SLOT_MARGIN)

    def warm_start(self, x: np.ndarray) -> None:
        """Today's state: every cold stream on hot utility, every hot stream to cold utility."""
        for ix, d in zip(self._idxs, heat_periods(self), strict=True):
            self._warm_period(x, ix, d.duty)

    def _warm_period(self, x: np.ndarray, ix: dict, duty: np.ndarray) -> None:
        for k in ("export", "steam", "link", "import_residual", "import_use"):
            x[ix[k]] = 0.0
        x[ix["hot_utility"]] = duty[ix["cold"]]
        x[ix["cold_utility"]] = duty[ix["hot"]]
        # own pool: heat entered minus heat taken, summed down each zone's runs
        net = ix["run_net"].copy()
        np.add.at(net, ix["run_of_cold"], duty[ix["cold"]])
        np.add.at(net, ix["run_of_hot"], -duty[ix["hot"]])
        cum = np.cumsum(net)
        zone_first = np.r_[True, ix["run_zone"][1:] != ix["run_zone"][:-1]] if len(net) else net > 0
        first_of = np.maximum.accumulate(np.where(zone_first, np.arange(len(net)), 0))
        cum -= (cum - net)[first_of]  # what earlier zones left is not this zone's
        x[ix["residual"]] = np.clip(cum[ix["res_run"]], 0.0, None)

    # ------------------------------------------------------------------ solution to flows

    def flows(self, x: np.ndarray) -> pd.DataFrame:
        """Hot-to-cold, hot-utility and cold-utility rows; each stream balances exactly."""
        return stream_flows(self, x)

    def period_flows(self, x: np.ndarray) -> pd.DataFrame:
        """Flows in each period of the year (``flows_by_period.csv``; empty with one period)."""
        return heat_period_flows(self, x)

    def routes(self, x: np.ndarray) -> pd.DataFrame:
        """Heat is piped: no routes."""
        return pd.DataFrame(columns=ROUTE_COLUMNS)


def _build(ctx: PartContext, resource_ids: list[str]) -> list[HeatPart]:
    return heat_parts(ctx.inventory, resource_ids) if resource_ids else []


#: The heat network owns the heat and steam resources (:func:`heat_resource_ids`).
KIND = PartKind("heat", build=_build, takes=heat_resource_ids)
