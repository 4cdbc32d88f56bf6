"""The README's registry walkthrough runs as written, on SQLite and PostgreSQL, and names every action."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest
from registry_helpers import cli, db_url, pg_server  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _walkthrough() -> list[list[str]]:
    section = README.split("## The registry", 1)[1].split("\n## ", 1)[0]
    lines = [ln.strip() for ln in section.splitlines() if re.match(r"^    flowmatch ", ln)]
    return [shlex.split(ln, comments=True)[1:] for ln in lines]


def test_every_registry_action_is_in_the_readme() -> None:
    from flowmatch.cli import build_parser

    top = next(a for a in build_parser()._actions if a.dest == "command")
    group = top.choices["registry"]
    actions = next(a for a in group._actions if a.dest == "registry_command").choices
    missing = [a for a in actions if a != "upgrade" and f"flowmatch registry {a}" not in README]
    assert not missing, f"show these in the README's registry walkthrough: {missing}"
    assert "flowmatch registry upgrade" in README


def test_readme_walkthrough_runs(db_url: str, tmp_path: Path, datasets_dir: Path,  # noqa: F811
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from flowmatch.cli import main

    steps = _walkthrough()
    assert [s[1] for s in steps if s[0] == "registry"][:3] == ["init", "import", "export"]
    (tmp_path / "datasets").symlink_to(datasets_dir)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FLOWMATCH_DB", db_url)
    for argv in steps:
        if argv[0] == "registry":
            code, out, err = cli(*argv[1:])
            assert code == 0, f"{argv}: {err}"
        else:
            assert main(argv) == 0, argv
    code, out, _ = cli("synergies", "--format", "csv")
    states = sorted(line.split(",")[2] for line in out.splitlines()[1:])
    assert states == ["abandoned", "completed"]
    assert os.path.isdir(tmp_path / "plan")


def test_readme_says_an_identical_import_is_refused() -> None:
    # "again: version 2" read as if importing the same inventory again made version 2; it is refused
    section = README.split("## The registry", 1)[1].split("\n## ", 1)[0]
    line = next(ln for ln in section.splitlines() if "flowmatch registry import" in ln)
    assert "changed" in line.split("#", 1)[1].split("version 2")[0]


def test_registry_doc_names_every_table_and_the_head_revision() -> None:
    # it named head 0002 after 0101 landed (a migration written from it would fork the history),
    # and its schema table lacked learned_exchanges
    from flowmatch.registry.db import head_revision
    from flowmatch.registry.models import Base

    doc = (ROOT / "docs" / "registry.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `(\w+)` \|", doc, flags=re.M))
    assert set(Base.metadata.tables) <= listed, set(Base.metadata.tables) - listed
    named = re.search(r"`down_revision` is the current\s+head \(`(\w+)`", doc)
    assert named is not None and named.group(1) == head_revision()

