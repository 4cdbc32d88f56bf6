"""From a solution of the heat cascade to flows between streams.

After the solve, a top-down pass through each zone's cascade (pools of heat
labelled by where it came from) turns the solution into flows from hot to cold
streams, hot utility and cold utility, each stream balancing exactly.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, cast

import numpy as np
import pandas as pd

from flowmatch.milp.heat.streams import TOL
from flowmatch.milp.periods import PERIOD_COLUMNS
from flowmatch.plans.plan import DISPOSAL, FLOW_COLUMNS, VIRGIN

if TYPE_CHECKING:
    from flowmatch.milp.heat.part import HeatPart

__all__ = ["stream_flows", "period_stream_flows", "heat_period_flows"]


def stream_flows(part: HeatPart, x: np.ndarray) -> pd.DataFrame:
    """Hot-to-cold, hot-utility and cold-utility rows of ``part`` in solution ``x``, for the year.

    With several periods, each period's cascade is passed through on its own
    and the year's flows are their sums.
    """
    passes = _period_passes(part, x)
    whole = passes[0]
    for d in passes[1:]:
        for key, q in d.pairs.items():
            whole.pairs[key] += q
        whole.rejected += d.rejected
        whole.rejected_cost += d.rejected_cost
        whole.rejected_co2 += d.rejected_co2
    whole.part = part
    return whole.frame()


def period_stream_flows(part: HeatPart, x: np.ndarray) -> list[pd.DataFrame]:
    """The flow rows of each period of ``part`` in solution ``x`` (a built link's yearly cost
    shared by the heat it carries in that period)."""
    return [d.frame() for d in _period_passes(part, x)]


def heat_period_flows(part: HeatPart, x: np.ndarray) -> pd.DataFrame:
    """Rows of ``PERIOD_COLUMNS`` for each period of ``part`` (empty with one period)."""
    per = part.periods
    if len(per) == 1:
        return pd.DataFrame(columns=PERIOD_COLUMNS)
    frames = [f.assign(period=per.label(k), months=per.months(k))
              for k, f in enumerate(period_stream_flows(part, x))]
    return pd.concat(frames, ignore_index=True)[PERIOD_COLUMNS]


def _period_passes(part: HeatPart, x: np.ndarray) -> list[_Disaggregation]:
    from flowmatch.milp.heat.periods import PeriodView, heat_periods

    periods = heat_periods(part)
    if len(periods) == 1:
        return [_Disaggregation(part, x)]
    return [_Disaggregation(cast("HeatPart", PeriodView(part, d, ix)), x)
            for d, ix in zip(periods, part._idxs, strict=True)]


class _Disaggregation:
    """Top-down pass through each zone's cascade turning a solution into stream flows.

    Heat in a pool is labelled ``(source, link)``: ``source`` a hot stream
    index, or ``-1 - j`` for hot utility bought by cold stream ``j``; ``link``
    the heat link it came over (-1 if none).
    """

    def __init__(self, part: HeatPart, x: np.ndarray):
        self.part = part
        self.x = x
        hs = part.streams
        self.pairs: dict[tuple[int, int, int], float] = defaultdict(float)  # (source, cold, link)
        self.rejected = np.zeros(len(hs))  # heat of hot stream i sent to cold utility
        self.rejected_cost = np.zeros(len(hs))
        self.rejected_co2 = np.zeros(len(hs))
        self.run()

    @staticmethod
    def _take(pool: dict, amount: float, prefer: tuple | None = None) -> list[tuple[tuple, float]]:
        out = []
        keys = list(pool)
        if prefer is not None and pool.get(prefer, 0.0) > 0:
            keys = [prefer] + [k for k in keys if k != prefer]
        for key in keys:
            if amount <= 0:
                break
            t = min(pool[key], amount)
            out.append((key, t))
            amount -= t
            pool[key] -= t
            if pool[key] <= 0:
                del pool[key]
        return out

    def run(self) -> None:
        part, x, hs, sl = self.part, self.x, self.part.streams, self.part.slots
        ix = part._idx
        n_zone, n_slot = part.H.shape
        tol = TOL * max(float(hs.duty.sum()), 1.0)
        # events per slot
        inflow = defaultdict(list)  # slot -> (zone, label, amount)
        for k in range(len(sl.stream)):
            i = sl.stream[k]
            if hs.hot[i]:
                inflow[sl.slot[k]].append((part.zone[i], (int(i), -1), sl.heat[k]))
        hu = np.clip(x[ix["hot_utility"]], 0.0, None)
        for j, q in zip(ix["cold"], hu, strict=True):
            if q > tol:
                inflow[sl.first[j]].append((part.zone[j], (-1 - int(j), -1), q))
        steam = np.clip(x[ix["steam"]], 0.0, None)
        steam_out: defaultdict[int, float] = defaultdict(float)  # hot stream -> steam let down
        steam_in: defaultdict[int, float] = defaultdict(float)  # cold stream -> steam taken
        for k, (i, j) in enumerate(zip(part.steam_i, part.steam_j, strict=True)):
            if steam[k] > tol:
                self.pairs[(int(i), int(j), int(part.steam_link[k]))] += steam[k]
                steam_out[int(i)] += steam[k]
                steam_in[int(j)] += steam[k]
        exports = defaultdict(list)  # slot -> (from, to, link, amount)
        for a, b, s, ln, q in zip(part.exp_from, part.exp_to, part.exp_slot, part.exp_link,
                                  np.clip(x[ix["export"]], 0.0, None), strict=True):
            if q > tol:
                exports[s].append((a, b, ln, q))
        import_use = defaultdict(float)  # a run's imported heat, spread over its slots by demand
        for z, a, b, q in zip(ix["ci_z"], ix["ci_start"], ix["ci_end"],
                              np.clip(x[ix["import_use"]], 0.0, None), strict=True):
            need = part.C[z, a:b + 1]
            for off in np.flatnonzero(need > 0):
                import_use[(int(z), int(a + off))] = q * need[off] / need.sum()
        demand = defaultdict(list)  # slot -> (zone, cold stream, amount)
        for k in range(len(sl.stream)):
            j = sl.stream[k]
            if not hs.hot[j]:
                demand[sl.slot[k]].append((part.zone[j], int(j), sl.heat[k]))
        cu = np.clip(x[ix["cold_utility"]], 0.0, None)
        reject = defaultdict(list)  # slot -> (zone, hot stream, amount)
        for i, q in zip(ix["hot"], cu, strict=True):
            if q > tol:
                reject[sl.last[i]].append((part.zone[i], int(i), q))

        # per zone: label (source, link) -> heat in the pool
        own: list[dict[tuple[int, int], float]] = [{} for _ in range(n_zone)]
        imp: list[dict[tuple[int, int], float]] = [{} for _ in range(n_zone)]
        for s in range(n_slot):
            for z, label, q in inflow.get(s, ()):
                src = label[0]
                if src >= 0 and src in steam_out:  # steam let down directly leaves first
                    given = min(q, steam_out.pop(src))
                    q -= given
                if q > 0:
                    own[z][label] = own[z].get(label, 0.0) + q
            for a, b, ln, q in exports.get(s, ()):
                for (src, _), t in self._take(own[a], q):
                    key = (src, int(ln))
                    imp[b][key] = imp[b].get(key, 0.0) + t
            for z, j, q in demand.get(s, ()):
                if j in steam_in:
                    met = min(q, steam_in[j])
                    steam_in[j] -= met
                    q -= met
                from_imp = min(q, import_use.get((int(z), s), 0.0))
                if from_imp > 0:
                    import_use[(int(z), s)] -= from_imp
                    got = self._take(imp[z], from_imp)
                    q -= sum(t for _, t in got)
                    self._consume(j, got)
                got = self._take(own[z], q)
                q -= sum(t for _, t in got)
                self._consume(j, got)
                if q > 0:  # solver tolerance: the rest is hot utility
                    self.pairs[(-1 - j, j, -1)] += q
            for z, i, q in reject.get(s, ()):
                for (src, _), t in self._take(own[z], q, prefer=(i, -1)):
                    self._reject(src, i, t)
        for pool in [*own, *imp]:  # heat left at the bottom (solver tolerance) is rejected
            for (src, _), t in pool.items():
                self._reject(src, src, t)

    def _consume(self, j: int, got: list[tuple[tuple, float]]) -> None:
        for (src, ln), t in got:
            self.pairs[(src, j, ln)] += t

    def _reject(self, src: int, cooler: int, amount: float) -> None:
        if src < 0:
            return  # hot utility bought but not needed: not bought
        hs = self.part.streams
        if not hs.hot[cooler]:
            cooler = src
        self.rejected[src] += amount
        self.rejected_cost[src] += amount * hs.price[cooler]
        self.rejected_co2[src] += amount * hs.co2[cooler]

    def frame(self) -> pd.DataFrame:
        part, hs = self.part, self.part.streams
        link_cost, link_co2 = part._link_unit_cost()
        built = self.x[part._idx["link"]] > 0.5 if len(part.link_a) else np.zeros(0, bool)
        fixed = part._link_fixed()
        if not self.pairs:
            pairs = pd.DataFrame({"src": [], "cold": [], "link": [], "q": []})
        else:
            keys = np.array(list(self.pairs.keys()), dtype=np.int64)
            pairs = pd.DataFrame({"src": keys[:, 0], "cold": keys[:, 1], "link": keys[:, 2],
                                  "q": np.fromiter(self.pairs.values(), float, len(self.pairs))})
        pairs = pairs[pairs["q"] > 0].astype({"src": np.int64, "cold": np.int64, "link": np.int64})
        ln = pairs["link"].to_numpy()
        q = pairs["q"].to_numpy()
        on = ln >= 0
        cost = np.zeros(len(pairs))
        co2 = np.zeros(len(pairs))
        km = np.zeros(len(pairs))
        if on.any():
            cost[on] = q[on] * link_cost[ln[on]]
            co2[on] = q[on] * link_co2[ln[on]]
            km[on] = part.link_km[ln[on]]
            carried = np.bincount(ln[on], weights=q[on], minlength=len(part.link_a))
            cost[on] += np.where(built[ln[on]], fixed[ln[on]], 0.0) * q[on] / carried[ln[on]]
        src = pairs["src"].to_numpy()
        util = src < 0
        cost[~util] += q[~util] * hs.opportunity[src[~util]]  # what using the heat costs its owner
        buyer = np.where(util, -1 - src, 0)
        cost[util] += q[util] * hs.price[buyer[util]]
        co2[util] += q[util] * hs.co2[buyer[util]]
        have = np.where(util, VIRGIN, hs.ids[np.maximum(src, 0)])
        rows = pd.DataFrame({"have_id": have, "want_id": hs.ids[pairs["cold"].to_numpy()],
                             "quantity": q, "mode": np.where(util, "virgin", "cascade"),
                             "distance_km": km, "cost": cost, "co2_kg": co2})
        rows = rows.groupby(["have_id", "want_id", "mode"], as_index=False, sort=False).agg(
            quantity=("quantity", "sum"), distance_km=("distance_km", "max"), cost=("cost", "sum"),
            co2_kg=("co2_kg", "sum"))
        rej = self.rejected > 0
        disposal = pd.DataFrame({"have_id": hs.ids[rej], "want_id": DISPOSAL,
                                 "quantity": self.rejected[rej], "mode": "disposal",
                                 "distance_km": 0.0, "cost": self.rejected_cost[rej],
                                 "co2_kg": self.rejected_co2[rej]})
        parts = [df for df in (rows, disposal) if len(df)]
        out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=FLOW_COLUMNS)
        out["unit"] = "MWh"
        out["route_id"] = ""
        return out[FLOW_COLUMNS]
