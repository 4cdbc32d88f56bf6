"""The README documents what users need: every parameter, every CLI command."""

from pathlib import Path

from flowmatch.cli import build_parser
from flowmatch.inputs.params import PARAM_DOCS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_parameter_is_in_the_readme_table():
    missing = [k for k in PARAM_DOCS if f"| `{k}` |" not in README]
    assert not missing, f"add these parameters to the README's table: {missing}"


def test_every_cli_command_is_in_the_readme():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    missing = [c for c in sub.choices if c != "optimize" and f"flowmatch {c}" not in README]
    assert not missing, f"document these commands in the README: {missing}"
