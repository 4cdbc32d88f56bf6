"""The built-in knowledge base (data/exchanges.csv) and its helpers."""

from __future__ import annotations

import re
from importlib import resources

import pandas as pd
import pytest

from flowmatch.inputs.cncodes import cn_category_exchanges
from flowmatch.inputs.knowledge import builtin_exchanges, merge_exchanges, recruit_sectors
from flowmatch.inputs.taxonomy import builtin_taxonomy

NACE = re.compile(r"^[A-U]\d{2}(\.\d{1,2})?$")


@pytest.fixture(scope="module")
def kb() -> pd.DataFrame:
    return builtin_exchanges()


@pytest.fixture(scope="module")
def tax():
    return builtin_taxonomy()


def _root(tax, t: str) -> str:
    return tax.ancestors(t)[-1]


def test_at_least_three_hundred_documented_exchanges(kb):
    assert len(kb) >= 300


#: A citation a reader can look up: a dated publication or report, or a standard's number.
CITATION = re.compile(r"\b(?:19|20)\d{2}\b|\b(?:EN|GB|GB/T|JIS|PAS|ISO|BS)\s?[A-Z]?\s?\d")


def test_every_source_cites_a_dated_work_or_a_standard(kb):
    uncited = kb.loc[~kb["source"].str.contains(CITATION), ["have_type", "want_type", "source"]]
    assert uncited.empty, uncited.to_string()


def test_want_sectors_are_nace_divisions_that_exist(kb):
    with resources.files("flowmatch.data").joinpath("nace_divisions.csv").open("r", encoding="utf-8") as fh:
        divisions = set(pd.read_csv(fh, dtype=str)["division"])
    bad = sorted({c for sectors in kb["want_sectors"] for c in sectors.split(";") if c[1:3] not in divisions})
    assert bad == []


def test_every_type_is_in_the_taxonomy(kb, tax):
    missing = sorted({t for t in pd.concat([kb["have_type"], kb["want_type"]]) if t not in tax})
    assert missing == []


def test_have_types_are_waste_codes_or_water_energy(kb, tax):
    roots = {t: _root(tax, t) for t in kb["have_type"]}
    assert {r for r in roots.values()} <= {"ewc", "water", "energy"}
    ewc_haves = [t for t, r in roots.items() if r == "ewc"]
    # every waste have is a code of the List of Wastes, a sub-chapter, or a named child of a code
    assert all(re.fullmatch(r"ewc:\d{4}(\d{2})?(:[a-z-]+)?", t) for t in ewc_haves)


def test_want_types_are_built_in_inputs(kb, tax):
    assert all(_root(tax, t) in {"raw", "water", "energy"} for t in kb["want_type"])


def test_have_and_want_share_a_category(kb, tax):
    """Matching scores a category mismatch 0, so such a row could never be used."""
    cat = {"ewc": "material", "raw": "material", "water": "water", "energy": "energy"}
    bad = [(h, w) for h, w in zip(kb["have_type"], kb["want_type"], strict=True)
           if cat[_root(tax, h)] != cat[_root(tax, w)]]
    assert bad == []


def test_scores_in_unit_interval(kb):
    assert ((kb["score"] > 0) & (kb["score"] <= 1)).all()


def test_no_duplicate_pair(kb):
    assert not kb.duplicated(["have_type", "want_type"]).any()


def test_every_row_has_a_source_and_sectors(kb):
    assert (kb["source"].str.strip().str.len() > 10).all()
    for sectors in kb["want_sectors"]:
        codes = sectors.split(";")
        assert codes and all(NACE.match(c) for c in codes), sectors


@pytest.mark.parametrize(
    ("have", "want"),
    [
        ("ewc:100105", "raw:gypsum"),  # FGD gypsum -> gypsum board
        ("ewc:100102", "raw:cement-additive"),  # fly ash -> cement and concrete
        ("ewc:100102", "raw:cement-clinker"),  # the spec's own example
        ("ewc:100101", "raw:cement-additive"),  # boiler slag -> cement
        ("ewc:100202:bf", "raw:cement-additive"),  # blast-furnace slag -> cement
        ("energy:steam:lp", "energy:heat:medium"),  # waste steam -> process heat
        ("water:effluent", "water:cooling"),  # treated effluent -> cooling water
        ("water:condensate", "water:boiler-feed"),  # condensate -> boiler feed
        ("ewc:020704:spent-grain", "raw:animal-feed"),  # brewery spent grain
        ("ewc:020799:diatomite", "raw:bricks"),  # spent diatomite
        ("ewc:020499:bagasse", "raw:paper-pulp"),
        ("ewc:020499:bagasse", "raw:fuel:biomass"),
        ("ewc:020499:molasses", "raw:ethanol-feedstock"),
        ("ewc:190805", "raw:fertiliser"),  # sewage sludge
        ("ewc:190805", "raw:fuel"),
        ("ewc:030105", "raw:wood-panel"),  # waste wood
        ("ewc:030105:bamboo", "raw:activated-carbon"),
        ("ewc:030105:bamboo", "raw:fuel:biomass"),
        ("ewc:050116", "raw:fertiliser"),  # refinery sulphur
        ("ewc:170405", "raw:steel-scrap"),  # scrap metals -> smelters
        ("ewc:170402", "raw:aluminium"),
        ("ewc:150102", "raw:plastics"),  # waste plastics -> recyclers
        ("ewc:020103", "raw:paper-pulp"),  # straw
        ("ewc:020103", "raw:fuel:biomass"),
        ("water:brine", "water:seawater"),  # desalination brine -> salt works
        ("energy:fuel-gas:bfg", "energy:fuel-gas"),
        # flagship exchanges of the best-documented symbioses
        ("ewc:070599:fermentation-biomass", "raw:fertiliser"),  # Kalundborg NovoGro
        ("energy:fuel-gas:refinery", "energy:fuel-gas"),  # Kalundborg refinery gas
        ("ewc:050116", "raw:sulphuric-acid"),  # Kalundborg sulphur
        ("ewc:161101", "raw:fuel"),  # Gladstone spent pot lining to cement
        ("ewc:150102", "raw:reductant"),  # Kawasaki plastics to the blast furnace
        ("ewc:191204", "raw:hydrogen"),  # Kawasaki plastics to ammonia
        ("ewc:150102:pet", "raw:plastics"),  # Kawasaki bottle-to-bottle PET
        ("energy:heat:medium", "energy:hot-water"),  # Rotterdam waste heat to district heating
        ("ewc:200125", "raw:biodiesel-feedstock"),  # NISP used cooking oil
        ("ewc:020499:beet-pulp", "raw:animal-feed"),
        ("ewc:160601", "raw:metals"),  # lead-acid batteries
        ("ewc:170302", "raw:aggregate"),  # reclaimed asphalt
    ],
)
def test_issue_list_is_covered(kb, have, want):
    row = kb[(kb["have_type"] == have) & (kb["want_type"] == want)]
    assert len(row) == 1


def test_standard_routes_outrank_niche_ones(kb):
    score = kb.set_index(["have_type", "want_type"])["score"]
    assert score[("ewc:100202:bf", "raw:cement-additive")] > score[("ewc:100202:bof", "raw:cement-additive")]
    assert score[("ewc:100105", "raw:gypsum")] > score[("ewc:100107", "raw:gypsum")]


def test_user_row_replaces_builtin_pair():
    user = pd.DataFrame({"have_type": ["ewc:100105", "ewc:999999"], "want_type": ["raw:gypsum", "raw:gypsum"],
                         "score": [0.3, 0.5]})
    merged = merge_exchanges(user)
    pair = merged[(merged["have_type"] == "ewc:100105") & (merged["want_type"] == "raw:gypsum")]
    assert len(pair) == 1
    assert pair["score"].iloc[0] == 0.3
    assert pair["source"].iloc[0] == "user"
    assert pair["want_sectors"].iloc[0] == ""
    assert len(merged) == len(builtin_exchanges()) + len(cn_category_exchanges()) + 1  # + China's HW categories


def test_recruit_sectors_uses_ancestor_rows_and_orders_by_score(kb, tax):
    # ewc:170402 (aluminium) has its own row (0.95) and inherits the 17 04 sub-chapter row (0.85)
    sectors = recruit_sectors(kb, tax, "ewc:170402")
    assert sectors[0] == "C24.42"
    assert "E38.32" in sectors
    assert recruit_sectors(kb, tax, "ewc:030302") == []  # green liquor dregs: no documented taker
    assert recruit_sectors(kb, tax, "no:such-type") == []
