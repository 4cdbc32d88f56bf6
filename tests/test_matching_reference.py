"""A slow, plain-Python reference of the matching scores, and its own checks.

:func:`reference_top_k` scores every (have, want) pair of an inventory straight
from its tables, one pair at a time, with the formulas of ``docs/matching.md``
written the obvious way (haversine distances, dictionaries for measured
distances, loops over properties). The kernels are tested against it in
``test_matching_random.py``; the tests here pin the reference itself to
numbers worked out by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from flowmatch.inputs.inventory import Inventory, build_inventory
from flowmatch.inputs.schema import FREQUENCIES
from flowmatch.matching.frozen import type_score_matrix

R_KM = 6371.0088
#: Properties whose ranges are hard limits unless a row says ``limit = soft``
#: (written out here, not read from flowmatch/data/properties.csv, so the
#: reference checks that table too).
HARD_BY_DEFAULT = {"temperature_c", "target_temperature_c", "pressure_bar", "pressure_mpa", "pressure_kpa",
                   "lead_ppm", "cadmium_ppm", "mercury_ppm", "arsenic_ppm", "chromium_ppm"}
SUB = ("s_type", "s_quality", "s_quantity", "s_distance", "s_frequency")


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * R_KM * math.asin(min(1.0, math.sqrt(a)))


class _Context:
    """What :func:`reference_pair` looks up, gathered once per inventory."""

    def __init__(self, inv: Inventory):
        self.params = inv.params
        self.sites = {s: (la, lo) for s, la, lo in inv.sites[["site_id", "lat", "lon"]].itertuples(index=False)}
        self.measured = {(a, b): km for a, b, km in inv.distances[["from_site", "to_site", "km"]].itertuples(index=False)}
        props = inv.properties
        self.values = {(r, p): v for r, p, v in props[["resource_id", "property", "value"]].itertuples(index=False)}
        self.ranges: dict[str, list] = {}
        for r, p, lo, hi, limit in props[["resource_id", "property", "min", "max", "limit"]].itertuples(index=False):
            hard = limit == "hard" or (limit != "soft" and p in HARD_BY_DEFAULT)
            self.ranges.setdefault(r, []).append([p, lo, hi, hard])
        # heat flows downhill: an energy want's temperature needs a have dt_min_k hotter than
        # its required temperature (a level's min, else the colder end of its stream)
        temps: dict[str, dict] = {}
        for r, p, v, lo in props[["resource_id", "property", "value", "min"]].itertuples(index=False):
            if p in ("temperature_c", "target_temperature_c"):
                temps.setdefault(r, {})[(p, "value")] = v
                temps[r][(p, "min")] = lo
        energy_wants = set(inv.wants.loc[inv.wants["category"] == "energy", "resource_id"])
        for r, t in temps.items():
            if r not in energy_wants:
                continue
            t_min = t.get(("temperature_c", "min"), math.nan)
            value = t.get(("temperature_c", "value"), math.nan)
            target = t.get(("target_temperature_c", "value"), math.nan)
            coldest = value if math.isnan(target) or math.isnan(value) else min(value, target)
            need = t_min if not math.isnan(t_min) else coldest
            if ("temperature_c", "value") not in t or math.isnan(need):
                continue
            floor = need + inv.params.dt_min_k
            rows = [x for x in self.ranges.setdefault(r, []) if x[0] == "temperature_c"]
            if rows:
                rows[0][1] = floor if math.isnan(rows[0][1]) else max(rows[0][1], floor)
                rows[0][3] = True
            else:
                self.ranges[r].append(["temperature_c", floor, math.nan, True])
        haves, wants = inv.haves, inv.wants
        ht, wt = sorted(haves["type"].unique()), sorted(wants["type"].unique())
        m = type_score_matrix(ht, wt, inv.taxonomy, inv.compatibility, inv.params)
        self.tscore = {(a, b): m[i, j] for i, a in enumerate(ht) for j, b in enumerate(wt)}


def reference_pair(ctx: _Context, have: dict, want: dict) -> dict | None:
    """Sub-scores, distance and score of one pair, or None when it is not a candidate."""
    p = ctx.params
    if have["category"] != want["category"]:
        return None
    if have["hazardous"] and not want["hazardous"]:
        return None
    s_type = ctx.tscore[(have["type"], want["type"])]
    both = int(have["month_mask"]) & int(want["month_mask"])
    if s_type <= 0 or both == 0 or have["quantity"] <= 0 or want["quantity"] <= 0:
        return None
    hs, ws = have["site_id"], want["site_id"]
    if (hs, ws) in ctx.measured:
        d = ctx.measured[(hs, ws)]
    elif (ws, hs) in ctx.measured:
        d = ctx.measured[(ws, hs)]
    else:
        d = haversine_km(*ctx.sites[hs], *ctx.sites[ws])
    cat = want["category"]
    default = getattr(p, f"max_distance_{cat}_km")
    reach = min(default if math.isnan(have["max_distance_km"]) else have["max_distance_km"],
                default if math.isnan(want["max_distance_km"]) else want["max_distance_km"])
    if d > reach:
        return None
    s_quality = 1.0
    for prop, lo, hi, hard in ctx.ranges.get(want["resource_id"], []):
        if math.isnan(lo) and math.isnan(hi):
            continue
        v = ctx.values.get((have["resource_id"], prop), math.nan)
        if math.isnan(v):
            s_quality *= p.quality_missing
            continue
        excess = lo - v if not math.isnan(lo) and v < lo else (v - hi if not math.isnan(hi) and v > hi else 0.0)
        if excess > 0 and hard:  # a hard limit excludes, however little it is missed by
            return None
        if excess > 0:
            bounds = [abs(b) for b in (lo, hi) if not math.isnan(b)]
            if not math.isnan(lo) and not math.isnan(hi):
                bounds.append(hi - lo)
            scale = max(bounds) or 1.0
            limit = p.quality_tolerance * scale  # 0 when the scale underflows: any excess fails
            s_quality *= max(0.0, 1 - excess / limit) if limit > 0 else 0.0
    if s_quality <= 0:
        return None
    qh, qw = have["quantity"], want["quantity"]
    s_quantity = math.sqrt(min(qh, qw) / max(qh, qw))
    ln_distance = -math.log(2.0) * d / getattr(p, f"distance_scale_{cat}_km")  # may underflow as a number
    s_distance = math.exp(ln_distance)
    n = FREQUENCIES.index
    fit = 1 - (1 - p.frequency_mismatch) * abs(n(have["frequency"]) - n(want["frequency"])) / (len(FREQUENCIES) - 1)
    nb, nh, nw = (bin(m).count("1") for m in (both, int(have["month_mask"]), int(want["month_mask"])))
    s_frequency = nb / math.sqrt(nh * nw) * fit
    if s_frequency <= 0:
        return None
    weights = [p.weight_type, p.weight_quality, p.weight_quantity, p.weight_distance, p.weight_frequency]
    logs = [math.log(s_type), math.log(s_quality), math.log(s_quantity), ln_distance, math.log(s_frequency)]
    log_score = sum(w / sum(weights) * ln for ln, w in zip(logs, weights, strict=True))
    if log_score < -700:  # a score under 1e-304 is no candidate
        return None
    score = math.exp(log_score)
    subs = [s_type, s_quality, s_quantity, s_distance, s_frequency]
    return dict(zip(SUB, subs, strict=True), distance_km=d, score=score)


def reference_top_k(inv: Inventory, top_k: int, min_score: float, by: str = "want") -> dict:
    """``{query row: [(other row, score, details), ...]}`` best first, ties by lower row."""
    ctx = _Context(inv)
    haves = inv.haves.to_dict("records")
    wants = inv.wants.to_dict("records")
    out: dict[int, list] = {q: [] for q in range(len(wants) if by == "want" else len(haves))}
    for i, h in enumerate(haves):
        for j, w in enumerate(wants):
            r = reference_pair(ctx, h, w)
            if r is not None and r["score"] >= min_score:
                out[j if by == "want" else i].append((i if by == "want" else j, r["score"], r))
    for q, found in out.items():
        found.sort(key=lambda x: (-x[1], x[0]))
        out[q] = found[:top_k]
    return out


def assert_same_top_k(idx: np.ndarray, score: np.ndarray, ref: dict, tol: float = 1e-9) -> None:
    """The kernels' rows agree with the reference up to rounding near a boundary.

    Scores must match position by position; the rows kept must match except
    where their score is within ``tol`` of another candidate's (ties decided
    by rounding).
    """
    for q, expect in ref.items():
        got = [(int(t), float(s)) for t, s in zip(idx[q], score[q], strict=True) if t >= 0]
        assert len(got) == len(expect), (q, got, expect)
        np.testing.assert_allclose([s for _, s in got], [s for _, s, _ in expect], rtol=tol, atol=tol)
        for (t, s), (te, se, _) in zip(got, expect, strict=True):
            if t != te:
                assert abs(s - se) <= tol, (q, got, expect)


# --------------------------------------------------------------------------- the reference's own checks


def _two_sites_inventory(have: dict, want: dict, **tables) -> Inventory:
    sites = pd.DataFrame({"site_id": ["A", "B"], "lat": [0.0, 0.0], "lon": [0.0, 1.0]})
    base = {"site_id": "A", "category": "water", "type": "water:effluent", "quantity": 100.0,
            "unit": "m3", "max_distance_km": 200.0}
    res = pd.DataFrame([{**base, "resource_id": "H", "role": "have", **have},
                        {**base, "resource_id": "W", "role": "want", "site_id": "B",
                         "type": "water:process", **want}])
    return build_inventory({"sites": sites, "resources": res,
                            **{k: pd.DataFrame(v) for k, v in tables.items()}})


def test_reference_scores_a_pair_worked_by_hand():
    inv = _two_sites_inventory(
        {"quantity": 50.0, "months": "1-12", "frequency": "continuous"},
        {"quantity": 200.0, "months": "4-9", "frequency": "batch", "type": "water:boiler-feed"},
        properties=[{"resource_id": "H", "property": "cod_mg_l", "value": 120.0},
                    {"resource_id": "W", "property": "cod_mg_l", "max": 100.0},
                    {"resource_id": "W", "property": "chloride_ppm", "max": 250.0}])
    ref = reference_top_k(inv, 5, 0.0)[0][0][2]  # effluent for boiler feed: no knowledge-base row
    d = 2 * math.pi * R_KM / 360  # one degree of longitude on the equator
    assert ref["distance_km"] == pytest.approx(d, rel=1e-12)
    assert ref["s_type"] == pytest.approx(0.6 * 1 / 2)  # related under the water root
    assert ref["s_quality"] == pytest.approx((1 - 20 / (0.5 * 100)) * 0.9)  # 20 over, one missing
    assert ref["s_quantity"] == pytest.approx(math.sqrt(50 / 200))
    assert ref["s_distance"] == pytest.approx(0.5 ** (d / 8.0))
    assert ref["s_frequency"] == pytest.approx(6 / math.sqrt(12 * 6) * 0.5)


def test_reference_drops_pairs_out_of_reach_and_measured_distances_win():
    near = _two_sites_inventory({}, {"max_distance_km": 112.0})  # 111.2 km apart
    assert reference_top_k(near, 5, 0.0)[0][0][2]["distance_km"] < 112
    far = _two_sites_inventory({"max_distance_km": 111.0}, {})
    assert reference_top_k(far, 5, 0.0)[0] == []
    measured = _two_sites_inventory({"max_distance_km": 50.0}, {},
                                    distances=[{"from_site": "B", "to_site": "A", "km": 30.0}])
    assert reference_top_k(measured, 5, 0.0)[0][0][2]["distance_km"] == 30.0
