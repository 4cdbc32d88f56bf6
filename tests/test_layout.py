"""The house: subpackages per stage, no flat leftovers, no hidden effects on import."""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import flowmatch

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("inputs", "matching", "milp", "plans", "studies", "report")
#: The flat modules of the first release, now in their stage's subpackage.
OLD_FLAT = ("inventory", "schema", "units", "taxonomy", "knowledge", "params", "scenario", "synth",
            "describe", "frozen", "matching", "gaps", "sitepairs", "model", "parts", "costs",
            "synergies", "milkrounds", "routing", "water_cascade", "heat_cascade", "solvers",
            "optimise", "targets", "whatif", "pareto", "plan", "summary", "plan_folder", "writers",
            "report", "figures", "excel", "config")
MAX_LINES = 600


def test_every_stage_is_a_subpackage_with_a_docstring():
    for stage in STAGES:
        mod = importlib.import_module(f"flowmatch.{stage}")
        assert mod.__doc__ and len(mod.__doc__.strip()) > 40, f"flowmatch.{stage} says what lives there"


@pytest.mark.parametrize("name", OLD_FLAT)
def test_old_flat_modules_are_gone(name):
    spec = importlib.util.find_spec(f"flowmatch.{name}")
    # a stage subpackage may now carry the name (matching, report); a flat module may not
    assert spec is None or spec.submodule_search_locations is not None, f"flowmatch/{name}.py is back"


def test_no_module_is_over_the_limit():
    files = [*ROOT.joinpath("flowmatch").rglob("*.py"), *ROOT.joinpath("kernels").glob("*.py")]
    long = {str(f.relative_to(ROOT)): n for f in files
            if (n := len(f.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"split these along their seams: {long}"


def test_public_api_resolves():
    for name in flowmatch.__all__:
        assert getattr(flowmatch, name) is not None, name
    assert flowmatch.__version__ == importlib.metadata.version("flowmatch")


def test_import_has_no_hidden_effects():
    """Importing flowmatch (and reading a plan folder's columns) touches no environment
    variable, never sets the umask, and loads no Numba."""
    code = r"""
import os, sys
before = dict(os.environ)
def no_umask(*a):
    raise AssertionError("os.umask called on import")
os.umask = no_umask
import flowmatch, flowmatch.plans.folder, flowmatch.matching.candidates, flowmatch.report
assert dict(os.environ) == before, set(os.environ.items()) ^ set(before.items())
assert "numba" not in sys.modules, "numba loaded on import"
print("ok")
"""
    env = {k: v for k, v in __import__("os").environ.items() if k != "NUMBA_CACHE_DIR"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_kernels_cache_where_the_user_says(tmp_path):
    """The kernels' cache folder: the user's NUMBA_CACHE_DIR, else a per-user folder, set
    on Numba's config when the kernels load, not in the environment."""
    code = r"""
import os, numba
import flowmatch.kernels.search
print(numba.config.CACHE_DIR)
print(os.environ.get("NUMBA_CACHE_DIR", "-"))
"""
    base = {k: v for k, v in __import__("os").environ.items() if k != "NUMBA_CACHE_DIR"}
    mine = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**base, "XDG_CACHE_HOME": str(tmp_path)})
    assert mine.returncode == 0, mine.stderr
    assert mine.stdout.split() == [str(tmp_path / "flowmatch" / "numba"), "-"]
    theirs = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                            env={**base, "NUMBA_CACHE_DIR": str(tmp_path / "own")})
    assert theirs.stdout.split() == [str(tmp_path / "own"), str(tmp_path / "own")]


def test_every_subpackage_is_installed():
    """pyproject lists the packages by hand (kernels/ is mapped to flowmatch.kernels), so a
    new subpackage missing from the list would be left out of a wheel."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in ROOT.joinpath("flowmatch").rglob("__init__.py")}
    found.add("flowmatch.kernels")
    assert found == listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}; " \
                            f"not packages: {sorted(listed - found)}"
