"""Codes as users write them: a have typed with a parent code (a 6-digit EWC code, a
4-digit sub-chapter, a 2-digit chapter) finds the exchanges its sub-types document,
at ``type_subtype_discount`` per step, and the candidate names the sub-type."""

from __future__ import annotations

import pandas as pd
import pytest

from flowmatch.inputs.inventory import build_inventory
from flowmatch.inputs.knowledge import builtin_exchanges
from flowmatch.inputs.params import Params
from flowmatch.inputs.taxonomy import builtin_taxonomy
from flowmatch.matching.candidates import match
from flowmatch.matching.frozen import type_score_matrix, type_scores

SITES = [{"site_id": "A", "lat": 36.0, "lon": 117.0}, {"site_id": "B", "lat": 36.05, "lon": 117.05}]


def pair(have_type: str, want_type: str, params: Params | None = None, **tables) -> pd.Series:
    """The one candidate of a have of ``have_type`` and a want of ``want_type`` (empty if none)."""
    res = pd.DataFrame([
        {"resource_id": "H", "site_id": "A", "role": "have", "category": "material", "type": have_type,
         "quantity": 100.0, "unit": "t"},
        {"resource_id": "W", "site_id": "B", "role": "want", "category": "material", "type": want_type,
         "quantity": 100.0, "unit": "t"},
    ])
    inv = build_inventory({"sites": pd.DataFrame(SITES), "resources": res,
                           **{k: pd.DataFrame(v) for k, v in tables.items()}}, params=params)
    cands = match(inv)
    return cands.iloc[0] if len(cands) else pd.Series(dtype=object)


def kb_score(have: str, want: str) -> float:
    kb = builtin_exchanges().set_index(["have_type", "want_type"])["score"]
    return float(kb[(have, want)])


def test_the_parent_code_has_no_row_of_its_own():
    """The premise of the cases below: only the sub-type documents these exchanges."""
    kb = builtin_exchanges()
    for have in ("ewc:020704", "ewc:0207", "ewc:02"):
        assert kb[(kb["have_type"] == have) & (kb["want_type"] == "raw:yeast")].empty


def oracle(have: str, want: str, sub: float = 0.8) -> tuple[float, str]:
    """Best ``s * sub**k`` over the knowledge-base rows on ``want`` whose have type lies k >= 1 steps below ``have``."""
    tax = builtin_taxonomy()
    best = (0.0, "")
    for h, w, s in builtin_exchanges()[["have_type", "want_type", "score"]].itertuples(index=False):
        up = tax.ancestors(h)
        if w == want and have in up[1:] and s * sub ** up.index(have) > best[0]:
            best = (s * sub ** up.index(have), h)
    return best


@pytest.mark.parametrize(("have", "steps", "via"), [
    ("ewc:020704", 1, "ewc:020704:spent-yeast"),  # the legal 6-digit code
    ("ewc:0207", 2, "ewc:020704:spent-yeast"),  # its sub-chapter
    ("ewc:02", 3, "ewc:020499:molasses"),  # the chapter: molasses to baker's yeast scores higher
])
def test_parent_codes_find_the_sub_types_exchange_at_a_discount(have, steps, via):
    score, sub_type = oracle(have, "raw:yeast")
    assert sub_type == via
    assert score == pytest.approx(kb_score(via, "raw:yeast") * 0.8**steps)
    row = pair(have, "raw:yeast")
    assert row["s_type"] == pytest.approx(score)
    assert row["via_subtype"] == via


def test_legal_code_of_slag_finds_the_converter_slag_routes():
    row = pair("ewc:100202", "raw:limestone")  # documented for converter slag (flux to the sinter plant) only
    assert row["s_type"] == pytest.approx(kb_score("ewc:100202:bof", "raw:limestone") * 0.8)
    assert row["via_subtype"] == "ewc:100202:bof"


def test_the_discount_is_a_parameter_and_zero_turns_it_off():
    half = pair("ewc:020704", "raw:yeast", params=Params().replace(type_subtype_discount=0.5))
    assert half["s_type"] == pytest.approx(kb_score("ewc:020704:spent-yeast", "raw:yeast") * 0.5)
    assert pair("ewc:020704", "raw:yeast", params=Params().replace(type_subtype_discount=0.0)).empty


def test_an_exact_row_is_not_marked_as_via_a_sub_type():
    row = pair("ewc:020704:spent-yeast", "raw:yeast")
    assert row["s_type"] == pytest.approx(kb_score("ewc:020704:spent-yeast", "raw:yeast"))
    assert row["via_subtype"] == ""


def test_a_root_code_says_nothing_about_the_material():
    score, via = type_scores(["ewc", "water"], ["raw:yeast", "water:cooling"], builtin_taxonomy(),
                             builtin_exchanges(), Params())
    assert score[0, 0] == 0 and via[0, 0] == ""
    assert (via == "").all()


def test_want_below_the_documented_want_gets_the_inherit_discount_too():
    # raw:fuel:biomass is one step below raw:fuel; ewc:1912 reaches ewc:191210 -> raw:fuel one step down
    score, via = type_scores(["ewc:1912"], ["raw:fuel:biomass"], builtin_taxonomy(), builtin_exchanges(), Params())
    kb = builtin_exchanges()
    tax = builtin_taxonomy()
    expect = 0.0
    for h, w, s in kb[["have_type", "want_type", "score"]].itertuples(index=False):
        up = tax.ancestors(h)
        if "ewc:1912" in up[1:] and w in tax.ancestors("raw:fuel:biomass"):
            expect = max(expect, s * 0.8 ** up.index("ewc:1912") * 0.9 ** tax.ancestors("raw:fuel:biomass").index(w))
    assert expect > 0
    assert score[0, 0] == pytest.approx(expect)
    assert via[0, 0].startswith("ewc:1912")


def test_user_sub_types_and_rows_take_part():
    """A user's own sub-type and compatibility row reach a have typed with its parent code."""
    types = [{"type": "ewc:070213:pet", "parent": "ewc:070213", "label": "PET flake"}]
    comp = [{"have_type": "ewc:070213:pet", "want_type": "raw:textiles", "score": 0.9}]
    row = pair("ewc:070213", "raw:textiles", types=types, compatibility=comp)
    assert row["s_type"] == pytest.approx(0.9 * 0.8)
    assert row["via_subtype"] == "ewc:070213:pet"


def test_type_score_matrix_includes_the_sub_type_routes():
    args = (["ewc:020704", "ewc:100202"], ["raw:yeast", "raw:sand"], builtin_taxonomy(), builtin_exchanges(),
            Params())
    score, _ = type_scores(*args)
    assert (type_score_matrix(*args) == score).all()
    assert (score > type_score_matrix(*args, subtypes=False)).any()


def test_a_hazardous_sub_type_lends_its_rows_only_to_a_hazardous_parent():
    """Spent pot lining (ewc:161101*, hazardous) goes to licensed kilns; a have typed with its
    sub-chapter ewc:1611 (no hazardous flag) is not offered that route as a guess."""
    tax, kb = builtin_taxonomy(), builtin_exchanges()
    assert tax.hazardous("ewc:161101") is True and tax.hazardous("ewc:1611") is not True
    assert kb_score("ewc:161101", "raw:fuel") > 0
    score, via = type_scores(["ewc:1611"], ["raw:fuel"], tax, kb, Params())
    assert score[0, 0] == 0 and via[0, 0] == ""
    # a hazardous parent does take a hazardous sub-type's row
    tax2 = tax.merged(pd.DataFrame([{"type": "ewc:161101:cathode", "parent": "ewc:161101", "label": "Cathode"}]))
    kb2 = pd.concat([kb, pd.DataFrame([{"have_type": "ewc:161101:cathode", "want_type": "raw:clay",
                                        "score": 0.5}])], ignore_index=True)
    assert tax2.hazardous("ewc:161101:cathode") is True
    score, via = type_scores(["ewc:161101"], ["raw:clay"], tax2, kb2, Params())
    assert score[0, 0] == pytest.approx(0.5 * 0.8) and via[0, 0] == "ewc:161101:cathode"
