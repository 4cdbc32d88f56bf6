"""Model parts: the protocol every part follows, and the registry that finds them.

A plan is built from parts: direct synergies of materials, milk rounds, the
water network and the heat network. Each part

- owns the balance of some resources (:meth:`ModelPart.resource_ids`; every
  resource is owned by exactly one part), or joins balances another part
  declared on the builder (milk rounds join the material balances);
- adds its variables and rows to one shared
  :class:`~flowmatch.milp.builder.ModelBuilder` (:meth:`ModelPart.add_to`) and
  never calls a solver itself (a pre-check that must solve draws on the run's
  :class:`~flowmatch.milp.options.SolveBudget`);
- says what its groups of rows mean (:attr:`ModelPart.row_meaning`, read when
  explaining an infeasible model);
- writes a feasible start for its variables (:meth:`ModelPart.warm_start`);
- turns its slice of the solution into flow rows
  (:data:`~flowmatch.plans.plan.FLOW_COLUMNS`) and route rows.

A *kind* of part (:class:`PartKind`) says which resources its parts take and
how to build them; :func:`part_kinds` lists the registered kinds, in the order
their parts are added to the model. The built-in kinds are registered in
:mod:`flowmatch.milp.registry`, one line each; :func:`build_parts` hands every
resource to its kind and builds the parts. ``docs/architecture.md`` shows how
to add a kind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from flowmatch.errors import ModelError
from flowmatch.milp.builder import ModelBuilder
from flowmatch.milp.options import SolveBudget

if TYPE_CHECKING:
    from flowmatch.inputs.inventory import Inventory

__all__ = ["ModelPart", "PartKind", "PartContext", "register_part", "part_kinds", "build_parts",
           "row_meanings"]


@runtime_checkable
class ModelPart(Protocol):
    """One part of the MILP (see the module docstring)."""

    name: str

    @property
    def row_meaning(self) -> Mapping[str, str]:
        """Row-name prefix (``have`` for ``have[H1]``) -> what such a row means, in
        words that read before the row's label ("the supply balance of have").

        Read-only here, so that a part may keep it in a plain ``dict`` (a settable
        protocol attribute would have to be exactly a ``Mapping``).
        """
        ...

    def resource_ids(self) -> list[str]:
        """Ids of the resources whose balance this part owns."""
        ...

    def add_to(self, mb: ModelBuilder) -> None:
        """Add variables, rows and metric coefficients (cost, co2 kg, landfill t)."""
        ...

    def warm_start(self, x: np.ndarray) -> None:
        """Write a feasible (greedy) start for this part's variables into ``x``."""
        ...

    def flows(self, x: np.ndarray) -> pd.DataFrame:
        """This part's flows (``FLOW_COLUMNS``), disposal and virgin rows included."""
        ...

    def routes(self, x: np.ndarray) -> pd.DataFrame:
        """This part's routes (``ROUTE_COLUMNS``); empty for parts without routes."""
        ...


@dataclass(frozen=True)
class PartContext:
    """What every part is built from.

    Attributes
    ----------
    inventory : Inventory
    candidates : pandas.DataFrame
        Scored pairs from matching (``have_id``, ``want_id``, ``distance_km`` at least).
    budget : SolveBudget
        The run's clock: a part that solves or searches while it is built
        (a pre-check, route generation) takes its time from here.
    """

    inventory: Inventory
    candidates: pd.DataFrame
    budget: SolveBudget


@dataclass(frozen=True)
class PartKind:
    """A kind of model part, as the registry knows it.

    Attributes
    ----------
    name : str
    build : callable
        ``build(context, resource_ids) -> list of ModelPart``: the parts of this
        kind owning ``resource_ids`` (no parts when there is nothing to do).
    takes : callable, optional
        ``takes(inventory) -> resource ids`` this kind owns. Kinds that take
        resources must not overlap. ``None`` for the one *default* kind
        (``default=True``), which owns every resource no other kind takes, and
        for kinds that own none (``joins=True``).
    default : bool
        Owns what no other kind takes (direct synergies).
    joins : bool
        Owns no balance; joins the balance rows other parts declared on the
        builder (:meth:`ModelBuilder.declare_balances`), so it is built with
        every resource and added after the parts that declare them.
    """

    name: str
    # Sequence, not list: a kind's build returns a list of its own part class
    # (list is invariant, Sequence is covariant)
    build: Callable[[PartContext, list[str]], Sequence[ModelPart]]
    takes: Callable[[Inventory], Iterable[str]] | None = None
    default: bool = False
    joins: bool = False

    def __post_init__(self) -> None:
        if sum((self.takes is not None, self.default, self.joins)) != 1:
            raise ValueError(f"part kind {self.name}: give exactly one of takes, default=True or joins=True")


_KINDS: list[PartKind] = []


def register_part(kind: PartKind) -> PartKind:
    """Add ``kind`` to the registry (after the kinds already there); returns it.

    Parts are added to the model in registration order, so a kind that joins
    balances registers after the kind that declares them.
    """
    if any(k.name == kind.name for k in _KINDS):
        raise ValueError(f"a part kind named {kind.name!r} is registered already")
    if kind.default and any(k.default for k in _KINDS):
        raise ValueError("only one part kind can own the resources no other kind takes")
    _KINDS.append(kind)
    return kind


def part_kinds() -> list[PartKind]:
    """The registered part kinds, in the order their parts join the model."""
    import flowmatch.milp.registry  # noqa: F401  (registers the built-in kinds once)

    return list(_KINDS)


def build_parts(inventory: Inventory, candidates: pd.DataFrame,
                budget: SolveBudget | None = None) -> list[ModelPart]:
    """Hand every resource to its kind and build every kind's parts, in registry order.

    ``budget`` is the run's clock (default: a fresh one of the default time limit).

    Raises
    ------
    ModelError
        Two kinds take the same resource, or a part owns resources it was not
        given (a bug in a part kind).
    """
    kinds = part_kinds()
    all_ids = inventory.resources["resource_id"].astype(str).tolist()
    owner: dict[str, str] = {}
    given: dict[str, list[str]] = {}
    for kind in kinds:
        if kind.takes is None:
            continue
        ids = [str(r) for r in kind.takes(inventory)]
        for rid in ids:
            if rid in owner:
                raise ModelError(f"resource {rid} is taken by both the {owner[rid]} and the {kind.name} "
                                 "part kinds (a bug in a part kind).")
            owner[rid] = kind.name
        given[kind.name] = ids
    for kind in kinds:
        if kind.default:
            given[kind.name] = [r for r in all_ids if r not in owner]
            owner.update(dict.fromkeys(given[kind.name], kind.name))
    if budget is None:
        from flowmatch.milp.options import SolveOptions

        budget = SolveOptions().start()
    ctx = PartContext(inventory, candidates, budget)
    parts: list[ModelPart] = []
    for kind in kinds:
        parts.extend(kind.build(ctx, all_ids if kind.joins else given.get(kind.name, [])))
    _check_ownership(parts, all_ids)
    return parts


def _check_ownership(parts: list[ModelPart], all_ids: list[str]) -> None:
    owner: dict[str, str] = {}
    for part in parts:
        for rid in part.resource_ids():
            if rid in owner:
                raise ModelError(f"resource {rid} is claimed by both the {owner[rid]} and the "
                                 f"{part.name} part (a bug in a part kind).")
            owner[rid] = part.name
    missing = sorted(set(all_ids) - set(owner))
    if missing:
        raise ModelError(f"{len(missing)} resources belong to no model part (a bug in a part kind): "
                         f"{', '.join(missing[:10])}")


def row_meanings(parts: Iterable[ModelPart]) -> dict[str, str]:
    """Every part's :attr:`~ModelPart.row_meaning`, merged."""
    out: dict[str, str] = {}
    for part in parts:
        out.update(getattr(part, "row_meaning", {}))
    return out
