"""Programme evidence (the inventory's evidence table) moving matching's type scores."""

from __future__ import annotations

import pandas as pd
import pytest

from flowmatch.errors import InventoryError
from flowmatch.inputs.evidence import (
    apply_evidence,
    candidate_notes,
    normalise_evidence,
    programme_lines,
)
from flowmatch.inputs.inventory import build_inventory, read_inventory
from flowmatch.matching.candidates import match

SITES = [{"site_id": "A", "lat": 36.0, "lon": 117.0}, {"site_id": "B", "lat": 36.1, "lon": 117.1}]
# fly ash -> cement additive is in the built-in knowledge base; gypsum -> a user type is not
RESOURCES = [
    {"resource_id": "H1", "site_id": "A", "role": "have", "category": "material", "type": "ewc:100102",
     "quantity": 100.0, "unit": "t"},
    {"resource_id": "W1", "site_id": "B", "role": "want", "category": "material", "type": "raw:cement-additive",
     "quantity": 100.0, "unit": "t"},
    {"resource_id": "H2", "site_id": "A", "role": "have", "category": "material", "type": "my:sludge",
     "quantity": 100.0, "unit": "t"},
    {"resource_id": "W2", "site_id": "B", "role": "want", "category": "material", "type": "my:binder",
     "quantity": 100.0, "unit": "t"},
]


def _inv(evidence=None):
    tables = {"sites": pd.DataFrame(SITES), "resources": pd.DataFrame(RESOURCES)}
    if evidence is not None:
        tables["evidence"] = pd.DataFrame(evidence)
    return build_inventory(tables)


def _pair(cands, h, w):
    row = cands[(cands["have_id"] == h) & (cands["want_id"] == w)]
    return row.iloc[0] if len(row) else None


def test_completed_raises_abandoned_lowers_and_a_new_pair_appears():
    base = match(_inv())
    s0 = _pair(base, "H1", "W1")["s_type"]
    assert 0 < s0 < 1
    assert _pair(base, "H2", "W2") is None  # nothing links the two user types
    assert (base["programme_done"] == 0).all()

    done = match(_inv([{"have_type": "ewc:100102", "want_type": "raw:cement-additive", "completed": 1},
                       {"have_type": "my:sludge", "want_type": "my:binder", "completed": 1}]))
    row = _pair(done, "H1", "W1")
    assert row["s_type"] == pytest.approx((s0 + 1) / 2)  # one completion halves the distance to 1
    assert row["score"] > _pair(base, "H1", "W1")["score"]
    assert row["programme_done"] == 1
    new = _pair(done, "H2", "W2")
    assert new is not None and new["s_type"] == pytest.approx(0.5) and new["programme_done"] == 1

    same = match(_inv(), evidence=pd.DataFrame({"have_type": ["ewc:100102"], "want_type": ["raw:cement-additive"],
                                                "completed": [1]}))  # the API argument, same rule
    assert _pair(same, "H1", "W1")["s_type"] == pytest.approx((s0 + 1) / 2)

    lost = match(_inv([{"have_type": "ewc:100102", "want_type": "raw:cement-additive", "abandoned": 1,
                        "abandon_reasons": "quality too variable"}]))
    row = _pair(lost, "H1", "W1")
    assert row["s_type"] == pytest.approx(s0 / 2) and row["programme_done"] == 0


def test_rows_of_several_programmes_add_up():
    ev = normalise_evidence(pd.DataFrame({"have_type": ["a", "a"], "want_type": ["b", "b"],
                                          "completed": [2, 1], "abandoned": [0, 1],
                                          "abandon_reasons": ["", "distance"], "programme": ["P1", "P2"]}))
    assert ev[["completed", "abandoned"]].values.tolist() == [[3, 1]]
    assert ev["programme"].iloc[0] == "P1; P2" and ev["abandon_reasons"].iloc[0] == "distance"
    import numpy as np

    out, done = apply_evidence(np.array([[0.6]]), ["a"], ["b"], ev)
    assert out[0, 0] == pytest.approx((0.6 + 3) / 5) and done[0, 0] == 3
    forbidden = np.array([[True]])
    out, done = apply_evidence(np.array([[0.0]]), ["a"], ["b"], ev, forbidden)
    assert out[0, 0] == 0 and done[0, 0] == 0  # evidence never reopens a forbidden water pair


def test_evidence_csv_is_read_and_checked(tmp_path):
    folder = tmp_path / "inv"
    folder.mkdir()
    pd.DataFrame(SITES).to_csv(folder / "sites.csv", index=False)
    pd.DataFrame(RESOURCES).to_csv(folder / "resources.csv", index=False)
    pd.DataFrame({"have_type": ["my:sludge"], "want_type": ["my:binder"], "completed": ["2"],
                  "programme": ["Demo"]}).to_csv(folder / "evidence.csv", index=False)
    inv = read_inventory(folder)
    assert inv.evidence["completed"].tolist() == [2]
    cands = match(inv)
    notes = candidate_notes(cands)
    assert "done 2 times in this programme" in notes[(cands["have_id"] == "H2").to_numpy()].iloc[0]
    assert any("H2 -> W2" in line for line in programme_lines(cands))
    pd.DataFrame({"have_type": ["my:sludge"], "want_type": ["my:binder"],
                  "completed": ["-1"]}).to_csv(folder / "evidence.csv", index=False)
    with pytest.raises(InventoryError, match=r"evidence\.csv.*completed"):
        read_inventory(folder)
