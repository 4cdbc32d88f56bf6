"""Fixtures shared by the test modules.

The helper modules beside this file (``inventory_cases``, ``optimise_cases``,
``cascade_helpers``, ``plan_fixture``, ``whatif_cases``) are imported as
top-level modules: ``pythonpath = ["tests"]`` in ``[tool.pytest.ini_options]``
of pyproject.toml puts this folder on ``sys.path``, for ``pytest benchmarks``
too. No test module edits ``sys.path`` itself.

flowmatch is imported inside the fixtures, not here, so that a test session
starts (and a module it cannot import fails alone) whatever the package layout.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


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
