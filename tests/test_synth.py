"""The synthetic generator: deterministic, valid, realistic in its distributions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flowmatch.cli import main
from flowmatch.errors import FlowmatchError, ParamsError
from flowmatch.inputs.inventory import build_inventory, read_inventory
from flowmatch.inputs.knowledge import builtin_exchanges
from flowmatch.inputs.synth import synth, synth_tables
from flowmatch.inputs.synth_world import PROVINCES, SECTORS, _templates
from flowmatch.inputs.taxonomy import builtin_taxonomy

N = 20_000


@pytest.fixture(scope="module")
def big():
    return synth_tables(N, seed=7)


@pytest.fixture(scope="module")
def big_inv(big):
    return build_inventory(big, source="synth")


def test_deterministic_for_a_seed():
    a, b = synth_tables(2000, seed=3), synth_tables(2000, seed=3)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    c = synth_tables(2000, seed=4)
    assert not a["resources"]["quantity"].equals(c["resources"]["quantity"])


def test_exact_count_and_unique_ids(big):
    r, s = big["resources"], big["sites"]
    assert len(r) == N and r["resource_id"].is_unique and s["site_id"].is_unique
    assert r["site_id"].isin(s["site_id"]).all()
    assert big["properties"]["resource_id"].isin(r["resource_id"]).all()


@pytest.mark.parametrize("n", [1, 7, 100, 2000])
def test_small_inventories_validate(n):
    inv = build_inventory(synth_tables(n, seed=n), source="synth")
    assert len(inv.resources) == n and len(inv.sites) >= 1


def test_written_files_read_back(tmp_path, capsys):
    for fmt in ("parquet", "csv"):
        out = synth(2000, seed=1, out=tmp_path / fmt, fmt=fmt)
        assert sorted(p.name for p in out.iterdir()) == [f"{t}.{fmt}" for t in ("properties", "resources", "sites")]
        inv = read_inventory(out)
        assert len(inv.resources) == 2000 and not inv.unknown_types
    assert main(["synth", "--resources", "300", "--seed", "2", "-o", str(tmp_path / "cli")]) == 0
    assert "wrote 300 resources" in capsys.readouterr().out
    assert len(read_inventory(tmp_path / "cli").resources) == 300


def test_bad_arguments(tmp_path):
    with pytest.raises(ParamsError):
        synth_tables(0)
    with pytest.raises(ParamsError):
        synth_tables(10, seed=-1)
    with pytest.raises(ParamsError):
        synth(10, out=tmp_path / "x", fmt="xlsx")
    synth(10, out=tmp_path / "y", fmt="csv")
    with pytest.raises(FlowmatchError, match="both formats"):
        synth(10, out=tmp_path / "y", fmt="parquet")
    assert main(["synth", "--resources", "-5", "-o", str(tmp_path / "z")]) == 2


def test_templates_use_known_types_only():
    tpl = _templates()
    tax = builtin_taxonomy()
    assert all(t in tax for t in tpl.type)
    # every sector offers something and wants something
    for si in range(len(SECTORS)):
        sel = tpl.sector == si
        assert tpl.have[sel].any() and (~tpl.have[sel]).any(), SECTORS[si].code


def test_structure_parks_sites_and_places(big):
    s = big["sites"]
    assert len(s) == pytest.approx(N / 8, rel=0.01)
    assert s["park"].nunique() == pytest.approx(N / 8 / 25, rel=0.05)
    # parks are clustered: sites of a park lie within a few km of each other
    spread = s.groupby("park")[["lat", "lon"]].std().median()
    assert (spread < 0.1).all()
    # within China's bounding box, and the biggest provinces hold the most parks
    assert s["lat"].between(15, 55).all() and s["lon"].between(70, 137).all()
    provinces = s.drop_duplicates("park")["park"].str.rsplit("-", n=1).str[0].value_counts()
    top = {p[0] for p in sorted(PROVINCES, key=lambda p: -p[3])[:6]}
    assert set(provinces.index[:3]) <= top


def test_roles_categories_and_units(big):
    r = big["resources"]
    have_share = (r["role"] == "have").mean()
    assert 0.5 < have_share < 0.65
    cats = r["category"].value_counts(normalize=True)
    assert cats["material"] > 0.5 and cats["water"] > 0.1 and cats["energy"] > 0.08
    assert {"t", "kg", "t/h", "m3", "m3/h", "MWh", "GJ", "MW"} <= set(r["unit"])


def test_quantities_are_log_normal(big_inv):
    r = big_inv.resources
    q = r.loc[(r["role"] == "have") & (r["category"] == "material"), "quantity"]
    logq = np.log10(q[q > 0])
    assert 1.0 < logq.std() < 2.0  # sigma 1.2 in ln plus sector sizes: about 1.5 decades
    assert abs(logq.skew()) < 0.6  # roughly symmetric in log space
    # big industries have bigger flows than small ones
    sect = big_inv.sites.set_index("site_id")["sector"]
    med = r.assign(sector=r["site_id"].map(sect)).groupby("sector")["quantity"].median()
    assert med["D35.1"] > 5 * med["C25.6"]


def test_hazardous_haves_come_from_the_codes(big_inv):
    h = big_inv.haves
    share = h["hazardous"].mean()
    assert 0.05 < share < 0.5
    assert (h.loc[h["hazardous"] & (h["category"] == "material"), "route"] == "incineration").all()


def test_seasons_and_frequencies(big_inv):
    r = big_inv.resources
    sect = big_inv.sites.set_index("site_id")["sector"]
    sugar = r[(r["site_id"].map(sect) == "C10.8") & (r["role"] == "have")
              & ~r["type"].str.startswith("ewc:15")]
    assert (sugar["months"] == "11-4").mean() > 0.5  # the cane crushing campaign
    assert 0.6 < (r["month_mask"] == 4095).mean() < 0.95
    assert set(r["frequency"]) <= {"continuous", "daily", "weekly", "monthly", "quarterly", "yearly", "batch"}
    assert (r.loc[r["category"] != "material", "frequency"].isin(["continuous", "daily"])).all()


def test_costs_are_realistic(big_inv):
    r = big_inv.resources
    landfill = r[(r["role"] == "have") & (r["category"] == "material") & ~r["hazardous"]]
    assert 25 < landfill["cost"].median() < 60  # China: about 40 CNY/t
    water = r[(r["role"] == "want") & (r["type"] == "water:process")]
    assert 2 < water["cost"].median() < 8
    assert (r["cost"] > 0).all() and (r["co2"] >= 0).all()


def test_quality_properties(big, big_inv):
    p = big["properties"]
    assert {"moisture_pct", "purity_pct", "chloride_ppm", "cod_mg_l", "tss_ppm", "temperature_c",
            "target_temperature_c"} <= set(p["property"])
    role = big["resources"].set_index("resource_id")["role"]
    pr = p.assign(role=p["resource_id"].map(role))
    # haves state values, wants state accepted ranges
    moist = pr[pr["property"] == "moisture_pct"]
    assert moist.loc[moist.role == "have", "value"].notna().all()
    assert moist.loc[moist.role == "want", "max"].notna().all()
    # a hot stream cools down: target below supply
    hot = pr[(pr.role == "have")].pivot_table(index="resource_id", columns="property", values="value")
    both = hot[["temperature_c", "target_temperature_c"]].dropna()
    assert len(both) > 50 and (both["target_temperature_c"] < both["temperature_c"]).all()
    # boiler feed water is far stricter than cooling water
    typ = big["resources"].set_index("resource_id")["type"]
    cod = pr[(pr["property"] == "cod_mg_l") & (pr.role == "want")].assign(type=lambda d: d.resource_id.map(typ))
    assert cod.loc[cod.type == "water:boiler-feed", "max"].max() < cod.loc[cod.type == "water:cooling", "max"].min()


def test_knowledge_base_exchanges_occur(big_inv):
    tax = big_inv.taxonomy
    have_types = set(big_inv.haves["type"])
    want_types = set(big_inv.wants["type"])

    def present(kb_type, generated):
        return any(kb_type in tax.ancestors(t) for t in generated)

    kb = builtin_exchanges()
    found = [present(h, have_types) and present(w, want_types) for h, w in zip(kb.have_type, kb.want_type, strict=True)]
    assert np.mean(found) >= 0.6, kb[~np.array(found)][["have_type", "want_type"]]
    # and are frequent: many haves have a documented exchange to some want present
    kb_haves = set(kb.have_type)
    assert big_inv.haves["type"].isin(kb_haves).sum() > 0.02 * len(big_inv.haves)
