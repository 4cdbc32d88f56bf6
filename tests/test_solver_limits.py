"""Large but real numbers solve; numbers beyond any real one are refused by name.

A park's model is scaled before a solver sees it (:mod:`flowmatch.milp.scaling`)
and its solution mapped back, so the same park at 1 t and at 10^9 t gives the
same plan times 10^9. A number no solver can hold (over ``MAX_MAGNITUDE``) is
refused before solving, naming the variable, the resource and the fix (CBC
called a 10^20 t model "optimal", HiGHS "rejected the model" naming nothing).
A model file path that cannot be written is a clear error, not a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from optimise_cases import make_candidates

from flowmatch.cli import main
from flowmatch.errors import ModelError, SolverError
from flowmatch.inputs.inventory import read_inventory
from flowmatch.milp.builder import LinearModel, ModelBuilder
from flowmatch.milp.optimise import optimise
from flowmatch.milp.scaling import MAX_MAGNITUDE, check_magnitudes, scale_model, to_scaled, unscale
from flowmatch.milp.solvers import solve

SOLVERS = ["highs", "cbc"]
#: mini's fixed and threshold parameters, which scale with the quantities for the park to be
#: the same park in another unit (prices per t do not)
_SCALED_PARAMS = {"fixed_cost_synergy": 20000.0, "min_synergy_flow": 1.0}


def mini_times(tmp_path: Path, mini_dir: Path, k: float) -> Path:
    """``datasets/mini`` with every quantity, fixed cost and threshold times ``k``."""
    out = tmp_path / f"mini_x{k:g}"
    out.mkdir()
    (out / "sites.csv").write_bytes((mini_dir / "sites.csv").read_bytes())
    res = pd.read_csv(mini_dir / "resources.csv", keep_default_na=False)
    res["quantity"] = res["quantity"].astype(float) * k
    res.to_csv(out / "resources.csv", index=False)
    (out / "params.toml").write_text("".join(f"{n} = {v * k!r}\n" for n, v in _SCALED_PARAMS.items()))
    return out


@pytest.fixture(scope="module")
def cands():
    return make_candidates([("H1", "W1", 3.6), ("H2", "W2", 9.0), ("H1", "W2", 9.0)])


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_billion_tonnes_is_the_one_tonne_plan_times_a_billion(tmp_path, mini_dir, cands, solver):
    """mini at about 1 t (1.2, 3, 1 and 2.5 t) and at 10^9 times that: the same plan, scaled."""
    small = read_inventory(mini_times(tmp_path, mini_dir, 1e-5))
    big = read_inventory(mini_times(tmp_path, mini_dir, 1e-5 * 1e9))
    assert big.resources["quantity"].max() == pytest.approx(3e9)
    p1 = optimise(small, candidates=cands, solver=solver, gap=0.0)
    p9 = optimise(big, candidates=cands, solver=solver, gap=0.0)  # balances, or optimise raises
    assert p1.status == p9.status == "optimal"
    key = ["have_id", "want_id", "mode"]
    f1 = p1.flows.groupby(key)["quantity"].sum().astype(float)
    f9 = p9.flows.groupby(key)["quantity"].sum().astype(float)
    assert list(f9.index) == list(f1.index)
    np.testing.assert_allclose(f9.to_numpy(), f1.to_numpy() * 1e9, rtol=1e-7)
    direct = p9.flows[p9.flows["mode"] == "direct"].set_index(["have_id", "want_id"])["quantity"]
    assert direct.to_dict() == pytest.approx({("H1", "W1"): 1e9, ("H2", "W2"): 2.5e9}, rel=1e-9)
    for m in ("cost", "co2_t", "landfill_t"):
        assert p9.summary["objective"][m] == pytest.approx(p1.summary["objective"][m] * 1e9, rel=1e-7), m
    assert p9.flows["cost"].sum() == pytest.approx(p9.summary["objective"]["cost"], rel=1e-9)


def fixed_charge(q: np.ndarray) -> tuple[LinearModel, np.ndarray, np.ndarray, np.ndarray]:
    """Each have ships its q to its own want (saving 5 a unit, 10 to open the link) or disposes of it."""
    mb = ModelBuilder()
    n = len(q)
    flow = mb.add_vars(n, ub=q, cost=-5.0)
    use = mb.add_vars(n, ub=1, integer=True, cost=10.0)  # worth it from 2 units
    disp = mb.add_vars(n, ub=q)
    i = np.arange(n)
    mb.add_rows(np.r_[i, i], np.r_[flow, disp], np.ones(2 * n), q, q, name=[f"balance[H{j}]" for j in i])
    mb.add_rows(np.r_[i, i], np.r_[flow, use], np.r_[np.ones(n), -q], -np.inf, 0.0,
                name=[f"link_max[H{j}>W{j}]" for j in i])
    return mb.build(), flow, use, disp


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_wide_range_of_magnitudes_solves(solver):
    """Flows from 1e-3 to 1e12 (big-Ms as large) in one model: the solver finds the plan by hand."""
    q = np.array([1e-3, 1.0, 1e6, 1e12])
    model, flow, use, disp = fixed_charge(q)
    r = solve(model, {"cost": 1.0}, solver=solver, gap=0.0, time_limit=30)
    assert r.status == "optimal"
    np.testing.assert_allclose(r.x[flow], [0.0, 0.0, 1e6, 1e12], rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(r.x[use], [0, 0, 1, 1])
    np.testing.assert_allclose(r.x[flow] + r.x[disp], q, rtol=1e-9)
    assert r.objective == pytest.approx(-5 * (1e6 + 1e12) + 20, rel=1e-12)


def test_scaling_brings_big_ms_near_one():
    model, *_ = fixed_charge(np.array([1e-3, 1.0, 1e6, 1e12]))
    scaled, sc = scale_model(model)
    assert np.abs(model.A.data).max() / np.abs(model.A.data).min() > 1e14
    assert np.abs(scaled.A.data).max() / np.abs(scaled.A.data).min() <= 4.0  # powers of two away from 1
    assert scaled.ub[np.isfinite(scaled.ub)].max() <= 2.0
    assert scaled.row_ub[np.isfinite(scaled.row_ub)].max() <= 2.0
    s10, _ = scale_model(model, base=10)
    assert np.abs(s10.A.data).max() / np.abs(s10.A.data).min() <= 10.0


def test_scaling_is_exact():
    rng = np.random.default_rng(7)
    n, m = 30, 20
    A = sp.random(m, n, density=0.3, random_state=rng, format="csc")
    A.data = np.exp(rng.uniform(-10, 25, A.nnz))
    integ = rng.random(n) < 0.3
    ub = np.where(integ, 1.0, np.exp(rng.uniform(-5, 25, n)))
    model = LinearModel(np.zeros(n), ub, integ, A, np.full(m, -np.inf), np.exp(rng.uniform(0, 25, m)),
                        {"cost": rng.normal(size=n)}, {"cost": 0.0}, [f"x{j}" for j in range(n)],
                        [f"r{i}" for i in range(m)])
    scaled, sc = scale_model(model)
    assert np.all(sc.col[integ] == 1.0)
    assert np.all(np.log2(sc.col) == np.round(np.log2(sc.col)))  # powers of two
    assert np.all(np.log2(sc.row) == np.round(np.log2(sc.row)))
    x = rng.uniform(0, 1, n) * np.where(np.isfinite(ub), ub, 1.0)
    assert np.array_equal(unscale(to_scaled(x, sc), sc), x)  # exact, bit for bit
    np.testing.assert_allclose(scaled.A @ to_scaled(x, sc), sc.row * (model.A @ x), rtol=1e-12)
    assert scaled.metrics["cost"] @ to_scaled(x, sc) == pytest.approx(model.metrics["cost"] @ x, rel=1e-12)


# --------------------------------------------------------------------------- refused


@pytest.mark.parametrize("solver", SOLVERS)
def test_1e20_tonnes_is_refused_naming_the_resource(mini, cands, solver):
    """Reading refuses such quantities (inputs/plausible.py); an Inventory built or changed in
    Python does not pass there, and the model refuses them all the same."""
    from dataclasses import replace

    res = mini.resources.copy()
    res["quantity"] = res["quantity"].astype(float) * 1e15  # H2 has 3e20 t
    with pytest.raises(ModelError) as e:
        optimise(replace(mini, resources=res), candidates=cands, solver=solver)
    msg = str(e.value)
    assert "H2 (quantity 3e+20 t)" in msg and "over 1e+15" in msg and "Fix:" in msg


def test_check_magnitudes_names_row_and_value():
    mb = ModelBuilder()
    x = mb.add_vars(2, ub=[10.0, 5.0], name=["flow[H7>W3]", "disposal[H7]"], cost=[1.0, 2e16])
    mb.add_rows(np.zeros(2), x, np.ones(2), 3.0, 3.0, name=["balance[H7]"])
    model = mb.build()
    with pytest.raises(ModelError, match=r"cost coefficient of 2e\+16 \(variable disposal\[H7\]\).*of H7"):
        check_magnitudes(model)
    check_magnitudes(model, limit=1e17)  # within the limit: nothing to say
    assert MAX_MAGNITUDE == 1e15


# --------------------------------------------------------------------------- model files


@pytest.fixture
def afile(tmp_path) -> Path:
    p = tmp_path / "afile"
    p.write_text("not a folder")
    return p


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("where", ["a folder", "under a file", "in /proc", "read-only"])
def test_a_model_file_that_cannot_be_written_is_exit_2(tmp_path, mini_dir, afile, capsys, where, solver):
    if where == "a folder":
        path, why = tmp_path / "model.lp", "is a folder"
        path.mkdir()
    elif where == "under a file":
        path, why = afile / "sub" / "model.lp", "cannot create the output folder (Not a directory)"
    elif where == "in /proc":
        if not Path("/proc/self").exists():
            pytest.skip("needs /proc")
        path, why = Path("/proc/model.lp"), "cannot"
    else:
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only folders")
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        path, why = ro / "model.lp", "cannot write the model file there (Permission denied)"
    rc = main(["optimise", str(mini_dir), "-o", str(tmp_path / "plan"), "--write-lp", str(path),
               "--solver", solver])
    err = capsys.readouterr().err
    assert rc == 2 and why in err and str(path.parent) in err and "Traceback" not in err, err
    assert not (tmp_path / "plan").exists()


def test_write_model_rejects_what_it_cannot_write(tmp_path, afile):
    from flowmatch.errors import FlowmatchError
    from flowmatch.milp.solvers import write_model

    mb = ModelBuilder()
    mb.add_vars(1, ub=1.0, cost=1.0)
    model = mb.build()
    for solver in SOLVERS:
        with pytest.raises(FlowmatchError, match="in the way"):
            write_model(model, {"cost": 1.0}, afile / "m.mps", solver)
        with pytest.raises(SolverError, match="ends in .lp or .mps"):
            write_model(model, {"cost": 1.0}, tmp_path / "m.txt", solver)
        assert write_model(model, {"cost": 1.0}, tmp_path / solver / "new" / "m.mps", solver).is_file()
