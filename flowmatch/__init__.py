"""flowmatch: find and optimise industrial symbiosis.

Read an inventory of what company sites *have* (wastes, by-products, surplus
water and heat) and *want*, score every have against every want, and choose the
synergies, milk rounds and cascades that minimise landfill, cost and CO2.
"""

from . import config as _config  # noqa: F401  (sets the Numba cache dir before numba loads)
from .errors import FlowmatchError, InputProblem, InventoryError, ModelError, ParamsError, SolverError
from .inventory import Inventory, build_inventory, read_inventory
from .params import Params, load_params

__version__ = "0.1.0"

__all__ = [
    "Inventory",
    "read_inventory",
    "build_inventory",
    "Params",
    "load_params",
    "FlowmatchError",
    "InventoryError",
    "InputProblem",
    "ParamsError",
    "ModelError",
    "SolverError",
    "__version__",
]
