"""Freeze an :class:`~flowmatch.inputs.inventory.Inventory` into the arrays the matching kernels read.

:func:`freeze` turns the validated tables into one :class:`MatchArrays`: a
frozen dataclass of contiguous NumPy arrays, one row per have (``h_*``) and per
want (``w_*``), plus a small dense type-to-type score matrix over the types
actually used. Nothing downstream of this module touches pandas.

Type scores (``type_score[have_type, want_type]``, see ``docs/matching.md``)
are the largest of:

* **same type or is-a**: 1 for the same type; a have whose type has the want's
  type as an ancestor ``k`` steps up (LP steam for a want of ``energy:heat``)
  scores ``type_inherit_discount ** k``;
* **knowledge base**: a ``compatibility`` row ``(a, b, s)`` applies to every
  have type below ``a`` and want type below ``b``, at
  ``s * type_inherit_discount ** (steps from the have's type up to a + steps
  from the want's type up to b)``; a row on ``ewc:1001`` thus gives
  ``ewc:100105`` 0.9 times its score;
* **related**: two types in the same tree whose deepest common ancestor sits at
  depth ``d`` score ``type_related_max * d / max(depth(have), depth(want))``,
  provided the common ancestor is below a root (``d >= 2``) or is one of the
  :data:`FUNGIBLE_ROOTS` (all water is one kind of thing up to its quality,
  which ``s_quality`` judges). Two waste codes under the same sub-chapter are
  related; a gypsum and a fuel are not;
* **via a sub-type**: a have typed with a parent code takes, at a discount, the
  knowledge-base rows of the types below it (:mod:`flowmatch.matching.subtypes`);
  :func:`type_scores` also says which sub-type.

**Programme evidence** (the inventory's ``evidence`` table,
:mod:`flowmatch.inputs.evidence`) then moves the score of each pair a
programme completed or abandoned; ``type_done`` keeps the completions.

Water types the water-use classes forbid (``flowmatch/data/water_classes.csv``,
raw effluent to drinking water, say) score 0 whatever the rest gives.

Unknown types (not in the taxonomy) match only themselves and the knowledge
base rows that name them. A category mismatch scores 0 in the kernels.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from flowmatch.geo import unit_vectors
from flowmatch.inputs.evidence import apply_evidence
from flowmatch.inputs.heat_levels import required_temperature, temperature_table
from flowmatch.inputs.inventory import Inventory
from flowmatch.inputs.params import Params
from flowmatch.inputs.property_limits import hard_mask
from flowmatch.inputs.schema import FREQUENCIES
from flowmatch.inputs.taxonomy import Taxonomy
from flowmatch.inputs.units import CATEGORIES
from flowmatch.inputs.water_classes import forbidden_water_pairs
from flowmatch.matching.subtypes import subtype_routes

__all__ = ["MatchArrays", "freeze", "heat_temperature_floor", "type_score_matrix", "type_scores", "property_csr", "positions",
           "FUNGIBLE_ROOTS"]

log = logging.getLogger(__name__)

#: Taxonomy roots under which any two types are related (see the module docstring).
FUNGIBLE_ROOTS = ("water",)


@dataclass(frozen=True)
class MatchArrays:
    """The inventory as contiguous arrays for the matching kernels.

    Every ``h_*`` array has one row per have, every ``w_*`` array one row per
    want, in the order of ``inventory.haves`` / ``inventory.wants``.

    Attributes
    ----------
    have_ids, want_ids : pandas.Index
        Resource ids (pandas, for the output table: ``take`` is cheap).
    site_ids : pandas.Index
        Site ids; ``h_site`` and ``w_site`` index into it.
    have_types, want_types : tuple of str
        The types used; ``h_type`` / ``w_type`` index into them.
    type_score : ndarray of float64, shape (len(have_types), len(want_types))
        ``s_type`` of each have type for each want type (module docstring).
    categories : tuple of str
        Category names; ``h_cat`` / ``w_cat`` index into them.
    property_names : tuple of str
        Columns of the property matrices.
    h_type, w_type, h_cat, w_cat, h_site, w_site : ndarray of int64
    h_qty, w_qty : ndarray of float64
        Yearly quantity in the category's base unit.
    h_lat, h_lon, w_lat, w_lon : ndarray of float64
        Site coordinates, radians.
    h_xyz, w_xyz : ndarray of float64, shape (n, 3)
        Unit vectors of the sites (x towards lon 0 on the equator, z north).
    h_max_km, w_max_km : ndarray of float64
        Reach: ``max_distance_km``, or the category default from the params.
    h_months, w_months : ndarray of int64
        12-bit month masks (bit 0 is January).
    h_freq, w_freq : ndarray of int64
        Index into :data:`flowmatch.inputs.schema.FREQUENCIES`.
    h_haz, w_haz : ndarray of bool
        A have is hazardous; a want is licensed to accept hazardous input.
    h_value : ndarray of float64, shape (n_haves, n_properties)
        Each have's property values, NaN when absent.
    w_min, w_max : ndarray of float64, shape (n_wants, n_properties)
        Each want's accepted range, NaN when that side is open. A heat want's
        ``temperature_c`` range starts at its required temperature plus
        ``dt_min_k`` (:func:`heat_temperature_floor`).
    w_hard : ndarray of bool, shape (n_wants, n_properties)
        The range is a hard limit (a have outside it is no candidate), from
        :mod:`flowmatch.inputs.property_limits`.
    w_prop_ptr, w_prop_idx : ndarray of int64
        CSR of the properties each want constrains (a ``min`` or a ``max``).
    type_via : ndarray of object (str), shape of ``type_score``, optional
        The sub-type whose knowledge-base row gave ``type_score`` when a have
        typed with a parent code scores through it
        (:mod:`flowmatch.matching.subtypes`), else ``""``.
    type_done : ndarray of int64, shape of ``type_score``, optional
        Synergies of each type pair the programme completed (the ``evidence`` table).
    ov_ptr, ov_site, ov_km : ndarray
        Measured distances (the ``distances`` table), CSR by site:
        ``ov_site[ov_ptr[a]:ov_ptr[a + 1]]`` are the sites with a distance from
        ``a`` (sorted), ``ov_km`` the km. A row ``from, to`` serves both
        directions unless the reverse row is given too.
    """

    have_ids: pd.Index
    want_ids: pd.Index
    site_ids: pd.Index
    have_types: tuple[str, ...]
    want_types: tuple[str, ...]
    type_score: np.ndarray
    categories: tuple[str, ...]
    property_names: tuple[str, ...]
    h_type: np.ndarray
    h_cat: np.ndarray
    h_site: np.ndarray
    h_qty: np.ndarray
    h_lat: np.ndarray
    h_lon: np.ndarray
    h_xyz: np.ndarray
    h_max_km: np.ndarray
    h_months: np.ndarray
    h_freq: np.ndarray
    h_haz: np.ndarray
    h_value: np.ndarray
    w_type: np.ndarray
    w_cat: np.ndarray
    w_site: np.ndarray
    w_qty: np.ndarray
    w_lat: np.ndarray
    w_lon: np.ndarray
    w_xyz: np.ndarray
    w_max_km: np.ndarray
    w_months: np.ndarray
    w_freq: np.ndarray
    w_haz: np.ndarray
    w_min: np.ndarray
    w_max: np.ndarray
    w_hard: np.ndarray
    w_prop_ptr: np.ndarray
    w_prop_idx: np.ndarray
    ov_ptr: np.ndarray
    ov_site: np.ndarray
    ov_km: np.ndarray
    type_via: np.ndarray | None = None
    type_done: np.ndarray | None = None

    @property
    def n_haves(self) -> int:
        """Number of haves."""
        return len(self.have_ids)

    @property
    def n_wants(self) -> int:
        """Number of wants."""
        return len(self.want_ids)


def positions(keys: pd.Index, values: pd.Series | pd.Index) -> np.ndarray:
    """Position of each of ``values`` in the unique ``keys`` (-1 when absent), as int64.

    ``Index.get_indexer`` hashes through Python objects for string keys; one
    ``factorize`` of both is about three times faster on a million ids.
    """
    n = len(keys)
    codes, uniques = pd.factorize(pd.concat([pd.Series(keys, copy=False), pd.Series(values, copy=False)],
                                            ignore_index=True))
    where = np.full(len(uniques) + 1, -1, dtype=np.int64)
    where[codes[:n]] = np.arange(n)
    return where[codes[n:]]  # factorize's -1 (missing) reads the sentinel at the end


def _reach_km(res: pd.DataFrame, params: Params) -> np.ndarray:
    default = {c: getattr(params, f"max_distance_{c}_km") for c in CATEGORIES}
    fill = res["category"].map(default).to_numpy(dtype=float)
    given = res["max_distance_km"].to_numpy(dtype=float, copy=True)
    return np.where(np.isnan(given), fill, given)


def _property_matrices(props: pd.DataFrame, ids: pd.Index, names: list[str],
                       columns: tuple[str, ...]) -> list[np.ndarray]:
    """Dense ``(len(ids), len(names))`` matrices of the given property columns, NaN when absent."""
    out = [np.full((len(ids), len(names)), np.nan) for _ in columns]
    rows = positions(ids, props["resource_id"])
    keep = rows >= 0
    if keep.any():
        cols = positions(pd.Index(names), props["property"][keep])
        for m, c in zip(out, columns, strict=True):
            m[rows[keep], cols] = props[c].to_numpy(dtype=float)[keep]
    return out


def _overrides(dist: pd.DataFrame, sites: pd.Index) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR of measured distances by site, each row serving the reverse pair too unless given."""
    n = len(sites)
    if len(dist) == 0:
        return np.zeros(n + 1, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
    a = positions(sites, dist["from_site"])
    b = positions(sites, dist["to_site"])
    km = dist["km"].to_numpy(dtype=float)
    fwd = pd.DataFrame({"a": a, "b": b, "km": km, "given": 0})
    rev = pd.DataFrame({"a": b, "b": a, "km": km, "given": 1})
    both = (pd.concat([fwd, rev], ignore_index=True)
            .sort_values(["a", "b", "given"], kind="stable")
            .drop_duplicates(["a", "b"], keep="first"))
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.add.at(ptr, both["a"].to_numpy() + 1, 1)
    return (np.cumsum(ptr), both["b"].to_numpy(dtype=np.int64, copy=True),
            both["km"].to_numpy(dtype=float, copy=True))


def property_csr(vmin: np.ndarray, vmax: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CSR ``(ptr, idx)`` of the columns each row constrains (a ``min`` or a ``max`` given)."""
    constrained = ~(np.isnan(vmin) & np.isnan(vmax))
    ptr = np.zeros(len(vmin) + 1, dtype=np.int64)
    np.cumsum(constrained.sum(axis=1), out=ptr[1:])
    return ptr, np.nonzero(constrained)[1].astype(np.int64)


def _chain(taxonomy: Taxonomy, t: str) -> list[str]:
    """``t`` and its ancestors, nearest first (just ``[t]`` for an unknown type)."""
    return taxonomy.ancestors(t) if t in taxonomy else [t]


def _related(have_types: list[str], want_types: list[str], taxonomy: Taxonomy,
             params: Params) -> np.ndarray:
    """Partial credit by the depth of the deepest common ancestor (module docstring)."""
    chains_h = [_chain(taxonomy, t)[::-1] for t in have_types]  # root first
    chains_w = [_chain(taxonomy, t)[::-1] for t in want_types]
    known_h = np.array([t in taxonomy for t in have_types])
    known_w = np.array([t in taxonomy for t in want_types])
    depth = max([len(c) for c in chains_h + chains_w] + [1])
    codes, uniques = pd.factorize(pd.Series([a for c in chains_h + chains_w for a in c], dtype=object))
    lookup = dict(zip(uniques, range(len(uniques)), strict=True))

    def padded(chains: list[list[str]]) -> np.ndarray:
        m = np.full((len(chains), depth), -1, dtype=np.int64)
        for i, c in enumerate(chains):
            m[i, : len(c)] = [lookup[a] for a in c]
        return m

    ph, pw = padded(chains_h), padded(chains_w)
    dh = (ph >= 0).sum(axis=1)
    dw = (pw >= 0).sum(axis=1)
    fungible = np.array([lookup.get(r, -2) for r in FUNGIBLE_ROOTS], dtype=np.int64)
    out = np.zeros((len(have_types), len(want_types)))
    step = max(1, 2_000_000 // max(1, len(have_types) * depth))
    for j0 in range(0, len(want_types), step):
        blk = pw[j0 : j0 + step]
        same = (ph[:, None, :] == blk[None, :, :]) & (ph[:, None, :] >= 0)
        lca = np.cumprod(same, axis=2).sum(axis=2)
        root_ok = np.isin(ph[:, 0], fungible)[:, None] & (lca == 1)
        ok = ((lca >= 2) | root_ok) & known_h[:, None] & known_w[None, j0 : j0 + step]
        deeper = np.maximum(dh[:, None], dw[None, j0 : j0 + step])
        out[:, j0 : j0 + step] = np.where(ok, params.type_related_max * lca / deeper, 0.0)
    return out


def type_scores(have_types: list[str], want_types: list[str], taxonomy: Taxonomy,
                compatibility: pd.DataFrame, params: Params) -> tuple[np.ndarray, np.ndarray]:
    """:func:`type_score_matrix` and, per cell, the sub-type it came through (``""`` if none)."""
    out = type_score_matrix(have_types, want_types, taxonomy, compatibility, params, subtypes=False)
    sub, via = subtype_routes(have_types, want_types, taxonomy, compatibility, params)
    better = sub > out
    score = np.where(better, sub, out)
    score[forbidden_water_pairs(have_types, want_types, taxonomy)] = 0.0  # no sub-type reopens them
    return score, np.where(better, via, "").astype(object)


def type_score_matrix(have_types: list[str], want_types: list[str], taxonomy: Taxonomy,
                      compatibility: pd.DataFrame, params: Params, subtypes: bool = True) -> np.ndarray:
    """``s_type`` of every have type for every want type.

    Parameters
    ----------
    have_types, want_types : list of str
        The types to score (rows and columns).
    taxonomy : Taxonomy
    compatibility : pandas.DataFrame
        ``have_type, want_type, score`` rows (the merged knowledge base).
    params : Params
        For ``type_inherit_discount``, ``type_related_max`` and ``type_subtype_discount``.
    subtypes : bool
        Include the routes through a sub-type (:mod:`flowmatch.matching.subtypes`).

    Returns
    -------
    ndarray of float64, shape (len(have_types), len(want_types))
        In [0, 1]; see the module docstring for the rules.
    """
    if subtypes:
        return type_scores(have_types, want_types, taxonomy, compatibility, params)[0]
    disc = params.type_inherit_discount
    out = _related(have_types, want_types, taxonomy, params) if have_types and want_types else \
        np.zeros((len(have_types), len(want_types)))
    want_col = {t: j for j, t in enumerate(want_types)}
    below: dict[str, list[tuple[int, int]]] = {}
    for j, t in enumerate(want_types):
        for k, a in enumerate(_chain(taxonomy, t)):
            below.setdefault(a, []).append((j, k))
    kb: dict[str, list[tuple[str, float]]] = {}
    for a, b, s in compatibility[["have_type", "want_type", "score"]].itertuples(index=False):
        kb.setdefault(str(a), []).append((str(b), float(s)))
    for i, t in enumerate(have_types):
        for k1, a in enumerate(_chain(taxonomy, t)):
            col = want_col.get(a)
            if col is not None:  # same type (k1 == 0) or the want asks for an ancestor (is-a)
                out[i, col] = max(out[i, col], disc**k1)
            for b, s in kb.get(a, ()):
                for j2, k2 in below.get(b, ()):
                    out[i, j2] = max(out[i, j2], s * disc ** (k1 + k2))
    out[forbidden_water_pairs(have_types, want_types, taxonomy)] = 0.0  # water-use classes
    return out


def heat_temperature_floor(inventory: Inventory, w_ids: pd.Index, names: list[str],
                           w_min: np.ndarray, w_hard: np.ndarray) -> None:
    """Heat flows downhill: raise each heat want's ``temperature_c`` minimum, in place, to its
    required temperature plus ``dt_min_k`` and make it hard.

    A heat want is an energy want with a temperature (:mod:`flowmatch.inputs.heat_levels`);
    a have colder than the floor is no candidate, one without a temperature scores
    ``quality_missing`` as for any range it gives no value for.
    """
    if "temperature_c" not in names or len(w_ids) == 0:
        return
    req = required_temperature(temperature_table(inventory))
    req = req[req.notna()]
    rows = positions(w_ids, pd.Series(req.index))
    keep = rows >= 0
    col = names.index("temperature_c")
    floor = req.to_numpy(float)[keep] + inventory.params.dt_min_k
    w_min[rows[keep], col] = np.fmax(w_min[rows[keep], col], floor)
    w_hard[rows[keep], col] = True


def freeze(inventory: Inventory) -> MatchArrays:
    """Turn an inventory into the arrays the matching kernels read.

    Parameters
    ----------
    inventory : Inventory
        A validated inventory; its ``params`` give the default reach per category.

    Returns
    -------
    MatchArrays
    """
    params = inventory.params
    res = inventory.resources
    haves = res[res["role"] == "have"]
    wants = res[res["role"] == "want"]
    sites = pd.Index(inventory.sites["site_id"].astype(str))
    lat = np.radians(inventory.sites["lat"].to_numpy(dtype=float))
    lon = np.radians(inventory.sites["lon"].to_numpy(dtype=float))
    have_types = sorted(haves["type"].unique().tolist())
    want_types = sorted(wants["type"].unique().tolist())
    type_score, type_via = type_scores(have_types, want_types, inventory.taxonomy,
                                       inventory.compatibility, params)
    type_score, type_done = apply_evidence(type_score, have_types, want_types, inventory.evidence,
                                           forbidden_water_pairs(have_types, want_types, inventory.taxonomy))

    props = inventory.properties
    names = sorted(props["property"].unique().tolist()) if len(props) else []
    h_ids = pd.Index(haves["resource_id"])
    w_ids = pd.Index(wants["resource_id"])
    (h_value,) = _property_matrices(props, h_ids, names, ("value",))
    hard = props.assign(hard=hard_mask(props).astype(float))
    w_min, w_max, w_hard = _property_matrices(hard, w_ids, names, ("min", "max", "hard"))
    w_hard = w_hard == 1.0
    heat_temperature_floor(inventory, w_ids, names, w_min, w_hard)
    w_prop_ptr, w_prop_idx = property_csr(w_min, w_max)

    freq_code = {f: i for i, f in enumerate(FREQUENCIES)}
    cat_code = {c: i for i, c in enumerate(CATEGORIES)}
    ov_ptr, ov_site, ov_km = _overrides(inventory.distances, sites)

    def side(df: pd.DataFrame, types: list[str]) -> dict[str, np.ndarray]:
        site = positions(sites, df["site_id"])
        return dict(
            type=positions(pd.Index(types), df["type"]),
            cat=df["category"].map(cat_code).to_numpy(dtype=np.int64, copy=True),
            site=site,
            qty=df["quantity"].to_numpy(dtype=float, copy=True),
            lat=np.ascontiguousarray(lat[site]),
            lon=np.ascontiguousarray(lon[site]),
            xyz=unit_vectors(lat[site], lon[site]),
            max_km=_reach_km(df, params),
            months=df["month_mask"].to_numpy(dtype=np.int64, copy=True),
            freq=df["frequency"].map(freq_code).to_numpy(dtype=np.int64, copy=True),
            haz=df["hazardous"].to_numpy(dtype=bool, copy=True),
        )

    h, w = side(haves, have_types), side(wants, want_types)
    log.debug("froze %d haves, %d wants, %d x %d types, %d properties",
              len(haves), len(wants), len(have_types), len(want_types), len(names))
    return MatchArrays(
        have_ids=pd.Index(haves["resource_id"]),
        want_ids=pd.Index(wants["resource_id"]),
        site_ids=sites,
        have_types=tuple(have_types),
        want_types=tuple(want_types),
        type_score=np.ascontiguousarray(type_score),
        categories=tuple(CATEGORIES),
        property_names=tuple(names),
        **{f"h_{k}": v for k, v in h.items()},
        h_value=np.ascontiguousarray(h_value),
        **{f"w_{k}": v for k, v in w.items()},
        w_min=np.ascontiguousarray(w_min),
        w_max=np.ascontiguousarray(w_max),
        w_hard=np.ascontiguousarray(w_hard),
        w_prop_ptr=w_prop_ptr,
        w_prop_idx=w_prop_idx,
        ov_ptr=ov_ptr,
        ov_site=ov_site,
        ov_km=ov_km,
        type_via=type_via,
        type_done=type_done,
    )
