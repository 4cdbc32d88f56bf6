"""flowmatch: find and optimise industrial symbiosis.

Read an inventory of what company sites *have* (wastes, by-products, surplus
water and heat) and *want*, score every have against every want, and choose the
synergies, milk rounds and cascades that minimise landfill, cost and CO2.

The heavy parts (Numba kernels, solvers, plotting) load on first use, so
``import flowmatch`` stays fast.
"""

from importlib import import_module

from . import config as _config  # noqa: F401  (sets the Numba cache dir before numba loads)
from .errors import (
    FlowmatchError,
    InputProblem,
    InventoryError,
    ModelError,
    ParamsError,
    PlanFolderError,
    ScenarioError,
    SolverError,
)
from .inventory import Inventory, build_inventory, read_inventory
from .params import Params, load_params
from .plan import Plan

__version__ = "0.1.0"

# public name -> module that defines it, imported on first access (PEP 562)
_LAZY = {
    "describe": "describe",
    "describe_text": "describe",
    "synth": "synth",
    "synth_tables": "synth",
    "match": "matching",
    "optimise": "optimise",
    "write_plan": "writers",
    "write_candidates": "writers",
    "solve": "solvers",
    "SolveResult": "solvers",
    "Scenario": "scenario",
    "load_scenario": "scenario",
    "apply_scenario": "scenario",
    "run_whatif": "whatif",
    "write_comparison": "whatif",
    "pareto_front": "pareto",
    "write_pareto": "pareto",
    "water_targets": "targets",
    "heat_targets": "targets",
    "targets_text": "targets",
    "write_report": "report",
    "gap_analysis": "gaps",
    "gaps_text": "gaps",
    "builtin_exchanges": "knowledge",
    "recruit_sectors": "knowledge",
}

__all__ = [
    "Inventory",
    "read_inventory",
    "build_inventory",
    "Params",
    "load_params",
    "Plan",
    "FlowmatchError",
    "InventoryError",
    "InputProblem",
    "ParamsError",
    "ModelError",
    "PlanFolderError",
    "ScenarioError",
    "SolverError",
    *_LAZY,
    "__version__",
]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'flowmatch' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
