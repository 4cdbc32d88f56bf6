"""What a what-if changed: each run's sealed plan folder, changes.csv, unused-parameter warnings, the report."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from whatif_cases import trade_off_tables

from flowmatch.cli import main
from flowmatch.errors import PlanFolderError
from flowmatch.inputs.inventory import build_inventory
from flowmatch.inputs.params import Params
from flowmatch.plans.folder import read_plan_folder
from flowmatch.studies.changes import (
    CHANGES_COLUMNS,
    changes_table,
    run_folder_names,
    synergy_quantities,
    unused_params,
)

# --------------------------------------------------------------------------- one supplier, four buyers
#
# One have of 1,500 t of fly ash at the hub; the trade-off park's four buyers of 1,000 t at 30, 100,
# 140 and 200 km. With a landfill tax of 60 a tonne moved saves 100 (disposal) + 30 (virgin) against
# 0.45 per t-km: 116.5 per t at 30 km, 85 at 100, 67 at 140; a synergy costs 20,000 a year.
# Baseline: 1,000 t to W0 (96,500 net) and the last 500 t to W1 (22,500 net; W2 would net 13,500).
# Without the 30 km buyer: 1,000 t to W1 (65,000) and 500 t to W2 (13,500).
# So removing site B0 drops H-W0, resizes H-W1 from 500 to 1,000 t and adds H-W2 with 500 t.


def _one_supplier_tables() -> dict[str, pd.DataFrame]:
    t = trade_off_tables()
    res = t["resources"]
    have = res[res["resource_id"] == "H0"].assign(resource_id="H", quantity=1500.0)
    return {"sites": t["sites"], "resources": pd.concat([have, res[res["role"] == "want"]], ignore_index=True)}


def _write_inventory(d: Path) -> Path:
    d.mkdir()
    for name, df in _one_supplier_tables().items():
        df.to_csv(d / f"{name}.csv", index=False)
    (d / "params.toml").write_text("carbon_price = 0\nlandfill_tax = 60\n", encoding="utf-8")
    return d


def _toml(d: Path, name: str, text: str) -> Path:
    p = d / name
    p.write_text(text, encoding="utf-8")
    return p


def _flows(rows: list[tuple[str, str, float, str]]) -> pd.DataFrame:
    return pd.DataFrame([{"have_id": h, "want_id": w, "quantity": q, "unit": "t", "mode": m} for h, w, q, m in rows])


# --------------------------------------------------------------------------- the table


def test_changes_table_lists_added_dropped_and_resized_synergies():
    base = _flows([("H0", "W0", 1000.0, "direct"), ("H1", "W1", 1000.0, "direct"),
                   ("H2", "DISPOSAL", 1000.0, "disposal"), ("H3", "W3", 400.0, "milk_round"),
                   ("H3", "W3", 600.0, "milk_round")])
    scen = _flows([("H0", "W0", 500.0, "direct"), ("H2", "W2", 1000.0, "direct"),
                   ("H3", "W3", 1000.0 * (1 + 1e-9), "milk_round"),  # two legs summed: the same size
                   ("H1", "W3", 1e-9, "direct"),  # left open at a rounding-level flow: no synergy
                   ("VIRGIN", "W1", 1000.0, "virgin")])
    t = changes_table(base, [("s", scen)])
    assert list(t.columns) == CHANGES_COLUMNS
    got = {(r.have_id, r.want_id, r.mode): (r.change, r.quantity_base, r.quantity_scenario, r.delta)
           for r in t.itertuples()}
    assert got == {("H0", "W0", "direct"): ("resized", 1000.0, 500.0, -500.0),
                   ("H1", "W1", "direct"): ("dropped", 1000.0, 0.0, -1000.0),
                   ("H2", "W2", "direct"): ("added", 0.0, 1000.0, 1000.0)}
    assert changes_table(base, [("same", base)]).empty


def test_synergy_quantities_keeps_only_synergy_modes():
    flows = _flows([("H", "W", 5.0, m) for m in ("direct", "milk_round", "cascade", "regenerated")]
                   + [("H", "DISPOSAL", 1.0, "disposal"), ("VIRGIN", "W", 1.0, "virgin")])
    assert sorted(synergy_quantities(flows)["mode"]) == ["cascade", "direct", "milk_round", "regenerated"]


def test_run_folder_names_are_safe_and_distinct():
    names = run_folder_names(["baseline", "landfill_tax=40 carbon_price=0", "a/b", "a b", "A_B", "..", ""])
    assert names[:2] == ["baseline", "landfill_tax=40_carbon_price=0"]
    assert names[2:5] == ["a_b", "a_b-2", "A_B-3"]  # case-insensitive file systems too
    assert all(n and "/" not in n and " " not in n and not n.startswith(".") for n in names)
    assert len({n.lower() for n in names}) == len(names)


# --------------------------------------------------------------------------- unused parameters


def test_a_default_price_every_resource_overrides_is_named():
    inv = build_inventory(trade_off_tables(), params=Params(), source="park")  # every have and want states cost
    msgs = unused_params(inv, ["landfill_price", "virgin_price_t", "landfill_tax", "landfill_co2_kg_t",
                               "fresh_water_price", "carbon_price"], "dear")
    text = "\n".join(msgs)
    assert len(msgs) == 4, msgs
    assert "scenario 'dear' sets landfill_price" in text and "4 landfilled material haves states its own 'cost'" in text
    assert "virgin_price_t" in text and "fresh_water_price, but the inventory has no water wants" in text
    assert "landfill_co2_kg_t, but every one of the 4 landfilled material haves states its own 'co2'" in text
    assert "landfill_tax" not in text and "carbon_price" not in text  # the tax adds to every landfilled have
    water = unused_params(inv, ["pipe_cost_km", "transport_cost_t_km", "heat_link_fixed_cost"])
    assert water == ["pipe_cost_km is set, but the inventory has no water haves, so it changes nothing.",
                     "heat_link_fixed_cost is set, but the inventory has no energy haves, so it changes nothing."]
    t = trade_off_tables()
    t["resources"].loc[0, "cost"] = float("nan")  # one have without its own cost: the default is used
    assert not unused_params(build_inventory(t, params=Params(), source="park"), ["landfill_price"])


# --------------------------------------------------------------------------- end to end


def test_cli_whatif_writes_sealed_runs_and_changes(tmp_path, capsys):
    inv = _write_inventory(tmp_path / "park")
    closure = _toml(tmp_path, "closure.toml", '[remove]\nsites = ["B0"]\n')
    price = _toml(tmp_path, "price.toml", "[params]\nlandfill_price = 80\n")
    out = tmp_path / "out"
    assert main(["whatif", str(inv), str(closure), str(price), "--jobs", "1", "--gap", "0", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "warning: scenario 'price' sets landfill_price, but every one of the 1 landfilled material haves" \
        in printed
    comparison = read_plan_folder(out).comparison
    assert comparison is not None and comparison["run_folder"].tolist() == [
        "runs/baseline", "runs/closure", "runs/price"]
    for name in ("baseline", "closure", "price"):
        pf = read_plan_folder(out / "runs" / name)  # each a sealed plan folder of its own
        assert pf.has_plan and json.loads((out / "runs" / name / "manifest.json").read_text())["kind"] == "plan"
    base = read_plan_folder(out / "runs" / "baseline").flows
    assert set(zip(base.loc[base["mode"] == "direct", "want_id"], base.loc[base["mode"] == "direct", "quantity"],
                   strict=True)) == {("W0", 1000.0), ("W1", 500.0)}
    changes = pd.read_csv(out / "changes.csv", keep_default_na=False)
    got = {(r.scenario, r.have_id, r.want_id, r.mode): (r.change, r.quantity_base, r.quantity_scenario)
           for r in changes.itertuples()}
    assert got == {("closure", "H", "W0", "direct"): ("dropped", 1000.0, 0.0),
                   ("closure", "H", "W1", "direct"): ("resized", 500.0, pytest.approx(1000.0)),
                   ("closure", "H", "W2", "direct"): ("added", 0.0, pytest.approx(500.0))}
    # the outer manifest seals the runs too: a run's file edited is caught by the what-if folder's reader
    manifest = json.loads((out / "manifest.json").read_text())
    assert "runs/closure/flows.csv" in manifest["files"] and "runs/closure/manifest.json" in manifest["files"]
    f = out / "runs" / "closure" / "flows.csv"
    f.write_text(f.read_text() + "\n", encoding="utf-8")
    with pytest.raises(PlanFolderError, match="has changed"):
        read_plan_folder(out)


def test_report_of_a_whatif_shows_the_changes_and_keeps_the_runs(tmp_path, capsys):
    inv = _write_inventory(tmp_path / "park")
    closure = _toml(tmp_path, "closure.toml", '[remove]\nsites = ["B0"]\n')
    out = tmp_path / "out"
    assert main(["whatif", str(inv), str(closure), "--jobs", "1", "--gap", "0", "-o", str(out)]) == 0
    assert main(["report", str(out)]) == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="changes"' in html and "closure</b>: 1 added, 1 dropped, 1 resized" in html
    assert read_plan_folder(out / "runs" / "closure").has_plan  # carried over into the new version
    assert read_plan_folder(out).changes is not None and len(read_plan_folder(out).changes) == 3
    capsys.readouterr()
    # a what-if again over the folder replaces it as a whole: runs of the old grid do not linger
    assert main(["whatif", str(inv), "--jobs", "1", "-o", str(out)]) == 0
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["baseline"]
    assert read_plan_folder(out).changes is not None and read_plan_folder(out).changes.empty


def test_a_failed_run_has_no_folder_and_no_changes(tmp_path, trade_off):
    from flowmatch.plans.staging import stage
    from flowmatch.studies.changes import run_changes
    from flowmatch.studies.whatif import run_whatif

    with stage(tmp_path / "out", "comparison") as st:
        table = run_whatif(trade_off, vary=["landfill_tax=0"], jobs=1, solver="pulp:NO_SUCH_SOLVER",
                           runs_dir=st.path / "runs")
        assert (table["run_folder"] == "").all() and run_changes(table, st.path).empty
    assert not (tmp_path / "out" / "runs").exists()


def test_a_vary_axis_no_resource_uses_is_named_once(trade_off):
    from flowmatch.studies.whatif import run_whatif

    table = run_whatif(trade_off, vary=["landfill_price=40,80,120", "landfill_tax=0,10"], jobs=1)
    assert table.attrs["warnings"] == [
        "--vary: landfill_price is set, but every one of the 4 landfilled material haves states its own 'cost', "
        "so it changes nothing; change those resources' 'cost' instead (or leave it empty to use landfill_price)."]
    assert (table["run_folder"] == "").all()  # no runs_dir: no plan folders
    untaxed = table.iloc[1:][table["landfill_tax"].iloc[1:] == 0.0]
    assert untaxed["landfill_price"].tolist() == [40.0, 80.0, 120.0]
    assert untaxed["cost"].tolist() == pytest.approx([untaxed["cost"].iloc[0]] * 3)  # landfill_price is moot


def test_a_run_that_died_mid_write_leaves_no_half_folder(tmp_path, trade_off, monkeypatch):
    import flowmatch.studies.whatif as wi
    from flowmatch.plans.staging import stage

    def died(invs, opts, jobs, folders):  # the worker wrote part of the second run, then was killed
        folders[1].mkdir(parents=True)
        (folders[1] / "flows.csv").write_text("have_id\n", encoding="utf-8")
        ok = wi._solve_one(invs[0], opts, folders[0])
        return [ok, {"status": "error", "message": wi.WORKER_DIED}]

    monkeypatch.setattr(wi, "_solve_all", died)
    with stage(tmp_path / "out", "comparison") as st:
        table = wi.run_whatif(trade_off, vary=["landfill_tax=60"], jobs=1, runs_dir=st.path / "runs")
        assert table["run_folder"].tolist() == ["runs/baseline", ""]
    assert sorted(p.name for p in (tmp_path / "out" / "runs").iterdir()) == ["baseline"]
    assert read_plan_folder(tmp_path / "out" / "runs" / "baseline").has_plan


def test_a_run_is_reported_as_part_of_its_whatif_folder_and_not_replaced_alone(tmp_path, capsys):
    inv = _write_inventory(tmp_path / "park")
    closure = _toml(tmp_path, "closure.toml", '[remove]\nsites = ["B0"]\n')
    out = tmp_path / "out"
    assert main(["whatif", str(inv), str(closure), "--jobs", "1", "-o", str(out)]) == 0
    run = out / "runs" / "closure"
    before = (run / "flows.csv").read_bytes()
    assert main(["report", str(run)]) == 0  # the what-if folder is staged and swapped as one
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["baseline", "closure"]  # no lock beside the run
    assert (run / "report.html").exists() and (run / "flows.csv").read_bytes() == before
    assert read_plan_folder(run).has_plan and read_plan_folder(out).changes is not None  # both still sealed
    manifest = json.loads((run / "manifest.json").read_text())
    assert "report.html" in manifest["files"] and len(manifest["history"]) == 1  # the what-if's run kept
    capsys.readouterr()
    assert main(["optimise", str(inv), "-o", str(out / "runs" / "baseline")]) == 2
    err = capsys.readouterr().err
    assert "is a run of the what-if folder" in err and "Traceback" not in err
    assert read_plan_folder(out).changes is not None
