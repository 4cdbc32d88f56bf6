"""China's waste codes (cnhw:, cnsw:): the data tables, their place in the taxonomy,
matching through their EWC codes, and labels in Chinese."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flowmatch.inputs.cncodes import cn_hazardous_waste, cn_solid_waste
from flowmatch.inputs.knowledge import builtin_exchanges
from flowmatch.inputs.labels import LanguageError, labels_zh, type_label
from flowmatch.inputs.params import Params
from flowmatch.inputs.taxonomy import builtin_taxonomy
from flowmatch.matching.frozen import type_score_matrix

CJK = re.compile(r"[\u3400-\u9fff]")
#: HW41-HW44 were folded into other categories in 2016 and are not in the 2021 list
HW_CATEGORIES = [f"HW{n:02d}" for n in range(1, 51) if not 41 <= n <= 44]
#: 8-digit codes per category in the 2021 list's annex table (国家危险废物名录（2021年版）附表); 467 in all
HW_CODES_PER_CATEGORY = {
    "HW01": 5, "HW02": 20, "HW03": 1, "HW04": 13, "HW05": 7, "HW06": 6, "HW07": 6, "HW08": 32, "HW09": 3,
    "HW10": 4, "HW11": 85, "HW12": 20, "HW13": 8, "HW14": 1, "HW15": 4, "HW16": 8, "HW17": 21, "HW18": 4,
    "HW19": 1, "HW20": 1, "HW21": 13, "HW22": 4, "HW23": 4, "HW24": 1, "HW25": 1, "HW26": 1, "HW27": 2,
    "HW28": 1, "HW29": 22, "HW30": 1, "HW31": 6, "HW32": 1, "HW33": 5, "HW34": 19, "HW35": 12, "HW36": 9,
    "HW37": 4, "HW38": 7, "HW39": 2, "HW40": 1, "HW45": 8, "HW46": 3, "HW47": 2, "HW48": 33, "HW49": 11,
    "HW50": 44,
}


@pytest.fixture(scope="module")
def hw() -> pd.DataFrame:
    return cn_hazardous_waste()


@pytest.fixture(scope="module")
def sw() -> pd.DataFrame:
    return cn_solid_waste()


@pytest.fixture(scope="module")
def tax():
    return builtin_taxonomy()


def test_every_category_of_the_2021_list(hw):
    cats = hw.loc[hw["industry"] == "", "code"].tolist()
    assert cats == HW_CATEGORIES
    assert (hw.loc[hw["industry"] == "", "category"] == hw.loc[hw["industry"] == "", "code"]).all()


def test_eight_digit_codes_are_well_formed_and_in_their_category(hw):
    codes = hw[hw["industry"] != ""]
    assert len(codes) == 467
    assert codes["code"].is_unique
    assert codes["code"].str.fullmatch(r"\d{3}-\d{3}-\d{2}").all()
    assert (codes["code"].str[-2:] == codes["category"].str[2:]).all()
    assert (codes["code"].str[:3] == codes["industry"]).all()
    assert codes["category"].isin(HW_CATEGORIES).all()
    assert (codes["industry_zh"] != "").all() and (codes["industry_en"] != "").all()


def test_codes_are_unique_and_end_in_their_category_number(hw):
    codes = hw.loc[hw["industry"] != "", ["code", "category"]]
    assert not codes["code"].duplicated().any()
    assert (codes["code"].str[-2:] == codes["category"].str[-2:]).all()
    # 336-100 is in the list twice, as a surface-treatment waste and as a chromium waste
    assert {"cnhw:336-100-17", "cnhw:336-100-21"} <= set(hw["type"])


def test_every_code_of_the_2021_list_and_no_other(hw):
    assert sum(HW_CODES_PER_CATEGORY.values()) == 467
    counts = hw[hw["industry"] != ""].groupby("category").size().to_dict()
    assert counts == HW_CODES_PER_CATEGORY
    # codes of the 2016 list that the 2021 list dropped or renumbered are not in the table
    assert not {"900-001-01", "221-001-12", "900-018-15", "900-036-45", "314-001-34"} & set(hw["code"])
    by_code = hw.set_index("code")
    assert by_code.loc["313-001-34", "industry_zh"] == "钢压延加工"  # steel pickling liquor: 313 in 2021
    assert by_code.loc["264-013-34", "label_zh"].startswith("硫酸法生产钛白粉")
    assert by_code.loc["900-308-34", "label_zh"] == "使用酸进行催化（化学镀）产生的废酸液"


def test_hazard_characteristics_are_the_lists_five(hw):
    allowed = {"T", "C", "I", "R", "In"}
    assert all(h and set(h.split(",")) <= allowed for h in hw["hazard"])


@pytest.mark.parametrize("table", ["hw", "sw"])
def test_every_row_has_zh_and_en_labels_and_a_valid_ewc_mapping(table, request, tax):
    t = request.getfixturevalue(table)
    assert t["label_zh"].map(lambda s: bool(CJK.search(s))).all()
    assert t["label_en"].map(lambda s: bool(re.search(r"[A-Za-z]{3}", s)) and not CJK.search(s)).all()
    bad = [e for e in t["ewc"] if e not in tax or tax.ancestors(e)[-1] != "ewc" or e == "ewc"]
    assert bad == []


def test_solid_waste_classes(sw):
    assert sw["code"].str.fullmatch(r"SW\d{2}").all() and sw["code"].is_unique
    assert {"SW01", "SW02", "SW06", "SW09", "SW10", "SW17", "SW59"} <= set(sw["code"])


def test_codes_sit_under_their_ewc_code(hw, sw, tax):
    for t, e in zip(pd.concat([hw["type"], sw["type"]]), pd.concat([hw["ewc"], sw["ewc"]]), strict=True):
        assert tax.parent(t) == e
    assert tax.ancestors("cnhw:900-249-08")[:2] == ["cnhw:900-249-08", "ewc:130208"]
    assert tax.ancestors("cnsw:SW06") == ["cnsw:SW06", "ewc:100105", "ewc:1001", "ewc:10", "ewc"]


def test_hazardous_list_codes_are_hazardous_solid_waste_classes_not(hw, sw, tax):
    assert all(tax.hazardous(t) is True for t in hw["type"])
    assert all(tax.hazardous(t) is False for t in sw["type"])
    # a hazardous-list code is hazardous even where its EWC code is not (mirror entries)
    mirror = [t for t, e in zip(hw["type"], hw["ewc"], strict=True) if tax.hazardous(e) is False]
    assert "cnhw:251-017-50" in mirror  # FCC catalyst: EWC 16 08 04 is not hazardous, the list's code is


def test_cn_haves_find_every_exchange_their_ewc_code_documents(hw, sw, tax):
    """A cn code scores, for every want its EWC code (or an ancestor) documents, that score times
    one inheritance step (the cn code is one step below its EWC code)."""
    kb = builtin_exchanges()
    params = Params()
    disc = params.type_inherit_discount
    cn = pd.concat([hw[["type", "ewc"]], sw[["type", "ewc"]]], ignore_index=True)
    pairs = []
    for t, e in cn.itertuples(index=False):
        chain = tax.ancestors(e)
        for k, a in enumerate(chain):
            for w, s in kb.loc[kb["have_type"] == a, ["want_type", "score"]].itertuples(index=False):
                pairs.append((t, w, s * disc ** (k + 1)))
    assert len({p[0] for p in pairs}) >= 10  # many cn codes have documented uses through EWC
    haves = sorted({p[0] for p in pairs})
    wants = sorted({p[1] for p in pairs})
    m = type_score_matrix(haves, wants, tax, kb, params)
    hi, wi = {t: i for i, t in enumerate(haves)}, {t: j for j, t in enumerate(wants)}
    for t, w, s in pairs:
        assert m[hi[t], wi[w]] >= s - 1e-12, (t, w)


def test_fgd_gypsum_as_cnsw_sw06_and_ewc_score_alike(tax):
    kb = builtin_exchanges()
    params = Params()
    m = type_score_matrix(["cnsw:SW06", "ewc:100105", "cnsw:SW02"], ["raw:gypsum", "raw:cement-additive"],
                          tax, kb, params)
    assert m[0, 0] == pytest.approx(m[1, 0] * params.type_inherit_discount)
    assert m[0, 0] > 0.8 and m[2, 1] > 0.8  # FGD gypsum -> plasterboard, fly ash -> cement


def test_match_with_chinese_codes(tmp_path: Path, mini_dir: Path):
    from flowmatch import match, read_inventory

    for f in mini_dir.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    res = pd.read_csv(tmp_path / "resources.csv", dtype=str, keep_default_na=False)
    res["type"] = res["type"].replace({"ewc:100105": "cnsw:SW06", "ewc:100102": "cnhw:HW18"})
    res.to_csv(tmp_path / "resources.csv", index=False)
    inv = read_inventory(tmp_path)
    assert not inv.unknown_types
    cands = match(inv, progress=False)
    pairs = set(zip(cands["have_id"], cands["want_id"], strict=True))
    assert ("H1", "W1") in pairs  # cnsw:SW06 (FGD gypsum) -> natural gypsum, through ewc:100105
    h2 = inv.resources.set_index("resource_id").loc["H2"]
    assert bool(h2["hazardous"])  # HW18 incineration residues: hazardous by the list


def test_chinese_labels(tax):
    zh = labels_zh()
    assert type_label("cnsw:SW06", "zh") == "脱硫石膏"
    assert type_label("cnhw:HW08", "zh") == "废矿物油与含矿物油废物"
    assert type_label("cnhw:HW08", "en") == "Waste mineral oil and oil-containing waste"
    assert type_label("energy:steam:lp", "zh") == "低压蒸汽"
    # every built-in type of types.csv and every EWC chapter has a Chinese label
    assert all(t in zh for t in tax.table.index if not t.startswith(("ewc:", "cn")) or
               re.fullmatch(r"ewc:\d{2}", t))
    assert all(t in tax for t in zh)
    # no Chinese label: the English one
    assert type_label("ewc:010101", "zh") == type_label("ewc:010101", "en") != ""
    assert type_label("no-such-type", "zh") == ""
    with pytest.raises(LanguageError):
        type_label("ewc:100105", "fr")


def test_describe_shows_labels_in_the_language_asked(tmp_path: Path, mini_dir: Path):
    from flowmatch import read_inventory
    from flowmatch.inputs.describe import describe, describe_text

    for f in mini_dir.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    res = pd.read_csv(tmp_path / "resources.csv", dtype=str, keep_default_na=False)
    res["type"] = res["type"].replace({"ewc:100105": "cnsw:SW06"})
    res.to_csv(tmp_path / "resources.csv", index=False)
    inv = read_inventory(tmp_path)
    top = describe(inv)["top_have_types"]
    assert sum(t["count"] for t in top) == len(inv.haves)  # the mini park has fewer than 8 have types
    assert np.isclose(sum(t["quantity"] for t in top), inv.haves["quantity"].sum())
    assert "脱硫石膏" in describe_text(inv, lang="zh")
    assert "FGD gypsum" in describe_text(inv) and "脱硫石膏" not in describe_text(inv)


def test_a_want_of_a_category_takes_every_code_of_it(hw, tax):
    """A facility licensed for HW08 (a want of cnhw:HW08) takes 900-214-08 at score 1; a code of
    another category is at most related through the EWC tree."""
    from flowmatch.inputs.cncodes import cn_category_exchanges
    from flowmatch.inputs.knowledge import merge_exchanges

    kb = merge_exchanges(None)
    rows = cn_category_exchanges()
    assert len(rows) == (hw["industry"] != "").sum()
    assert (rows["want_type"].str[-2:] == rows["have_type"].str[-2:]).all()
    m = type_score_matrix(["cnhw:900-214-08", "cnhw:900-041-49", "ewc:130205"], ["cnhw:HW08", "cnhw:HW49"],
                          tax, kb, Params())
    assert m[0, 0] == 1.0 and m[1, 1] == 1.0
    assert m[1, 0] < 0.5 and m[0, 1] < 0.5
    assert m[2, 0] < 1.0  # an EWC code is not a code of the list


def test_report_labels_in_chinese(tmp_path: Path, mini_dir: Path):
    import json

    from flowmatch import optimise, read_inventory
    from flowmatch.plans.folder import write_plan
    from flowmatch.report.page import write_report

    inv_dir = tmp_path / "inv"
    inv_dir.mkdir()
    for f in mini_dir.iterdir():
        (inv_dir / f.name).write_bytes(f.read_bytes())
    res = pd.read_csv(inv_dir / "resources.csv", dtype=str, keep_default_na=False)
    res["type"] = res["type"].replace({"ewc:100105": "cnsw:SW06"})
    res.to_csv(inv_dir / "resources.csv", index=False)
    out = tmp_path / "plan"
    inv = read_inventory(inv_dir)
    write_plan(optimise(inv), out, inventory=inv)
    zh = write_report(out, lang="zh").read_text(encoding="utf-8")
    en = write_report(out).read_text(encoding="utf-8")
    label = json.dumps("脱硫石膏 (cnsw:SW06)")[1:-1]  # as the Sankey's figure JSON writes it
    assert label in zh and label not in en
    assert json.dumps("FGD gypsum (cnsw:SW06)")[1:-1] in en
