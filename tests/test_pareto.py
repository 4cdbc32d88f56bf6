"""The Pareto front: dominance filtering, the plot and the files."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from flowmatch.studies.pareto import _ticks, non_dominated, pareto_svg, write_pareto

SVG = "{http://www.w3.org/2000/svg}"


def _front(cost, co2):
    return pd.DataFrame({"cost": cost, "co2_t": co2, "landfill_t": np.zeros(len(cost))})


def test_non_dominated_drops_dominated_and_duplicate_points():
    f = _front([10.0, 12.0, 15.0, 12.0, 30.0, 10.0 + 1e-9, 11.0],
               [9.0, 5.0, 3.0, 6.0, 3.0, 9.0, 9.5])
    nd = non_dominated(f, "cost", "co2_t")
    assert nd["cost"].tolist() == [10.0, 12.0, 15.0]
    assert nd["co2_t"].tolist() == [9.0, 5.0, 3.0]


def test_non_dominated_result_is_mutually_non_dominated():
    rng = np.random.default_rng(7)
    f = _front(rng.uniform(0, 100, 200), rng.uniform(0, 100, 200))
    nd = non_dominated(f, "cost", "co2_t")
    x, y = nd["cost"].to_numpy(), nd["co2_t"].to_numpy()
    assert np.all(np.diff(x) > 0) and np.all(np.diff(y) < 0)  # a staircase
    # every dropped point is dominated by a kept one
    for cx, cy in zip(f["cost"], f["co2_t"], strict=True):
        assert np.any((x <= cx) & (y <= cy))


def test_ticks_cover_the_range_with_round_steps():
    t = _ticks(123.0, 987.0)
    assert t[0] <= 123.0 and t[-1] >= 987.0
    step = np.diff(t)
    assert np.allclose(step, step[0]) and step[0] in (100.0, 200.0, 250.0)
    one = _ticks(5.0, 5.0)
    assert one[0] < 5.0 < one[-1]


def test_svg_has_one_marker_per_point_and_axis_titles():
    front = _front([1e6, 1.2e6, 1.5e6], [900.0, 500.0, 300.0])
    root = ET.fromstring(pareto_svg(front, "cost", "co2", "CNY"))
    circles = root.findall(f"{SVG}circle")
    assert len(circles) == 3
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "cost (CNY/year)" in texts and "CO2e (t/year)" in texts
    # the cheapest point is leftmost and the highest-CO2 point is topmost (SVG y grows down)
    cx = [float(c.get("cx")) for c in circles]
    cy = [float(c.get("cy")) for c in circles]
    assert cx == sorted(cx) and cy == sorted(cy)


def test_write_pareto_writes_csv_and_svg(tmp_path):
    front = _front([1.0, 2.0], [2.0, 1.0])
    front.attrs.update(between=("cost", "co2"), currency="EUR")
    paths = write_pareto(front, tmp_path / "p")
    assert [p.name for p in paths] == ["pareto.csv", "pareto.svg"]
    pd.testing.assert_frame_equal(pd.read_csv(paths[0]), front, check_dtype=False)
    assert "cost (EUR/year)" in paths[1].read_text(encoding="utf-8")


@pytest.mark.parametrize("between, points", [(("cost", "cost"), 7), (("cost", "water"), 7), (("cost", "co2"), 1)])
def test_bad_arguments_are_refused(between, points):
    from flowmatch.errors import ParamsError
    from flowmatch.inputs.inventory import build_inventory
    from flowmatch.studies.pareto import pareto_front

    inv = build_inventory({
        "sites": pd.DataFrame({"site_id": ["A"], "lat": [0.0], "lon": [0.0]}),
        "resources": pd.DataFrame({"resource_id": ["H"], "site_id": ["A"], "role": ["have"],
                                   "category": ["material"], "type": ["ewc:100105"], "quantity": [1.0],
                                   "unit": ["t"]}),
    })
    with pytest.raises(ParamsError):
        pareto_front(inv, between=between, points=points)


# --------------------------------------------------------------------------- solving


def test_cost_co2_front_is_non_dominated_and_ends_at_the_single_objective_optima(trade_off):
    from flowmatch.milp.optimise import optimise
    from flowmatch.studies.pareto import pareto_front

    front = pareto_front(trade_off, between=("cost", "co2"), points=7, gap=0.0)
    assert (front["status"] == "optimal").all()
    assert front["point"].tolist() == list(range(1, len(front) + 1))
    x, y = front["cost"].to_numpy(), front["co2_t"].to_numpy()
    assert len(front) >= 3 and len(front) <= 7
    assert np.all(np.diff(x) > 0) and np.all(np.diff(y) < 0)  # non-dominated: a staircase
    best_cost = optimise(trade_off, objective="cost", gap=0.0).summary["objective"]
    best_co2 = optimise(trade_off, objective="co2", gap=0.0).summary["objective"]
    assert x[0] == pytest.approx(best_cost["cost"], rel=1e-9)
    assert y[-1] == pytest.approx(best_co2["co2_t"], rel=1e-9)
    # by hand: 2 synergies (30, 100 km) cost 238,500; all 4 emit 1,280 - 4 x 320 + 0.1 x 470 = 47 t
    assert x[0] == pytest.approx(238500.0, rel=1e-6) and y[-1] == pytest.approx(47.0, rel=1e-6)
    capped = front.dropna(subset=["co2_cap"])
    slack = 1e-6 * np.max(np.abs(y))  # the caps' relative tolerance
    assert len(capped) and np.all(capped["co2_t"] <= capped["co2_cap"] + slack * (1 + 1e-9))
    assert front.attrs["between"] == ("cost", "co2")


def test_landfill_cost_front(trade_off):
    from flowmatch.studies.pareto import pareto_front

    front = pareto_front(trade_off, between=("landfill", "cost"), points=4, gap=0.0)
    assert front["landfill_t"].iloc[0] == pytest.approx(0.0, abs=1e-6)
    assert front["cost"].iloc[-1] == pytest.approx(238500.0, rel=1e-6)
    assert np.all(np.diff(front["landfill_t"]) > 0) and np.all(np.diff(front["cost"]) < 0)
    assert "cost_cap" in front.columns


def test_objectives_that_agree_give_one_point():
    from whatif_cases import trade_off_park

    from flowmatch.studies.pareto import pareto_front

    # at a landfill tax of 100 every synergy pays: the cheapest plan is also the greenest
    front = pareto_front(trade_off_park(landfill_tax=100.0), points=5, gap=0.0)
    assert len(front) == 1 and front.at[0, "landfill_t"] == pytest.approx(0.0, abs=1e-6)


def test_cli_pareto_writes_table_and_plot(tmp_path, trade_off_dir, capsys):
    from flowmatch.cli import main

    out = tmp_path / "out"
    assert main(["pareto", str(trade_off_dir), "--points", "4", "--gap", "0", "-o", str(out)]) == 0
    table = pd.read_csv(out / "pareto.csv")
    root = ET.fromstring((out / "pareto.svg").read_text(encoding="utf-8"))
    assert len(root.findall(f"{SVG}circle")) == len(table) >= 2
    assert "pareto.svg" in capsys.readouterr().out


# --------------------------------------------------------------------------- a front a reader trusts


def test_caps_lie_evenly_strictly_between_the_ends():
    from flowmatch.studies.pareto import pareto_caps

    assert pareto_caps(47.0, 653.0, 7) == pytest.approx([148.0, 249.0, 350.0, 451.0, 552.0])
    assert pareto_caps(0.0, 1.0, 2) == []  # the two ends are solved on their own


def test_cost_co2_front_by_hand(trade_off):
    """The trade-off park's front, every point computed by hand.

    A synergy at d km saves 70 - 0.45 d per t (cost) and 0.32 - 0.0001 d t CO2e per t, and costs
    20,000 a year. The ends: 2 synergies (238,500; 653 t) and all 4 (291,500; 47 t). Caps 552 and
    451 t are met best by the whole 140 km synergy (251,500; 347 t: a whole synergy beats part of
    it, which pays the fixed cost for less); caps 249 and 148 t by it plus part of the 200 km one,
    which costs 20 per t and saves 0.3 t CO2e per t: 271,500 + 20 (347 - cap) / 0.3.
    """
    from flowmatch.studies.pareto import pareto_front

    front = pareto_front(trade_off, between=("cost", "co2"), points=7, gap=0.0)
    want = [(238500.0, 653.0), (251500.0, 347.0), (271500.0 + 20 * 98 / 0.3, 249.0),
            (271500.0 + 20 * 199 / 0.3, 148.0), (291500.0, 47.0)]
    assert front["cost"].tolist() == pytest.approx([c for c, _ in want], rel=1e-6)
    assert front["co2_t"].tolist() == pytest.approx([e for _, e in want], rel=1e-6)
    caps = front["co2_cap"].to_numpy()
    assert np.isnan(caps[[0, -1]]).all() and caps[2:4] == pytest.approx([249.0, 148.0], rel=1e-6)
    tol = front.attrs["tolerance"]
    assert tol == pytest.approx(1e-6 * 653.0, rel=1e-3) and (front["cap_tolerance"] == tol).all()
    assert front["within_cap"].all() and not front.attrs["flat"]
    assert np.all(front["co2_t"][2:4] <= caps[2:4] + tol)
    assert any("2 of the 7 plans solved were dominated by or equal to another" in n for n in front.attrs["notes"])


def test_ends_are_lexicographic(trade_off):
    """Minimising landfill alone leaves cost free; the end keeps the cheapest of the zero-landfill plans."""
    from flowmatch.studies.pareto import pareto_front

    front = pareto_front(trade_off, between=("landfill", "cost"), points=2, gap=0.0)
    assert len(front) == 2
    assert front["landfill_t"].tolist() == pytest.approx([0.0, 2000.0], abs=1e-6)
    assert front["cost"].tolist() == pytest.approx([291500.0, 238500.0], rel=1e-6)


def test_a_point_over_its_cap_is_flagged(trade_off, monkeypatch):
    import flowmatch.milp.optimise as opt
    from flowmatch.studies.pareto import pareto_front

    real = opt.optimise

    def loose(inventory, *a, metric_caps=None, **k):  # a solver that misses the co2 caps by 20 t
        if metric_caps and "co2_t" in metric_caps:
            metric_caps = {"co2_t": metric_caps["co2_t"] + 20.0}
        return real(inventory, *a, metric_caps=metric_caps, **k)

    monkeypatch.setattr(opt, "optimise", loose)
    front = pareto_front(trade_off, between=("cost", "co2"), points=4, gap=0.0)
    over = front[~front["within_cap"]]
    assert len(over) >= 1 and (over["co2_t"] > over["co2_cap"] + front.attrs["tolerance"]).all()
    assert any("over its cap by more than the tolerance" in n for n in front.attrs["notes"])


def test_a_flat_front_says_the_objectives_do_not_conflict(tmp_path):
    from whatif_cases import trade_off_park

    from flowmatch.studies.pareto import pareto_front

    front = pareto_front(trade_off_park(landfill_tax=100.0), points=5, gap=0.0)
    assert len(front) == 1 and front.attrs["flat"]
    assert any("front is flat: cost and co2 do not conflict" in n for n in front.attrs["notes"])
    write_pareto(front, tmp_path / "p")
    svg = (tmp_path / "p" / "pareto.svg").read_text(encoding="utf-8")
    assert "do not conflict" in svg


def test_the_plot_axes_span_the_points_not_zero():
    front = _front([1.0e6, 1.0001e6, 1.0002e6], [1702.0, 1700.5, 1699.0])
    root = ET.fromstring(pareto_svg(front, "cost", "co2", "CNY"))
    labels = [t.text for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "end"]  # the y ticks
    ys = [float(v[:-1]) * 1e3 if v.endswith("k") else float(v) for v in labels]
    assert min(ys) >= 1690.0 and max(ys) <= 1710.0 and min(ys) <= 1699.0 and max(ys) >= 1702.0
    one = _ticks(1700.0, 1700.0)
    assert one[0] > 1000.0 and one[-1] < 2400.0  # one value: a narrow axis around it
