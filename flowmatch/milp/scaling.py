"""Scale a model before a solver sees it, and refuse numbers no solver can hold.

Quantities in a park run from a litre of solvent to a billion tonnes of slag,
so one model can hold coefficients from 1e-5 to 1e11: HiGHS rejects matrix
values over 1e15 outright, and long before that both solvers lose their
tolerances (CBC called a feasible 10^5-scaled park infeasible, HiGHS stopped
with "Solve error"). :func:`scale_model` rescales the model so its numbers sit
near 1, and :func:`unscale` maps the solution back:

* each continuous column by a power of two near its finite upper bound (a
  flow then runs from 0 to about 1, and its big-M row ``flow <= M * use``
  becomes ``flow' <= use``), or, without one, near the geometric mean of its
  entries;
* then each row by a power of two near the geometric mean of its largest and
  smallest entries, its amount (right-hand side) counted as one (two passes
  of rows and unbounded columns).

Integer columns are never scaled (a yes/no stays 0 or 1). For HiGHS every
factor is a power of two, so scaling and unscaling are exact in floating
point: the scaled model is the same model, its optimum the same optimum, its
objective the same number (the objective is not rescaled). For CBC, which
reads the model and writes its solution as text, the factors are powers of
ten, so round quantities stay round in the files.

:func:`check_magnitudes` refuses, before any solve, a model holding a finite
number over ``MAX_MAGNITUDE`` (a quantity or price beyond anything real, or a
unit mistake): its message names the row or variable, hence the resource, the
value and the fix. CBC used to call such a model "optimal".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from flowmatch.errors import ModelError
from flowmatch.milp.builder import LinearModel

__all__ = ["Scaling", "scale_model", "unscale", "to_scaled", "check_magnitudes", "largest_numbers", "MAX_MAGNITUDE"]

#: The largest finite number a model may hold (coefficient, bound, amount,
#: price): beyond it double precision no longer holds one unit (2^53 is about
#: 9e15) and HiGHS rejects matrix values (its ``large_matrix_value``).
MAX_MAGNITUDE = 1e15
_PASSES = 2


@dataclass(frozen=True)
class Scaling:
    """Powers of two (or ten): variable ``j`` of the original is ``col[j]`` times the scaled
    one, row ``i`` of the scaled model is ``row[i]`` times the original's."""

    col: np.ndarray
    row: np.ndarray


def _pow(v: np.ndarray, base: int = 2) -> np.ndarray:
    """The power of ``base`` nearest ``v`` (> 0) in log scale; 1 where ``v`` is not finite and positive."""
    out = np.ones_like(v, dtype=float)
    ok = np.isfinite(v) & (v > 0)
    out[ok] = float(base) ** np.round(np.log(v[ok]) / np.log(base))
    return out


def _geo_mid(M: sp.spmatrix, axis: int) -> np.ndarray:
    """sqrt(max * min) of the absolute nonzeros along ``axis`` (0: per column, 1: per row); nan if none."""
    A = abs(sp.csr_matrix(M) if axis == 1 else sp.csc_matrix(M))
    A.eliminate_zeros()
    big = np.asarray(A.max(axis=axis).todense(), float).ravel()
    inv = A.copy()
    inv.data = 1.0 / inv.data
    with np.errstate(invalid="ignore", divide="ignore"):
        small = 1.0 / np.asarray(inv.max(axis=axis).todense(), float).ravel()
        return np.where(big > 0, np.sqrt(big * small), np.nan)


def scale_model(model: LinearModel, base: int = 2) -> tuple[LinearModel, Scaling]:
    """The model scaled (see the module's doc) and its :class:`Scaling`.

    ``base`` 2 (for a solver that takes arrays): scaling is exact in binary.
    ``base`` 10 (for one that reads and writes text files, CBC through PuLP):
    a round quantity stays round in the file (100,000 t is written ``1``, not
    ``0.762939453125``), so the solution read back (8 digits) loses nothing.
    """
    n, m = model.n_vars, model.n_rows
    cont = ~model.integrality
    col = np.ones(n)
    has_ub = cont & np.isfinite(model.ub) & (model.ub > 0)
    col[has_ub] = _pow(model.ub[has_ub], base)
    free = cont & ~has_ub
    row = np.ones(m)
    A = model.A.tocsc()
    finite = lambda v: np.where(np.isfinite(v), np.abs(v), 0.0)  # noqa: E731
    rhs = np.maximum(finite(model.row_lb), finite(model.row_ub))  # a row's amount counts as an entry
    for _ in range(_PASSES if m and n else 0):
        scaled = sp.diags(row) @ A @ sp.diags(col)
        scaled = sp.hstack([scaled, sp.csr_matrix((row * rhs)[:, None])]).tocsr()  # the amount too
        row = row / _pow(_geo_mid(scaled, 1), base)
        if free.any():
            scaled = sp.diags(row) @ A @ sp.diags(col)
            col[free] = col[free] / _pow(_geo_mid(scaled, 0)[free], base)
    sc = Scaling(col=col, row=row)
    As = (sp.diags(row) @ A @ sp.diags(col)).tocsc()
    As.sort_indices()
    scaled_model = LinearModel(
        lb=model.lb / col, ub=model.ub / col, integrality=model.integrality, A=As,
        row_lb=model.row_lb * row, row_ub=model.row_ub * row,
        metrics={k: v * col for k, v in model.metrics.items()}, metric_const=dict(model.metric_const),
        var_names=model.var_names, row_names=model.row_names,
        prefer=None if model.prefer is None else model.prefer * col)
    return scaled_model, sc


def unscale(x: np.ndarray, sc: Scaling) -> np.ndarray:
    """A solution of the scaled model as one of the original (exact for powers of two)."""
    return np.asarray(x, float) * sc.col


def to_scaled(x: np.ndarray, sc: Scaling) -> np.ndarray:
    """A point of the original model (a warm start) in the scaled model's variables."""
    return np.asarray(x, float) / sc.col


def _ids(name: str) -> list[str]:
    """The ids inside a row or variable name's brackets: ``link_max[H2>W2]`` -> ``[H2, W2]``."""
    inner = re.findall(r"\[([^\]]*)\]", name)
    return list(dict.fromkeys(p for s in inner for p in re.split(r"[>,|]", s) if p and not p.isdigit()))


def largest_numbers(model: LinearModel, c: np.ndarray | None = None) -> list[tuple[float, str, str]]:
    """The largest finite number of each kind in ``model``: (value, what, where), largest first."""
    out = []
    A = model.A.tocoo()
    if A.nnz:
        k = int(np.argmax(np.abs(A.data)))
        out.append((float(A.data[k]), "coefficient",
                    f"row {model.row_names[A.row[k]]}, variable {model.var_names[A.col[k]]}"))
    for what, v, names in (("bound", np.concatenate([model.lb, model.ub]), model.var_names * 2),
                           ("amount", np.concatenate([model.row_lb, model.row_ub]), model.row_names * 2),
                           *((f"{k} coefficient", v, model.var_names) for k, v in model.metrics.items()),
                           *((("objective coefficient", c, model.var_names),) if c is not None else ())):
        fin = np.where(np.isfinite(v), np.abs(v), 0.0)
        if len(fin) and fin.max() > 0:
            k = int(np.argmax(fin))
            out.append((float(v[k]), what, ("row " if what == "amount" else "variable ") + names[k]))
    return sorted(out, key=lambda t: -abs(t[0]))


def check_magnitudes(model: LinearModel, limit: float = MAX_MAGNITUDE,
                     about: Callable[[str], str] | None = None) -> None:
    """Raise :class:`ModelError` if ``model`` holds a finite number over ``limit`` in size.

    The message names the row or variable (whose brackets hold the resource
    ids), the value and the fix; ``about(id)`` may say more of each id (its
    quantity and unit, say).
    """
    over = [t for t in largest_numbers(model) if abs(t[0]) > limit]
    if not over:
        return
    value, what, where = over[0]
    ids = list(dict.fromkeys(_ids(where.split(", variable ")[0]) or _ids(where)))
    named = ", ".join(about(i) if about else i for i in ids) or "the resources named there"
    raise ModelError(
        f"the model holds a {what} of {value:.4g} ({where}), over {limit:.0e}, the most a solver can "
        f"hold to within one unit. Fix: check the quantity, unit and prices of {named} in the inventory "
        "(a quantity in kg or g given as t, say, or a typo in the exponent); real quantities and "
        f"prices up to {limit:.0e} in their unit solve.")
