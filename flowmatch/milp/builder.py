"""A MILP as arrays: the builder every model part (synergies, cascades, milk
rounds) adds its variables and rows to, and the frozen model a solver adapter
takes.

Nothing here calls a solver. Each variable carries its coefficient in every
*metric* (:data:`flowmatch.metrics.MODEL_METRICS`: ``cost``, ``co2`` in kg,
``landfill`` in t), so one built model serves every objective and the Pareto
front: the objective is a weighted sum of metrics chosen at solve time, and an
epsilon constraint is one more row over a metric vector.

Parts meet on the builder, never on each other: a part that owns a resource's
balance row ``flows + slack = amount`` declares it
(:meth:`ModelBuilder.declare_balances`), and a part that moves the same
resource another way (milk rounds) adds its entries to that row through
:attr:`ModelBuilder.balances`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from flowmatch.metrics import MODEL_METRICS

__all__ = ["ModelBuilder", "LinearModel", "Balance", "PairFlows", "METRICS"]

#: The model metrics every variable has a coefficient in.
METRICS = MODEL_METRICS


class Balance(NamedTuple):
    """A resource's balance row ``flows + slack = amount`` on a :class:`ModelBuilder`.

    ``slack`` is the variable that takes what no flow does: a have's disposal,
    a want's virgin supply. A part joining the row in its warm start moves
    quantities from ``slack`` onto its own variables.
    """

    row: int
    slack: int
    owner: str


class PairFlows(NamedTuple):
    """Variables that move a have to a want, as a part declared them (:meth:`ModelBuilder.declare_pair_flows`).

    Variable ``cols[k]`` at 1 moves ``per_unit[k]`` base units from ``have_ids[k]``
    to ``want_ids[k]`` a year (1 for a flow, the have's quantity for a route's
    binary). Expert rules (:mod:`flowmatch.milp.rules`)
    bound these sums.
    """

    have_ids: np.ndarray
    want_ids: np.ndarray
    cols: np.ndarray
    per_unit: np.ndarray
    mode: str
    owner: str


@dataclass(frozen=True)
class LinearModel:
    """A frozen MILP: ``min c @ x  s.t.  row_lb <= A @ x <= row_ub, lb <= x <= ub``.

    Attributes
    ----------
    lb, ub : ndarray of float, shape (n,)
    integrality : ndarray of bool, shape (n,)
        ``True`` for integer (binary when bounds are 0/1) variables.
    A : scipy.sparse.csc_matrix, shape (m, n)
    row_lb, row_ub : ndarray of float, shape (m,)
    metrics : dict of str to ndarray, shape (n,)
        Coefficient of each variable in each metric; ``metric_const`` the constant part.
    var_names, row_names : list of str
        For LP/MPS files and for explaining infeasibility.
    prefer : ndarray of float, shape (n,), or None
        A tie-break, in no metric: among plans of the same objective, polish
        (:mod:`flowmatch.milp.polish`) keeps the one with the least ``prefer @ x``
        (water a sink takes only by blending, say, where a plan of the same cost
        gives it water within its limits).
    """

    lb: np.ndarray
    ub: np.ndarray
    integrality: np.ndarray
    A: sp.csc_matrix
    row_lb: np.ndarray
    row_ub: np.ndarray
    metrics: dict[str, np.ndarray]
    metric_const: dict[str, float]
    var_names: list[str]
    row_names: list[str]
    prefer: np.ndarray | None = None

    @property
    def n_vars(self) -> int:
        return len(self.lb)

    @property
    def n_rows(self) -> int:
        return len(self.row_lb)

    def objective(self, weights: dict[str, float]) -> tuple[np.ndarray, float]:
        """Objective vector and constant for metric ``weights`` (e.g. ``{"cost": 1}``)."""
        c = np.zeros(self.n_vars)
        k = 0.0
        for name, w in weights.items():
            if w:
                c += w * self.metrics[name]
                k += w * self.metric_const.get(name, 0.0)
        return c, k

    def metric_values(self, x: np.ndarray) -> dict[str, float]:
        """Each metric's value at solution ``x``."""
        return {m: float(self.metrics[m] @ x + self.metric_const.get(m, 0.0)) for m in self.metrics}

    def with_rows(self, A_extra: sp.spmatrix, lb: np.ndarray, ub: np.ndarray,
                  names: list[str]) -> LinearModel:
        """A copy with extra rows (an epsilon constraint, say)."""
        A = sp.vstack([self.A, sp.csr_matrix(A_extra)], format="csc")
        return LinearModel(self.lb, self.ub, self.integrality, A,
                           np.concatenate([self.row_lb, lb]), np.concatenate([self.row_ub, ub]),
                           self.metrics, self.metric_const, self.var_names,
                           [*self.row_names, *names], self.prefer)


@dataclass
class ModelBuilder:
    """Collects variables and constraint rows as arrays, then freezes them.

    Variables are added in blocks (:meth:`add_vars` returns their indices);
    rows are added as COO triplets (:meth:`add_rows`). Row indices passed to
    :meth:`add_rows` are *local* to that call (0..k-1).
    """

    _lb: list[np.ndarray] = field(default_factory=list)
    _ub: list[np.ndarray] = field(default_factory=list)
    _int: list[np.ndarray] = field(default_factory=list)
    _metrics: dict[str, list[np.ndarray]] = field(default_factory=lambda: {m: [] for m in METRICS})
    _names: list[list[str] | tuple[str, int]] = field(default_factory=list)
    _rows_i: list[np.ndarray] = field(default_factory=list)
    _rows_j: list[np.ndarray] = field(default_factory=list)
    _rows_v: list[np.ndarray] = field(default_factory=list)
    _row_lb: list[np.ndarray] = field(default_factory=list)
    _row_ub: list[np.ndarray] = field(default_factory=list)
    _row_names: list[list[str] | tuple[str, int]] = field(default_factory=list)
    metric_const: dict[str, float] = field(default_factory=lambda: {m: 0.0 for m in METRICS})
    #: Declared balance rows by resource id (:meth:`declare_balances`).
    balances: dict[str, Balance] = field(default_factory=dict)
    #: Variables moving haves to wants, as parts declared them (:meth:`declare_pair_flows`).
    pair_flows: list[PairFlows] = field(default_factory=list)
    n_vars: int = 0
    n_rows: int = 0
    #: Tie-break coefficients by column (:attr:`LinearModel.prefer`), from :meth:`add_prefer`.
    _prefer: dict[int, float] = field(default_factory=dict)

    def add_vars(self, n: int, lb=0.0, ub=np.inf, integer=False, name: str | list[str] = "x",
                 **metrics) -> np.ndarray:
        """Add ``n`` variables; return their indices.

        Parameters
        ----------
        n : int
        lb, ub : float or array
        integer : bool or array of bool
        name : str or list of str
            A prefix (names become ``prefix[i]``) or one name per variable.
        **metrics : float or array
            Coefficients in ``cost``, ``co2`` (kg) and ``landfill`` (t).
        """
        idx = np.arange(self.n_vars, self.n_vars + n)
        self._lb.append(np.broadcast_to(np.asarray(lb, float), (n,)).copy())
        self._ub.append(np.broadcast_to(np.asarray(ub, float), (n,)).copy())
        self._int.append(np.broadcast_to(np.asarray(integer, bool), (n,)).copy())
        for m in METRICS:
            self._metrics[m].append(np.broadcast_to(np.asarray(metrics.pop(m, 0.0), float), (n,)).copy())
        if metrics:
            raise ValueError(f"unknown metrics {sorted(metrics)}; use {METRICS}")
        self._names.append(list(name) if not isinstance(name, str) else (name, n))
        self.n_vars += n
        return idx

    def add_prefer(self, cols: np.ndarray, values) -> None:
        """Add tie-break coefficients (:attr:`LinearModel.prefer`; no metric) to variables ``cols``."""
        vals = np.broadcast_to(np.asarray(values, float), np.shape(cols))
        for j, v in zip(np.asarray(cols, np.int64).tolist(), vals.tolist(), strict=True):
            self._prefer[j] = self._prefer.get(j, 0.0) + v

    def add_rows(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, lb, ub,
                 name: str | list[str] = "r") -> np.ndarray:
        """Add constraint rows ``lb <= sum(vals * x[cols]) <= ub`` grouped by local ``rows``.

        Returns the global indices of the new rows.
        """
        lb = np.atleast_1d(np.asarray(lb, float))
        ub = np.atleast_1d(np.asarray(ub, float))
        k = max(len(lb), len(ub), (int(np.max(rows)) + 1) if len(rows) else 0)
        lb = np.broadcast_to(lb, (k,)).copy()
        ub = np.broadcast_to(ub, (k,)).copy()
        self._rows_i.append(np.asarray(rows, np.int64) + self.n_rows)
        self._rows_j.append(np.asarray(cols, np.int64))
        self._rows_v.append(np.asarray(vals, float))
        self._row_lb.append(lb)
        self._row_ub.append(ub)
        self._row_names.append(list(name) if not isinstance(name, str) else (name, k))
        idx = np.arange(self.n_rows, self.n_rows + k)
        self.n_rows += k
        return idx

    def add_entries(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray) -> None:
        """Add coefficients to rows that already exist (global row indices).

        This is how one model part joins another's balance rows: milk-round
        collections enter the have balances the synergy part created.
        """
        self._rows_i.append(np.asarray(rows, np.int64))
        self._rows_j.append(np.asarray(cols, np.int64))
        self._rows_v.append(np.asarray(vals, float))

    def declare_balances(self, resource_ids, rows: np.ndarray, slacks: np.ndarray, owner: str) -> None:
        """Declare that ``rows`` are the balances of ``resource_ids`` with slack variables ``slacks``.

        Other parts may then add their own flows of those resources to the
        rows (:meth:`add_entries`); each resource has one balance.
        """
        for rid, r, v in zip(resource_ids, np.asarray(rows).tolist(), np.asarray(slacks).tolist(), strict=True):
            rid = str(rid)
            if rid in self.balances:
                raise ValueError(f"the balance of {rid} is declared by {self.balances[rid].owner} already")
            self.balances[rid] = Balance(int(r), int(v), owner)

    def declare_pair_flows(self, have_ids, want_ids, cols, per_unit, mode: str, owner: str) -> None:
        """Declare that variables ``cols`` move ``have_ids`` to ``want_ids`` (see :class:`PairFlows`).

        Every part that moves a have to a want declares its variables, so that
        expert rules reach every mode (direct, milk round, cascade) alike.
        """
        n = len(cols)
        arr = lambda v, dt=float: np.broadcast_to(np.asarray(v, dt), (n,)).copy()  # noqa: E731
        self.pair_flows.append(PairFlows(arr(have_ids, object), arr(want_ids, object), arr(cols, np.int64),
                                         arr(per_unit), mode, owner))

    def add_constant(self, **metrics: float) -> None:
        """Add constant terms to metrics (costs that no decision changes)."""
        for m, v in metrics.items():
            self.metric_const[m] += float(v)

    @staticmethod
    def _expand(parts) -> list[str]:
        out: list[str] = []
        for p in parts:
            if isinstance(p, tuple):
                prefix, n = p
                out.extend(f"{prefix}[{i}]" for i in range(n))
            else:
                out.extend(p)
        return out

    def build(self) -> LinearModel:
        """Freeze into a :class:`LinearModel` with a CSC matrix."""
        cat = lambda parts, dt=float: np.concatenate(parts).astype(dt) if parts else np.zeros(0, dt)  # noqa: E731
        A = sp.csc_matrix(
            (cat(self._rows_v), (cat(self._rows_i, np.int64), cat(self._rows_j, np.int64))),
            shape=(self.n_rows, self.n_vars),
        )
        A.sum_duplicates()
        A.eliminate_zeros()  # HiGHS rejects explicit zeros
        return LinearModel(
            lb=cat(self._lb), ub=cat(self._ub), integrality=cat(self._int, bool), A=A,
            row_lb=cat(self._row_lb), row_ub=cat(self._row_ub),
            metrics={m: cat(v) for m, v in self._metrics.items()},
            metric_const=dict(self.metric_const),
            var_names=self._expand(self._names), row_names=self._expand(self._row_names),
            prefer=self._prefer_array(),
        )

    def _prefer_array(self) -> np.ndarray | None:
        if not self._prefer:
            return None
        out = np.zeros(self.n_vars)
        out[np.fromiter(self._prefer, np.int64)] = np.fromiter(self._prefer.values(), float)
        return out
