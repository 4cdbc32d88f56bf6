"""Outputs that cannot be written end in a clear message and exit 2, never a traceback.

Read-only folders are simulated in-process (``os.mkdir`` / ``os.open`` /
``mkstemp`` raising ``PermissionError`` under a folder), which works for root
too, where ``chmod`` does not stop a write; a real ``chmod`` case runs when
not root.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from flowmatch.cli import main
from flowmatch.plans.manifest import MANIFEST, read_verified


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _beside(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")
                  and not p.name.endswith(".lock"))


@pytest.fixture(scope="module")
def plan(tmp_path_factory, mini_dir) -> Path:
    out = tmp_path_factory.mktemp("outputs") / "plan"
    assert main(["optimise", str(mini_dir), "-o", str(out)]) == 0
    return out


def _read_only(monkeypatch, folder: Path) -> None:
    """Make creating anything under ``folder`` fail as a read-only folder does, even for root."""
    root = str(folder)

    def under(path) -> bool:
        return os.path.abspath(os.fspath(path)).startswith(root + os.sep)

    def deny(path):
        raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))

    real_mkdir, real_open, real_mkstemp = os.mkdir, os.open, tempfile.mkstemp

    def mkdir(path, *a, **k):
        if under(path):
            deny(path)
        return real_mkdir(path, *a, **k)

    def open_(path, flags, *a, **k):
        if under(path) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            deny(path)
        return real_open(path, flags, *a, **k)

    def mkstemp(*a, dir=None, **k):
        if dir is not None and (under(dir) or os.path.abspath(dir) == root):
            deny(dir)
        return real_mkstemp(*a, dir=dir, **k)

    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(os, "open", open_)
    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)


def _cmd(name: str, inventory: Path, out: Path) -> list[str]:
    return {
        "optimise": ["optimise", str(inventory), "-o", str(out)],
        "match": ["match", str(inventory), "-o", str(out), "-q", "--threads", "1"],
        "whatif": ["whatif", str(inventory), "--vary", "carbon_price=0,100", "--jobs", "1", "-o", str(out)],
        "pareto": ["pareto", str(inventory), "--points", "2", "-o", str(out)],
        "report": ["report", str(out)],
    }[name]


@pytest.mark.parametrize("command", ["optimise", "match", "whatif", "pareto", "report"])
def test_read_only_output_folder(plan, mini_dir, tmp_path, monkeypatch, capsys, command):
    ro = tmp_path / "ro"
    out = ro / "plan"
    shutil.copytree(plan, out)
    before = _digest(out)
    _read_only(monkeypatch, ro)
    assert main(_cmd(command, mini_dir, out)) == 2
    err = capsys.readouterr().err
    assert "Permission denied" in err and str(ro) in err and "Traceback" not in err
    monkeypatch.undo()
    assert _digest(out) == before and _beside(out) == []


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root writes into read-only folders; the in-process case above covers it")
def test_really_read_only_folder(plan, mini_dir, tmp_path, capsys):
    ro = tmp_path / "ro"
    out = ro / "plan"
    shutil.copytree(plan, out)
    ro.chmod(0o555)
    try:
        for command in ("optimise", "report"):
            assert main(_cmd(command, mini_dir, out)) == 2
            err = capsys.readouterr().err
            assert "Permission denied" in err and "Traceback" not in err
    finally:
        ro.chmod(0o755)
    read_verified(out)


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")
@pytest.mark.parametrize("command", ["optimise", "match", "whatif", "pareto"])
def test_a_folder_no_one_can_write_even_root(mini_dir, capsys, command):
    out = Path("/proc/flowmatch-test-output")  # /proc refuses new files, whoever asks
    assert main(_cmd(command, mini_dir, out)) == 2
    err = capsys.readouterr().err
    assert "cannot take the lock beside it" in err and "Traceback" not in err
    assert not out.exists()


def test_output_folder_that_is_a_file(mini_dir, tmp_path, capsys):
    f = tmp_path / "plan"
    f.write_text("not a folder")
    assert main(["optimise", str(mini_dir), "-o", str(f)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert main(["optimise", str(mini_dir), "-o", str(f / "sub")]) == 2
    assert f"because {f} is a file" in capsys.readouterr().err
    assert f.read_text() == "not a folder"


def test_output_file_that_is_a_folder(mini_dir, tmp_path, capsys):
    d = tmp_path / "model.lp"
    d.mkdir()
    assert main(["optimise", str(mini_dir), "-o", str(tmp_path / "plan"), "--write-lp", str(d)]) == 2
    err = capsys.readouterr().err
    assert "is a folder, but a file is to be written there" in err and "Traceback" not in err
    assert not (tmp_path / "plan").exists() and list(d.iterdir()) == []


def test_model_file_inside_the_plan_folder_goes_with_it(mini_dir, tmp_path):
    out = tmp_path / "plan"
    for _ in range(2):  # the second run replaces the first's folder, model file included
        assert main(["optimise", str(mini_dir), "-o", str(out), "--write-lp", str(out / "model.lp")]) == 0
        assert "model.lp" in json.loads((out / MANIFEST).read_text())["files"]
        read_verified(out)


@pytest.mark.parametrize("arg", ["", " "])
def test_empty_output_path_is_refused(mini_dir, tmp_path, monkeypatch, capsys, arg):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as e:
        main(["optimise", str(mini_dir), "-o", arg])
    assert e.value.code == 2
    assert "an empty path would write into the current folder" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("arg", [".", "..", "./"])
def test_current_folder_is_refused(mini_dir, tmp_path, monkeypatch, capsys, arg):
    cwd = tmp_path / "work"
    cwd.mkdir()
    (cwd / "notes.txt").write_text("mine")
    monkeypatch.chdir(cwd)
    assert main(["optimise", str(mini_dir), "-o", arg]) == 2
    err = capsys.readouterr().err
    assert ("current folder" in err) and "Traceback" not in err
    assert (cwd / "notes.txt").read_text() == "mine"


def test_a_folder_of_other_files_is_not_replaced(mini_dir, tmp_path, capsys):
    d = tmp_path / "documents"
    d.mkdir()
    (d / "thesis.docx").write_text("years of work")
    assert main(["optimise", str(mini_dir), "-o", str(d)]) == 2
    err = capsys.readouterr().err
    assert "holds files flowmatch did not write (thesis.docx)" in err
    assert (d / "thesis.docx").read_text() == "years of work" and _beside(d) == []


def test_a_folder_from_a_flowmatch_without_manifests(plan, mini_dir, tmp_path, capsys):
    old = tmp_path / "old"
    shutil.copytree(plan, old)
    (old / MANIFEST).unlink()
    (old / ".flows.csv.abc123.tmp").write_text("half")  # what an older flowmatch's killed run left
    assert main(["report", str(old)]) == 2
    err = capsys.readouterr().err
    assert "has no manifest.json" in err and "flowmatch optimise INVENTORY -o" in err
    assert main(["optimise", str(mini_dir), "-o", str(old)]) == 0  # written again: whole, sealed
    read_verified(old)
    assert not (old / ".flows.csv.abc123.tmp").exists()


def test_an_absurd_co2_factor_is_refused_before_anything_is_written(plan, mini_dir, tmp_path, capsys):
    # 1e306 kg per tonne would make the CO2 total inf; validate refuses it first, naming the column
    inv = tmp_path / "inv"
    inv.mkdir()
    shutil.copy(mini_dir / "sites.csv", inv / "sites.csv")
    text = (mini_dir / "resources.csv").read_text()
    row = "H2,PP1,have,material,ewc:100102,300000,t,40,20"
    assert row in text
    (inv / "resources.csv").write_text(text.replace(row, "H2,PP1,have,material,ewc:100102,300000,t,40,1e306"))
    out = tmp_path / "plan"
    shutil.copytree(plan, out)
    before = _digest(out)
    assert main(["optimise", str(inv), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "co2" in err and "Traceback" not in err
    assert _digest(out) == before and _beside(out) == []
    fresh = tmp_path / "fresh"
    assert main(["optimise", str(inv), "-o", str(fresh)]) == 2
    capsys.readouterr()
    assert not fresh.exists() and _beside(fresh) == []


def test_infinite_total_writes_nothing_and_keeps_the_old_plan(plan, mini, tmp_path):
    from flowmatch import optimise
    from flowmatch.errors import ModelError
    from flowmatch.plans.folder import write_plan

    bad = optimise(mini)
    bad.summary["objective"]["cost"] = float("inf")
    out = tmp_path / "plan"
    shutil.copytree(plan, out)
    before = _digest(out)
    with pytest.raises(ModelError, match="is inf.*nothing was written"):
        write_plan(bad, out, mini)
    assert _digest(out) == before and _beside(out) == []
    fresh = tmp_path / "fresh"
    with pytest.raises(ModelError):
        write_plan(bad, fresh, mini)
    assert not fresh.exists() and _beside(fresh) == []


def test_whatif_pareto_and_match_folders_are_sealed(trade_off_dir, mini_dir, tmp_path):
    for command, inventory in (("whatif", trade_off_dir), ("pareto", trade_off_dir), ("match", mini_dir)):
        out = tmp_path / command
        assert main(_cmd(command, inventory, out)) == 0
        m = json.loads((out / MANIFEST).read_text())
        assert m["kind"] == {"whatif": "comparison", "pareto": "pareto", "match": "candidates"}[command]
        on_disk = {str(p.relative_to(out).as_posix()) for p in out.rglob("*") if p.is_file()} - {MANIFEST}
        assert set(m["files"]) == on_disk  # a what-if's runs/NAME/ files too, by path
        read_verified(out)
        assert _beside(out) == []
