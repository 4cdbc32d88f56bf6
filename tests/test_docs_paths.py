"""Every module, function and file the README and docs name exists, so a reader who
follows them lands somewhere real (the docs moved with the layout once; this keeps them)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
DOTTED = re.compile(r"\bflowmatch(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
PATHS = re.compile(r"`((?:flowmatch|kernels|benchmarks|tests|datasets|docs)/[A-Za-z0-9_./-]*)`")


def _resolve(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            if not hasattr(obj, name):
                return False
            obj = getattr(obj, name)
        return True
    return False


def _names(pattern: re.Pattern[str]) -> list[tuple[str, str]]:
    out = []
    for doc in DOCS:
        if doc.exists():
            for m in pattern.finditer(doc.read_text(encoding="utf-8")):
                out.append((doc.name, m.group(1) if pattern.groups else m.group(0)))
    return sorted(set(out))


@pytest.mark.parametrize("doc,name", _names(DOTTED))
def test_named_python_objects_exist(doc, name):
    assert _resolve(name.rstrip(".")), f"{doc} names {name}, which does not exist"


@pytest.mark.parametrize("doc,path", _names(PATHS))
def test_named_files_exist(doc, path):
    assert (ROOT / path.rstrip("/")).exists(), f"{doc} names {path}, which is not in the repository"
