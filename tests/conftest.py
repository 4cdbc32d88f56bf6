"""Fixtures shared by the test modules.

The helper modules beside this file (``inventory_cases``, ``optimise_cases``,
``cascade_helpers``, ``plan_fixture``, ``whatif_cases``) are imported as
top-level modules: ``pythonpath = ["tests"]`` in ``[tool.pytest.ini_options]``
of pyproject.toml puts this folder on ``sys.path``, for ``pytest benchmarks``
too. No test module edits ``sys.path`` itself.

flowmatch and the helpers are imported inside the fixtures, not at the top: a
module that moves or breaks then fails the tests that use it, not the whole session.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]

# Property-based tests draw the same examples on every run, so a suite that passed
# here passes in CI; FLOWMATCH_FUZZ_RANDOM=1 explores new examples (and keeps the
# failures it finds in .hypothesis/ to replay).
settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore")
settings.load_profile("explore" if os.environ.get("FLOWMATCH_FUZZ_RANDOM") else "repeatable")


# --------------------------------------------------------------------------- paths (read-only)


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    """``datasets/`` at the repository root: the bundled parks (``mini``, ``guigang``,
    ``caofeidian``, ``power_cement_brewery``) and the example ``scenarios``.

    Read-only: a test that changes a dataset copies it to ``tmp_path`` first.
    """
    return ROOT / "datasets"


@pytest.fixture(scope="session")
def mini_dir(datasets_dir: Path) -> Path:
    """``datasets/mini``: a power plant's FGD gypsum (H1) and fly ash (H2) for a
    plasterboard maker (W1) and a cement works (W2). Read-only."""
    return datasets_dir / "mini"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """``tests/data``: the published cases of record (``wang_smith_1994``,
    ``kemp_4stream``, ``smith_4stream``, ``p_n16_k8``). Read-only."""
    return ROOT / "tests" / "data"


# --------------------------------------------------------------------------- inventories


@pytest.fixture(scope="module")
def mini(mini_dir: Path):
    """The ``datasets/mini`` inventory, read once per test module.

    Treat it as read-only (its tables are mutable DataFrames): derive changed
    inventories with ``with_params`` or ``apply_scenario``, which copy.
    """
    from flowmatch.inputs.inventory import read_inventory

    return read_inventory(mini_dir)


@pytest.fixture(scope="module")
def trade_off():
    """The trade-off park of ``whatif_cases`` (cheapest plan: 2 synergies, greenest: 4)
    with its default parameters, built once per test module. Treat it as read-only."""
    from whatif_cases import trade_off_park

    return trade_off_park()


@pytest.fixture
def trade_off_dir(tmp_path: Path) -> Path:
    """The trade-off park written as an inventory folder for the CLI: its CSV tables and
    a ``params.toml`` setting ``carbon_price = 0``, at ``tmp_path / "park"``."""
    from whatif_cases import trade_off_tables

    inv_dir = tmp_path / "park"
    inv_dir.mkdir()
    for name, df in trade_off_tables().items():
        df.to_csv(inv_dir / f"{name}.csv", index=False)
    (inv_dir / "params.toml").write_text("carbon_price = 0\n", encoding="utf-8")
    return inv_dir


# --------------------------------------------------------------------------- plan folders


@pytest.fixture(scope="session")
def plan_folder(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Factory of plan folders written by hand: ``plan_folder(name, report=False, **kw)``.

    Writes ``plan_fixture.make_plan_folder(**kw)`` (sizes, ``seed``, ``hostile``,
    ``fmt``) into a fresh temporary folder ``<name>N/plan`` and returns its path;
    ``report=True`` also writes ``report.html`` and ``plan.xlsx`` into it. Each call
    makes a new folder: the fixture that calls it decides how widely it is shared.
    """
    from plan_fixture import make_plan_folder

    def make(name: str = "plan", *, report: bool = False, **kw) -> Path:
        folder = make_plan_folder(tmp_path_factory.mktemp(name) / "plan", **kw)
        if report:
            from flowmatch.report.page import write_report

            write_report(folder)
        return folder

    return make


@pytest.fixture(scope="session")
def client():
    """One LocalCluster of 2 worker processes, shared by the cluster tests (started on first use)."""
    from flowmatch.cluster.scheduler import connect

    with connect("local:2", memory_limit="1GiB", announce=None) as c:
        yield c
