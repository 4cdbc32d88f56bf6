"""flowmatch: find and optimise industrial symbiosis.

Read an inventory of what company sites *have* (wastes, by-products, surplus
water and heat) and *want*, score every have against every want, and choose the
synergies, milk rounds and cascades that minimise landfill, cost and CO2.

The package follows the data, one subpackage a stage::

    inputs/    inventory tables -> validated Inventory (readers, units, taxonomy,
               knowledge base, params, scenarios, synthetic inventories)
    matching/  Inventory -> frozen arrays -> kernels -> candidates (and gaps)
    milp/      candidates -> model parts -> one LinearModel -> solver adapters
    plans/     the Plan, its summary and balance, the plan folder on disk
    studies/   what-if scenarios and Pareto fronts (many optimisations)
    report/    the HTML page, its charts and the Excel workbook

The heavy parts (Numba kernels, solvers, plotting) load on first use, so
``import flowmatch`` stays fast.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

from flowmatch.errors import (
    FlowmatchError,
    InputProblem,
    InventoryError,
    ModelError,
    ParamsError,
    PlanFolderError,
    ScenarioError,
    SolverError,
)
from flowmatch.inputs.inventory import Inventory, build_inventory, read_inventory
from flowmatch.inputs.params import Params, load_params
from flowmatch.plans.plan import Plan

try:
    __version__ = version("flowmatch")
except PackageNotFoundError:  # pragma: no cover - run from a source tree that was never installed
    __version__ = "0+unknown"

# public name -> module that defines it, imported on first access (PEP 562)
_LAZY = {
    "describe": "inputs.describe",
    "describe_text": "inputs.describe",
    "synth": "inputs.synth",
    "synth_tables": "inputs.synth",
    "Scenario": "inputs.scenario",
    "load_scenario": "inputs.scenario",
    "apply_scenario": "inputs.scenario",
    "builtin_exchanges": "inputs.knowledge",
    "recruit_sectors": "inputs.knowledge",
    "match": "matching.candidates",
    "write_candidates": "matching.candidates",
    "read_candidates": "matching.candidates",
    "gap_analysis": "matching.gaps",
    "gaps_text": "matching.gaps",
    "optimise": "milp.optimise",
    "solve": "milp.solvers",
    "SolveResult": "milp.solution",
    "water_targets": "milp.targets",
    "heat_targets": "milp.targets",
    "targets_text": "milp.targets",
    "write_plan": "plans.folder",
    "run_whatif": "studies.whatif",
    "write_comparison": "studies.whatif",
    "pareto_front": "studies.pareto",
    "write_pareto": "studies.pareto",
    "write_report": "report.page",
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


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'flowmatch' has no attribute {name!r}")
    value = getattr(import_module(f"flowmatch.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
