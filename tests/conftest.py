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
def data_dir() -> Path:
    """``tests/data``: the published cases of record (``wang_smith_1994``,
    ``kemp_4stream``, ``smith_4stream``, ``p_n16_k8``). Read-only."""
    return ROOT / "tests" / "data"
