"""One solve budget bounds every solve of a run: checked on a fake clock, not by timing.

Every HiGHS instance a run makes (block solves, slope scaling, bound LPs,
polish, local search) is wrapped so that each ``run()`` is charged, on a fake
``time.perf_counter``, the whole of the time limit it was given (HiGHS's limit
counts over every run of one instance: a re-solve is charged what is left of
it). That is the worst case: every solve uses all it may. The run must then
still end within its budget, every run must have had a finite limit, and no
limit may reach past the deadline by more than one ``MIN_SOLVE_S`` (the floor
that lets a solve return its warm start when the budget is spent).
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from optimise_cases import make_candidates, make_inventory

import flowmatch.milp.blocks as blocks_mod
import flowmatch.milp.highs as highs_mod
import flowmatch.milp.options as options_mod
from flowmatch.milp.block_bounds import ensure_bounds
from flowmatch.milp.blocks import split_blocks
from flowmatch.milp.optimise import build_model, build_parts, optimise
from flowmatch.milp.options import MIN_SOLVE_S, SolveBudget, SolveOptions
from flowmatch.milp.solution import SolveResult


def _value(got):
    return got[1] if isinstance(got, tuple) else got  # highspy gives (status, value)


class FakeClock:
    """``time.perf_counter`` plus the seconds charged to it."""

    def __init__(self, real):
        self.real = real
        self.extra = 0.0

    def __call__(self) -> float:
        return self.real() + self.extra


class SpyHighs:
    """A ``highspy.Highs`` whose every ``run()`` is recorded and charged its whole time limit."""

    def __init__(self, h, clock: FakeClock, runs: list):
        self._h, self._clock, self._runs = h, clock, runs
        self._used = 0.0

    def __getattr__(self, name):
        return getattr(self._h, name)

    def getRunTime(self) -> float:  # noqa: N802 - highspy's name
        return self._used

    def run(self):
        limit = float(_value(self._h.getOptionValue("time_limit")))
        charge = max(0.0, limit - self._used) if math.isfinite(limit) else math.inf
        self._runs.append({"at": self._clock(), "limit": limit, "charge": charge})
        if math.isfinite(charge):
            self._clock.extra += charge
            self._used += charge
        return self._h.run()


@pytest.fixture
def spied(monkeypatch):
    """(fake clock, recorded runs, budgets started): HiGHS runs charged on the fake clock."""
    clock = FakeClock(time.perf_counter)
    runs: list[dict] = []
    budgets: list[SolveBudget] = []
    real_new = highs_mod.new_highs
    real_start = SolveOptions.start

    def new_highs(*args, **kwargs):
        return SpyHighs(real_new(*args, **kwargs), clock, runs)

    def start(self, at=None):
        budgets.append(real_start(self) if at is None else real_start(self, at))
        return budgets[-1]

    monkeypatch.setattr(time, "perf_counter", clock)
    monkeypatch.setattr(highs_mod, "new_highs", new_highs)
    monkeypatch.setattr(options_mod.SolveOptions, "start", start)
    return clock, runs, budgets


def _twelve_pairs():
    res = [{"id": f"H{i}", "role": "have", "quantity": 10.0 + i, "cost": 50.0} for i in range(12)]
    res += [{"id": f"W{i}", "role": "want", "quantity": 12.0 + i, "cost": 30.0} for i in range(12)]
    res += [{"id": "H99", "role": "have", "quantity": 40.0, "cost": 45.0}]
    inv = make_inventory(res, fixed_cost_synergy=100.0)
    pairs = [(f"H{i}", f"W{i}", 5.0) for i in range(12)] + [("H99", f"W{i}", 8.0) for i in range(3)]
    return inv, make_candidates(pairs)


@pytest.mark.parametrize("limit", [2.0, 30.0])
def test_every_solve_of_a_run_has_a_limit_within_what_is_left(spied, monkeypatch, limit):
    """Twelve blocks with binaries, slope scaling, polish: each run's limit reaches no further
    than the deadline (but for one floor), their sum stays within the budget, and the run ends
    by its deadline though every solve uses all it is given."""
    clock, runs, budgets = spied
    monkeypatch.setattr(blocks_mod, "BUNDLE_MAX_INT", -1)  # a block per component, each a solve
    inv, cands = _twelve_pairs()
    plan = optimise(inv, candidates=cands, options=SolveOptions(time_limit=limit, gap=0.0, jobs=1))
    assert len(budgets) == 1
    deadline = budgets[0].deadline
    kinds = {b.get("polish") for b in plan.summary["blocks"]}
    assert len(runs) > plan.summary["n_solves"]  # every block's solve, and more (slope scaling, polish)
    assert all(math.isfinite(r["limit"]) and r["limit"] > 0 for r in runs), runs
    for r in runs:
        assert r["at"] + r["charge"] <= deadline + MIN_SOLVE_S + 1e-9, (r, deadline)
    assert sum(r["charge"] for r in runs) <= limit + MIN_SOLVE_S
    assert plan.summary["timings"]["overrun"] <= MIN_SOLVE_S, plan.summary["timings"]
    assert clock() <= deadline + MIN_SOLVE_S
    if limit >= 30.0:  # time enough: every block polished
        assert kinds == {"done"}, plan.summary["blocks"]
    # a block not polished says so; the plan still balances and is no worse than its start
    assert kinds <= {"done", "skipped", "timed_out"}
    total = plan.flows.groupby("have_id")["quantity"].sum()
    assert total["H0"] == pytest.approx(10.0)


def test_a_spent_budget_skips_the_polish_and_says_so(spied, monkeypatch):
    """With the budget all but spent when the polish starts, blocks are not polished (no LP run
    past the deadline), each says ``skipped``, and the statuses stay honest."""
    clock, runs, budgets = spied
    monkeypatch.setattr(blocks_mod, "BUNDLE_MAX_INT", -1)
    real_polish_blocks = __import__("flowmatch.milp.optimise", fromlist=["x"]).polish_blocks

    def late_polish(model, blocks, results, weights, budget, *args, **kwargs):
        clock.extra += budget.left() + 1.0  # the search and bounds used everything
        n_before = len(runs)
        report = real_polish_blocks(model, blocks, results, weights, budget, *args, **kwargs)
        assert len(runs) == n_before  # no polish LP was started
        return report

    monkeypatch.setattr("flowmatch.milp.optimise.polish_blocks", late_polish)
    inv, cands = _twelve_pairs()
    plan = optimise(inv, candidates=cands, options=SolveOptions(time_limit=5.0, gap=0.0, jobs=1))
    with_ints = [b for b in plan.summary["blocks"] if b["n_integer"]]
    assert with_ints and all(b["polish"] == "skipped" for b in with_ints)
    for b in plan.summary["blocks"]:  # optimal only where the solver proved it
        assert b["status"] != "optimal" or b["solver_status"] == "optimal" or b["gap"] <= 1e-12


def test_bound_lps_share_the_time_given_and_fall_back_when_it_is_spent(spied):
    """Blocks left without a bound: their LPs' limits sum to at most the time given; once it
    is spent, a block takes the variables' bound (said so) without an LP."""
    clock, runs, _ = spied
    inv, cands = _twelve_pairs()
    model = build_model(build_parts(inv, cands))
    blocks, _ = split_blocks(model)
    w = {"cost": 1.0}

    def unbounded():
        return [SolveResult(status="time_limit", x=model.lb[b.cols].copy(), objective=1e9, bound=math.nan,
                            gap=math.nan, time_s=0.0, solver="highs", message="") for b in blocks]

    results = unbounded()
    got = ensure_bounds(model, blocks, results, w, time_limit=0.5)
    lp_runs = [r["charge"] for r in runs]
    assert lp_runs and sum(lp_runs) <= 0.5 + 1e-9
    assert set(got.values()) <= {"lp_relaxation", "variable_bounds"}
    assert all(math.isfinite(r.bound) for r in results)
    runs.clear()
    results = unbounded()
    got = ensure_bounds(model, blocks, results, w, time_limit=0.0)
    assert not runs and set(got.values()) == {"variable_bounds"}
    assert all(math.isfinite(r.bound) and r.bound <= r.objective for r in results)


def test_a_pooled_block_keeps_its_deadline_however_late_it_starts(monkeypatch):
    """A worker that starts a block late (its own start-up, the transfer) gets what is left until
    the block's deadline, never the share computed when it was sent (but at least the floor)."""
    got = []
    monkeypatch.setattr(blocks_mod, "solve", lambda model, weights, **kw: got.append(kw["time_limit"]))
    blocks_mod.solve_by(time.time() + 2.0, None, {}, time_limit=30.0)
    blocks_mod.solve_by(time.time() - 5.0, None, {}, time_limit=30.0)
    blocks_mod.solve_by(time.time() + 100.0, None, {}, time_limit=3.0)
    assert 1.5 < got[0] <= 2.0 and got[1] == MIN_SOLVE_S and got[2] == 3.0


def test_shares_keep_back_the_measured_overhead_of_the_blocks_still_to_come():
    """Blocks sent to workers cost time beside their solves; once that is measured, a block's
    share leaves it to the blocks not yet sent, so the last ones are not starved."""
    budget = SolveBudget(100.0)
    plain = blocks_mod._Shares(budget, np.ones(10))
    assert plain.take(0) == pytest.approx(budget.left() / 10, rel=1e-3)
    cut = blocks_mod._Shares(budget, np.ones(10))
    cut.observe(2.0)
    cut.observe(4.0)  # 3 s a block, on average
    assert cut.overhead == pytest.approx(3.0)
    assert cut.take(0) == pytest.approx((budget.left() - 3.0 * 10) / 10, rel=1e-3)
    assert cut.take(1, parallel=2) == pytest.approx((budget.left() - 3.0 * 9 / 2) * 2 / 9, rel=1e-3)
