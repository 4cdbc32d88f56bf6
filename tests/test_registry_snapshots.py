"""Registry snapshots on SQLite and PostgreSQL: import, versioned re-import, export that optimise reads."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from registry_helpers import cli, db_url, pg_server  # noqa: F401


@pytest.fixture
def reg_db(db_url: str) -> str:  # noqa: F811
    code, out, err = cli("init", db=db_url)
    assert code == 0, err
    assert "created the registry" in out
    return db_url


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_import_export_round_trip_is_faithful(reg_db: str, datasets_dir: Path, tmp_path: Path) -> None:
    src = datasets_dir / "caofeidian"
    code, out, err = cli("import", str(src), "--park", "Caofeidian", "--year", "2024", db=reg_db)
    assert code == 0, err
    assert "stored version 1" in out and "30 resources" in out
    code, out, err = cli("export", "Caofeidian", "-o", str(tmp_path / "inv"), db=reg_db)
    assert code == 0, err
    for name in ("sites.csv", "resources.csv", "properties.csv", "distances.csv", "params.toml"):
        assert (tmp_path / "inv" / name).read_bytes() == (src / name).read_bytes(), name
    from flowmatch import read_inventory

    inv = read_inventory(tmp_path / "inv")
    orig = read_inventory(src)
    pd.testing.assert_frame_equal(inv.resources, orig.resources)
    assert inv.params == orig.params


def test_reimport_makes_a_new_version_and_says_what_changed(reg_db: str, mini_dir: Path, tmp_path: Path) -> None:
    v2 = _copy(mini_dir, tmp_path / "v2")
    res = pd.read_csv(v2 / "resources.csv", dtype=str, keep_default_na=False)
    res.loc[res["resource_id"] == "H1", "quantity"] = "90000"
    res.loc[res["resource_id"] == "W2", "cost"] = "210"
    res = res[res["resource_id"] != "H2"]
    extra = res[res["resource_id"] == "W1"].assign(resource_id="W9", quantity="5000")
    pd.concat([res, extra]).to_csv(v2 / "resources.csv", index=False)
    assert cli("import", str(mini_dir), "--park", "Demo", "--year", "2024", db=reg_db)[0] == 0
    code, out, err = cli("import", str(v2), "--park", "Demo", "--year", "2024", db=reg_db)
    assert code == 0, err
    assert "stored version 2" in out
    assert "1 added, 1 removed, 1 quantities changed, 1 otherwise changed" in out
    assert "+ W9" in out and "- H2" in out and "H1: quantity 120000 -> 90000" in out and "W2: other" in out
    # another year starts at version 1; both versions of 2024 are kept and exported on request
    code, out, _ = cli("import", str(v2), "--park", "Demo", "--year", "2025", db=reg_db)
    assert code == 0 and "2025: stored version 1" in out
    assert cli("export", "Demo", "--year", "2024", "--version", "1", "-o", str(tmp_path / "e1"), db=reg_db)[0] == 0
    assert (tmp_path / "e1" / "resources.csv").read_bytes() == (mini_dir / "resources.csv").read_bytes()
    code, out, _ = cli("export", "Demo", "-o", str(tmp_path / "e2"), db=reg_db)
    assert code == 0 and "2025 version 1" in out
    assert "W9" in (tmp_path / "e2" / "resources.csv").read_text()


def test_duplicate_import_is_refused_and_nothing_stored(reg_db: str, mini_dir: Path) -> None:
    assert cli("import", str(mini_dir), "--park", "Demo", "--year", "2024", db=reg_db)[0] == 0
    code, out, err = cli("import", str(mini_dir), "--park", "Demo", "--year", "2024", db=reg_db)
    assert code == 2
    assert "identical to park 'Demo' 2024 version 1" in err and "nothing was stored" in err
    assert "Traceback" not in err
    from sqlalchemy import func, select

    from flowmatch.registry import open_registry
    from flowmatch.registry.models import Snapshot

    assert open_registry(reg_db).read(lambda s: s.scalar(select(func.count()).select_from(Snapshot))) == 1


def test_invalid_inventory_is_refused_with_its_problems(reg_db: str, mini_dir: Path, tmp_path: Path) -> None:
    bad = _copy(mini_dir, tmp_path / "bad")
    text = (bad / "resources.csv").read_text().replace("120000", "lots")
    (bad / "resources.csv").write_text(text)
    code, _, err = cli("import", str(bad), "--park", "Demo", "--year", "2024", db=reg_db)
    assert code == 2
    assert "resources.csv" in err and "'quantity'" in err
    code, _, err = cli("export", "Demo", "-o", str(tmp_path / "x"), db=reg_db)
    assert code == 2 and "no park named 'Demo'" in err  # the failed import made no park either
    assert not (tmp_path / "x").exists()


def test_export_of_unknown_snapshot_names_what_there_is(reg_db: str, mini_dir: Path, tmp_path: Path) -> None:
    assert cli("import", str(mini_dir), "--park", "Demo", "--year", "2024", db=reg_db)[0] == 0
    code, _, err = cli("export", "Demo", "--year", "2019", "-o", str(tmp_path / "x"), db=reg_db)
    assert code == 2
    assert "no snapshot year 2019" in err and "(snapshots: 2024 (version 1))" in err
    assert not (tmp_path / "x").exists()
    changed = _copy(mini_dir, tmp_path / "changed")
    (changed / "resources.csv").write_text((changed / "resources.csv").read_text().replace("120000", "120001"))
    assert cli("import", str(changed), "--park", "Demo", "--year", "2024", db=reg_db)[0] == 0
    code, _, err = cli("export", "Demo", "--version", "3", "-o", str(tmp_path / "x"), db=reg_db)
    assert code == 2 and "(snapshots: 2024 (versions 1-2))" in err


def test_a_long_list_of_changes_is_cut_short() -> None:
    from flowmatch.registry.snapshots import SHOWN, ImportResult

    r = ImportResult("P", 2024, 2, 7, 1, 100, added=[f"R{i:03d}" for i in range(SHOWN + 5)])
    lines = r.text().splitlines()
    assert f"{SHOWN + 5} added" in lines[1]
    assert lines[2] == "  + R000" and lines[-1] == "    ... and 5 more" and len(lines) == SHOWN + 3


def test_workbook_import_exports_a_folder_with_its_params(reg_db: str, mini_dir: Path, tmp_path: Path) -> None:
    book = tmp_path / "inv.xlsx"
    with pd.ExcelWriter(book) as w:
        for name in ("sites", "resources"):
            pd.read_csv(mini_dir / f"{name}.csv", dtype=str).to_excel(w, sheet_name=name, index=False)
        pd.DataFrame({"key": ["landfill_price"], "value": ["55"]}).to_excel(w, sheet_name="params", index=False)
    code, _, err = cli("import", str(book), "--park", "Book", "--year", "2024", db=reg_db)
    assert code == 0, err
    assert cli("export", "Book", "-o", str(tmp_path / "out"), db=reg_db)[0] == 0
    from flowmatch import read_inventory

    back, orig = read_inventory(tmp_path / "out"), read_inventory(book)
    assert back.params == orig.params and back.params.landfill_price == 55
    pd.testing.assert_frame_equal(back.resources, orig.resources)


def test_propose_needs_a_plan_folder(reg_db: str, tmp_path: Path) -> None:
    (tmp_path / "notaplan").mkdir()
    code, _, err = cli("propose", str(tmp_path / "notaplan"), db=reg_db)
    assert code == 2 and "notaplan" in err and "Traceback" not in err


def test_propose_of_an_inventory_folder_says_optimise_it_first(reg_db: str, mini_dir: Path,
                                                                tmp_path: Path) -> None:
    # an exported inventory has sites.csv and resources.csv, as a plan has; the plan folder's reader
    # called it an incomplete plan and said to write a plan *into* it (`flowmatch optimise INVENTORY -o inv`)
    assert cli("import", str(mini_dir), "--park", "Demo", "--year", "2024", db=reg_db)[0] == 0
    assert cli("export", "Demo", "-o", str(tmp_path / "inv"), db=reg_db)[0] == 0
    code, _, err = cli("propose", str(tmp_path / "inv"), db=reg_db)
    assert code == 2 and "is an inventory folder, not a plan" in err
    assert f"flowmatch optimise {tmp_path / 'inv'} -o PLAN_DIR" in err and "-o " + str(tmp_path / "inv") not in err


def test_export_never_replaces_a_folder_it_did_not_write(reg_db: str, mini_dir: Path, tmp_path: Path) -> None:
    # `export Demo -o datasets/mini` replaced the user's own inventory: its files are names flowmatch writes
    assert cli("import", str(mini_dir), "--park", "Demo", "--year", "2024", db=reg_db)[0] == 0
    own = _copy(mini_dir, tmp_path / "own")
    (own / "notes.txt").unlink(missing_ok=True)
    before = {p.name: p.read_bytes() for p in own.iterdir()}
    code, _, err = cli("export", "Demo", "-o", str(own), db=reg_db)
    assert code == 2 and "was not written by `flowmatch registry export`" in err and "no manifest.json" in err
    assert {p.name: p.read_bytes() for p in own.iterdir()} == before
    assert cli("export", "Demo", "-o", str(tmp_path / "inv"), db=reg_db)[0] == 0
    assert cli("export", "Demo", "-o", str(tmp_path / "inv"), db=reg_db)[0] == 0  # its own: replaced
    (tmp_path / "empty").mkdir()
    assert cli("export", "Demo", "-o", str(tmp_path / "empty"), db=reg_db)[0] == 0
    plan = tmp_path / "plan"
    plan.mkdir()
    (plan / "manifest.json").write_text('{"format": 1, "kind": "plan", "files": {}}')
    (plan / "sites.csv").write_text("site_id\n")
    code, _, err = cli("export", "Demo", "-o", str(plan), db=reg_db)
    assert code == 2 and "it holds a plan" in err and (plan / "sites.csv").read_text() == "site_id\n"

