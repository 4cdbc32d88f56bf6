"""Gap analysis: haves with no good candidate, and the sectors to recruit for them."""

from __future__ import annotations

import sys
import types

import numpy as np
import pandas as pd
import pytest

from flowmatch.cli import main
from flowmatch.inputs.inventory import build_inventory
from flowmatch.inputs.knowledge import builtin_exchanges
from flowmatch.inputs.taxonomy import builtin_taxonomy
from flowmatch.matching.gaps import GAP_COLUMNS, format_gaps, gap_analysis, gaps_text


def _tables() -> dict[str, pd.DataFrame]:
    sites = pd.DataFrame({
        "site_id": ["S1", "S2", "S3", "S4"], "name": ["Power", "Ash Co", "Steel", "Cement"],
        "park": ["North", "North", "South", "South"],
        "sector": ["D35.11", "C23.5", "C24.10", "Cement plant"],
        "lat": [30.0, 30.01, 30.2, 30.21], "lon": [120.0, 120.01, 120.2, 120.21]})
    res = pd.DataFrame([
        ("H1", "S1", "have", "material", "user:gyp", 1000, "t"),
        ("H2", "S2", "have", "material", "user:ash", 5000, "t"),
        ("H3", "S1", "have", "material", "user:ash", 200, "t"),
        ("H4", "S3", "have", "water", "water:mywater", 800, "m3"),
        ("H5", "S2", "have", "material", "user:other", 3, "kt"),
        ("W1", "S4", "want", "material", "user:cement", 100, "t"),
        ("W2", "S4", "want", "water", "user:cooling", 10, "m3"),
    ], columns=["resource_id", "site_id", "role", "category", "type", "quantity", "unit"])
    res.loc[res["resource_id"] == "W2", "type"] = "water:mycooling"
    types_ = pd.DataFrame({
        "type": ["user:waste", "user:ash", "user:sludge", "user:gyp", "water:mywater", "water:mycooling",
                 "user:board", "user:cement", "user:bricks"],
        "parent": ["", "user:waste", "user:waste", "", "water", "water", "", "", ""],
        "label": ["Waste", "Ash", "Sludge", "Gypsum waste", "My water", "My cooling", "Board", "Cement",
                  "Bricks"]})
    comp = pd.DataFrame({
        "have_type": ["user:gyp", "user:ash", "user:waste", "water:mywater"],
        "want_type": ["user:board", "user:cement", "user:bricks", "water:mycooling"],
        "score": [1.0, 0.95, 0.7, 0.8],
        "source": ["test"] * 4,
        "want_sectors": ["C23.6", "C23.5; C23.61", "C23.32", "D35.1|C24|cement plant"]})
    return {"sites": sites, "resources": res, "types": types_, "compatibility": comp}


CANDIDATES = pd.DataFrame({"have_id": ["H2", "H3", "H4"], "want_id": ["W1", "W1", "W2"],
                           "score": [0.3, 0.9, np.nan]})


@pytest.fixture(scope="module")
def inv():
    return build_inventory(_tables())


def test_gaps_largest_first_with_sectors_to_recruit(inv):
    g = gap_analysis(inv, CANDIDATES)
    assert list(g.columns) == GAP_COLUMNS
    # H3 has a good candidate; the rest are gaps, material first, largest first (H5 is 3 kt)
    assert g["resource_id"].tolist() == ["H2", "H5", "H1", "H4"]
    assert g["quantity"].tolist() == [5000.0, 3000.0, 1000.0, 800.0]
    row = g.set_index("resource_id")
    # best score kept when below the threshold; NaN where the have has no (scored) candidate
    assert row.at["H2", "best_score"] == pytest.approx(0.3)
    assert np.isnan(row.at["H1", "best_score"]) and np.isnan(row.at["H4", "best_score"])
    assert row.at["H2", "n_candidates"] == 1 and row.at["H1", "n_candidates"] == 0
    # documented uses, best first, through the type's ancestors (user:waste -> user:bricks)
    assert row.at["H2", "uses"] == "user:cement; user:bricks"
    # C23.5 is here (Ash Co); C23.61 and C23.32 are not
    assert row.at["H2", "recruit_sectors"] == "C23.61; C23.32"
    assert row.at["H2", "present_sectors"] == "C23.5"
    assert row.at["H1", "recruit_sectors"] == "C23.6"
    # D35.1 matches D35.11, C24 matches C24.10, a sector label matches case-insensitively
    assert row.at["H4", "recruit_sectors"] == ""
    assert row.at["H4", "present_sectors"] == "D35.1; C24; cement plant"
    assert row.at["H5", "uses"] == "" and row.at["H5", "recruit_sectors"] == ""
    assert row.at["H1", "site_name"] == "Power" and row.at["H1", "park"] == "North"
    assert row.at["H1", "type_label"] == "Gypsum waste"


def test_min_score_sets_what_counts_as_good(inv):
    assert "H2" not in set(gap_analysis(inv, CANDIDATES, min_score=0.25)["resource_id"])
    assert "H3" in set(gap_analysis(inv, CANDIDATES, min_score=0.95)["resource_id"])
    assert gap_analysis(inv, CANDIDATES, min_score=0.0)["resource_id"].tolist() == ["H5", "H1", "H4"]


def test_plan_tables_use_the_builtin_knowledge_base():
    kb = builtin_exchanges()
    row = kb.iloc[0]
    chain = builtin_taxonomy().ancestors(row["have_type"]) or [row["have_type"]]
    hits = kb[kb["have_type"].isin(chain)]
    codes = list(dict.fromkeys(c for cell in hits["want_sectors"].dropna()
                               for c in str(cell).replace("|", ";").replace(",", ";").split(";") if c.strip()))
    codes = [c.strip() for c in codes]
    sites = pd.DataFrame({"site_id": ["A"], "sector": ["Z99"], "name": ["a"], "park": ["p"],
                          "lat": [0.0], "lon": [0.0]})
    res = pd.DataFrame({"resource_id": ["H"], "site_id": ["A"], "role": ["have"], "category": ["material"],
                        "type": [row["have_type"]], "quantity": [10.0], "unit": ["t"]})
    g = gap_analysis({"sites": sites, "resources": res}, pd.DataFrame({"have_id": [], "score": []}))
    assert g["resource_id"].tolist() == ["H"]
    assert g.at[0, "uses"].split("; ")[0] == hits.sort_values("score", ascending=False)["want_type"].iloc[0]
    assert g.at[0, "recruit_sectors"] == "; ".join(codes) and codes
    with pytest.raises(ValueError, match="needs candidates"):
        gap_analysis({"sites": sites, "resources": res})


def test_format_gaps(inv):
    text = format_gaps(gap_analysis(inv, CANDIDATES), top=2)
    assert text.splitlines()[0] == ("4 have(s) with no candidate scoring at least 0.5 "
                                    "(9,000 t/yr material, 800 m3/yr water).")
    assert "material (largest 2 of 3):" in text and "H1" not in text  # cut at top=2
    assert "H2  5,000 t/yr  user:ash Ash  at Ash Co (North); best score 0.30" in text
    assert ("recruit: C23.61 (other non-metallic mineral products); C23.32 (other non-metallic mineral "
            "products)  (uses: user:cement; user:bricks)") in text
    assert ("used elsewhere as water:mycooling; such sectors already here: D35.1 (electricity, gas, steam and "
            "air conditioning supply); C24 (basic metals); cement plant") in text
    assert "no documented use in the knowledge base" in text
    assert format_gaps(gap_analysis(inv, CANDIDATES).head(0)).startswith("No gaps")


@pytest.fixture
def fake_match(monkeypatch):
    """Stand in for flowmatch.matching.candidates.match (another engineer's module) with fixed candidates."""
    calls = []

    def match(inventory, top_k=None, min_score=None, per_have=False, threads=None, progress=False):
        calls.append(inventory)
        return CANDIDATES.copy()

    mod = types.ModuleType("flowmatch.matching.candidates")
    mod.match = match
    monkeypatch.setitem(sys.modules, "flowmatch.matching.candidates", mod)
    return calls


def test_gaps_text_matches_the_inventory(inv, fake_match):
    text = gaps_text(inv, top=5)
    assert fake_match == [inv]
    assert "H1  1,000 t/yr  user:gyp Gypsum waste  at Power (North); no candidate" in text
    assert gap_analysis(inv)["resource_id"].tolist() == ["H2", "H5", "H1", "H4"]


def test_cli_gaps(tmp_path, fake_match, capsys):
    for name, df in _tables().items():
        df.to_csv(tmp_path / f"{name}.csv", index=False)
    assert main(["gaps", str(tmp_path), "--top", "1"]) == 0
    out = capsys.readouterr().out
    assert "material (largest 1 of 3):" in out and "recruit: C23.61 (other non-metallic" in out


@pytest.mark.slow
def test_cli_gaps_on_a_bundled_dataset(capsys, datasets_dir):
    inv = datasets_dir / "power_cement_brewery"
    from flowmatch.inputs.inventory import read_inventory

    assert main(["gaps", str(inv), "--top", "2"]) == 0
    out = capsys.readouterr().out
    gaps = gap_analysis(read_inventory(inv))  # with the real matcher
    assert len(gaps) > 0
    assert out.splitlines()[0].startswith(f"{len(gaps)} have(s) with no candidate scoring at least 0.5")
    assert f"  {gaps['resource_id'].iloc[0]}  " in out
