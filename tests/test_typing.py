"""The package type-checks: ``python -m mypy`` (configured in pyproject.toml) passes."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None,
                    reason="mypy is not installed (pip install -e '.[test]' installs it)")
def test_mypy_passes():
    # No arguments: files and options come from [tool.mypy] in pyproject.toml.
    # mypy's cache (.mypy_cache/ in the repository) makes reruns take about a second.
    proc = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, f"python -m mypy failed:\n{proc.stdout}{proc.stderr}"
