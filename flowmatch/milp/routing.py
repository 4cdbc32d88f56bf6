"""Route generation for milk rounds: a pool of good, feasible collection routes.

A milk round starts at a depot (the processor that takes the waste), visits
several haves, collects one load from each and returns. Given the distances, the
load each have gives per collection, the vehicle capacity and the most stops a
route may make, :func:`generate_routes` proposes a rich pool of routes from
several constructions:

- every have alone, and every feasible set of haves where a depot may take
  only a few (then the pool is complete and PyVRP is not needed);
- Clarke-Wright savings (parallel version) with several shape parameters
  (the savings ``d0i + d0j - lam * dij + mu * |d0i - d0j|``) and seeded noise;
- the sweep heuristic from several start angles, in both directions (when the
  sites have coordinates);
- PyVRP (iterated local search, a state-of-the-art CVRP solver) with several seeds,
  the most-stops limit modelled as a second load dimension, several depots as
  one multi-depot problem;
- the sub-routes of all of these (every run of consecutive stops, and every
  route with one stop left out), so that the set-partitioning MILP choosing among
  routes can leave a have to a direct synergy or disposal.

Every route's stop order is improved (exactly for up to six stops, by 2-opt and
or-opt beyond). Several depots are handled together: a have may be allowed at
some depots only. The same seed always gives the same pool.

Distances come from :func:`site_distance_matrix`: great-circle between sites,
replaced by the inventory's ``distances`` table where it gives a pair (the
project's :mod:`flowmatch.geo`).
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, cached_property

import numpy as np

from flowmatch.geo import site_pair_km
from flowmatch.inputs.inventory import Inventory

__all__ = [
    "Route",
    "RoutingInstance",
    "RoutePool",
    "planar_xy",
    "site_distance_matrix",
    "site_distance_matrices",
    "generate_routes",
    "pyvrp_routes",
    "route_length",
]

log = logging.getLogger(__name__)

_LOAD_RESOLUTION = 1e6  # PyVRP's integer capacity is at least this many load units
_DIST_SCALE = 1000  # PyVRP's integer distances are metres
_EXACT_MAX = 6  # stop orders of up to this many stops are found by enumeration
_ENUM_MAX = 8  # a depot that may take at most this many haves gets every feasible set of them
_PROFILE_DEPOTS = 8  # PyVRP gets one routing profile per depot up to this many depots
_TOL = 1e-9


# --------------------------------------------------------------------------- distances


def planar_xy(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Points on a plane around their mean (equirectangular), in degrees of latitude.

    Good enough for the angles the sweep heuristic sorts by.

    Returns
    -------
    ndarray, shape (k, 2)
        East and north offsets.
    """
    lat = np.asarray(lat, float)
    lon = np.asarray(lon, float)
    lat0 = math.radians(float(np.mean(lat))) if len(lat) else 0.0
    return np.column_stack([(lon - np.mean(lon)) * math.cos(lat0), lat - np.mean(lat)])


def site_distance_matrix(inventory: Inventory, site_ids: Sequence[str]) -> np.ndarray:
    """Distances between ``site_ids`` (km), as :func:`~flowmatch.geo.site_pair_km` gives them.

    Great-circle, replaced by the inventory's ``distances`` table where it names
    the pair (a row serves the reverse pair too unless that is given itself).

    Parameters
    ----------
    inventory : Inventory
    site_ids : sequence of str
        The sites, in the matrix's order (repeats allowed).

    Returns
    -------
    ndarray, shape (k, k)
        Zero between a site and itself; symmetric unless the table is not.
    """
    return site_distance_matrices(inventory, [site_ids])[0]


def site_distance_matrices(inventory: Inventory, groups: Sequence[Sequence[str]]) -> list[np.ndarray]:
    """:func:`site_distance_matrix` of each group of sites, measured in one call."""
    uniq, back = [], []
    for ids in groups:
        u, inv_idx = np.unique(np.asarray(list(ids), dtype=object), return_inverse=True)
        uniq.append(u)
        back.append(inv_idx)
    a = np.concatenate([np.repeat(u, len(u)) for u in uniq] or [np.zeros(0, object)])
    b = np.concatenate([np.tile(u, len(u)) for u in uniq] or [np.zeros(0, object)])
    km = site_pair_km(inventory, a, b) if len(a) else np.zeros(0)
    out, start = [], 0
    for u, inv_idx in zip(uniq, back, strict=True):
        k = len(u)
        d = km[start:start + k * k].reshape(k, k)
        start += k * k
        out.append(d[np.ix_(inv_idx, inv_idx)])
    return out


# --------------------------------------------------------------------------- instance


@dataclass(frozen=True)
class Route:
    """One milk round: a depot, the haves it visits in order, its length and load.

    Attributes
    ----------
    depot : int
        Index of the depot (``0 .. n_depots - 1``).
    stops : tuple of int
        Indices of the haves visited (``0 .. n_haves - 1``), in visit order.
    km : float
        Distance driven per collection.
    load : float
        Load collected per collection.
    """

    depot: int
    stops: tuple[int, ...]
    km: float
    load: float


@dataclass(frozen=True)
class RoutingInstance:
    """A (multi-depot) capacitated collection problem.

    Attributes
    ----------
    dist : ndarray, shape (m + n, m + n)
        Distances in km; locations ``0 .. m-1`` are the depots, ``m .. m+n-1`` the haves.
    loads : ndarray, shape (n,)
        Load of each have per collection; none above ``capacity``.
    capacity : float
        Vehicle capacity per collection.
    max_stops : int
        Most haves one route visits.
    allowed : ndarray of bool, shape (n, m), optional
        Which depots may collect each have; all when omitted.
    xy : ndarray, shape (m + n, 2), optional
        Planar coordinates for the sweep heuristic (any scale); the sweep is skipped without them.
    """

    dist: np.ndarray
    loads: np.ndarray
    capacity: float
    max_stops: int
    allowed: np.ndarray | None = None
    xy: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.loads)
        if self.dist.shape[0] != self.dist.shape[1] or self.dist.shape[0] <= n:
            raise ValueError("dist must be square with the depots first, then one row per have")
        if self.allowed is not None and self.allowed.shape != (n, self.n_depots):
            raise ValueError("allowed must have shape (n_haves, n_depots)")
        if self.capacity <= 0 or self.max_stops < 1:
            raise ValueError("capacity must be positive and max_stops at least 1")
        if not all(self.fits(w) for w in self.loads):
            raise ValueError("every have's load must fit one vehicle (at most the capacity)")

    @property
    def n_haves(self) -> int:
        return len(self.loads)

    @property
    def n_depots(self) -> int:
        return self.dist.shape[0] - len(self.loads)

    @cached_property
    def symmetric(self) -> bool:
        """Whether the distances are the same both ways."""
        return bool(np.allclose(self.dist, self.dist.T))

    def is_allowed(self, have: int, depot: int) -> bool:
        return self.allowed is None or bool(self.allowed[have, depot])

    def fits(self, load: float) -> bool:
        """Whether ``load`` fits in one vehicle."""
        return load <= self.capacity * (1 + _TOL)


@dataclass(frozen=True)
class RoutePool:
    """Routes to choose among, and a good whole solution.

    Attributes
    ----------
    routes : list of Route
    best : tuple of int
        Indices into ``routes`` of the shortest solution the constructions
        found that visits every have exactly once.
    """

    routes: list[Route]
    best: tuple[int, ...]


def route_length(dist: np.ndarray, depot: int, stops: Sequence[int], n_depots: int) -> float:
    """Length of the closed tour ``depot -> stops -> depot`` (stops are have indices)."""
    if not len(stops):
        return 0.0
    loc = np.asarray(stops, int) + n_depots
    return float(dist[depot, loc[0]] + dist[loc[:-1], loc[1:]].sum() + dist[loc[-1], depot])


# --------------------------------------------------------------------------- stop order


@cache
def _perms(k: int, both_ways: bool) -> np.ndarray:
    """All orders of ``k`` stops (up to reversal unless ``both_ways``)."""
    p = [q for q in itertools.permutations(range(k)) if both_ways or q[0] <= q[-1]]
    return np.array(p, dtype=np.int64).reshape(-1, k)


def _best_order(inst: RoutingInstance, depot: int, stops: Sequence[int]) -> tuple[tuple[int, ...], float]:
    """A short visit order of ``stops`` from and back to ``depot``, and its length.

    Exact (all orders) up to ``_EXACT_MAX`` stops; beyond, 2-opt and or-opt moves
    from the given order, each judged by the whole tour's length (so a distance
    table that is not symmetric is respected).
    """
    m = inst.n_depots
    d = inst.dist
    stops = [int(s) for s in stops]
    k = len(stops)
    if k <= _EXACT_MAX:
        loc = np.asarray(stops, int) + m
        orders = loc[_perms(k, not inst.symmetric)]
        length = d[depot, orders[:, 0]] + d[orders[:, -1], depot]
        if k > 1:
            length = length + d[orders[:, :-1], orders[:, 1:]].sum(axis=1)
        b = int(np.argmin(length))
        return tuple(int(s) for s in orders[b] - m), float(length[b])

    def length_of(order: list[int]) -> float:
        return route_length(d, depot, order, m)

    order, best = stops, length_of(stops)
    improved = True
    while improved:
        improved = False
        moves = ([*order[:i], *order[i:j + 1][::-1], *order[j + 1:]]  # 2-opt
                 for i in range(k - 1) for j in range(i + 1, k))
        shifts = ([*rest[:j], order[i], *rest[j:]]  # or-opt: one stop elsewhere
                  for i in range(k) for rest in [order[:i] + order[i + 1:]] for j in range(k) if j != i)
        for cand in itertools.chain(moves, shifts):
            km = length_of(cand)
            if km < best - 1e-9:
                order, best, improved = cand, km, True
                break
    return tuple(order), best


# --------------------------------------------------------------------------- constructions


def _nearest_depot(inst: RoutingInstance) -> np.ndarray:
    """Each have's nearest allowed depot."""
    m = inst.n_depots
    d0 = inst.dist[:m, m:].T.copy()  # (n, m)
    if inst.allowed is not None:
        d0[~inst.allowed] = np.inf
    return np.argmin(d0, axis=1)


def _savings(inst: RoutingInstance, depot: int, members: np.ndarray, lam: float, mu: float,
             noise: float, rng: np.random.Generator) -> list[list[int]]:
    """Clarke-Wright parallel savings for ``members`` (have indices) around ``depot``."""
    m = inst.n_depots
    if len(members) == 0:
        return []
    loc = members + m
    d0 = inst.dist[depot, loc]
    dd = inst.dist[np.ix_(loc, loc)]
    iu, ju = np.triu_indices(len(members), 1)
    s = d0[iu] + d0[ju] - lam * dd[iu, ju] + mu * np.abs(d0[iu] - d0[ju])
    if noise:
        s = s * (1 + noise * rng.uniform(-1, 1, len(s)))
    keep = s > 0
    order = np.argsort(-s[keep], kind="stable")
    pi, pj = iu[keep][order], ju[keep][order]
    loads = inst.loads[members]
    route_of = np.arange(len(members))
    routes: dict[int, list[int]] = {i: [i] for i in range(len(members))}
    load = {i: float(loads[i]) for i in range(len(members))}
    for a, b in zip(pi.tolist(), pj.tolist(), strict=True):
        ra, rb = route_of[a], route_of[b]
        if ra == rb:
            continue
        A, B = routes[ra], routes[rb]
        if len(A) + len(B) > inst.max_stops or not inst.fits(load[ra] + load[rb]):
            continue
        # a and b must be ends of their routes; join so they are adjacent
        if A[-1] == a and B[0] == b:
            new = A + B
        elif A[0] == a and B[-1] == b:
            new = B + A
        elif A[-1] == a and B[-1] == b:
            new = A + B[::-1]
        elif A[0] == a and B[0] == b:
            new = A[::-1] + B
        else:
            continue
        routes[ra] = new
        load[ra] += load[rb]
        del routes[rb], load[rb]
        route_of[np.asarray(B)] = ra
    return [[int(members[i]) for i in r] for r in routes.values()]


def _sweep(inst: RoutingInstance, depot: int, members: np.ndarray, start: float,
           clockwise: bool) -> list[list[int]]:
    """Sweep: sort ``members`` by angle around ``depot`` from ``start``, cut by capacity and stops."""
    assert inst.xy is not None
    m = inst.n_depots
    rel = inst.xy[members + m] - inst.xy[depot]
    ang = (np.arctan2(rel[:, 1], rel[:, 0]) - start) % (2 * np.pi)
    if clockwise:
        ang = (2 * np.pi - ang) % (2 * np.pi)
    order = members[np.argsort(ang, kind="stable")]
    routes: list[list[int]] = []
    cur: list[int] = []
    load = 0.0
    for h in order.tolist():
        w = float(inst.loads[h])
        if cur and (len(cur) >= inst.max_stops or not inst.fits(load + w)):
            routes.append(cur)
            cur, load = [], 0.0
        cur.append(h)
        load += w
    if cur:
        routes.append(cur)
    return routes


def pyvrp_routes(inst: RoutingInstance, seed: int = 0, iterations: int = 2000,
                 time_limit: float | None = None) -> list[Route]:
    """Solve the routing instance with PyVRP; return the routes of its best solution.

    The most-stops limit is a second load dimension. Distances are rounded to metres
    and loads rounded up against the capacity, so every route PyVRP returns is
    feasible in the original units.

    Parameters
    ----------
    inst : RoutingInstance
    seed : int
        PyVRP's random seed; with a fixed ``iterations`` the result is reproducible.
    iterations : int
        Iterations of PyVRP's iterated local search.
    time_limit : float, optional
        Seconds after which PyVRP stops, whatever the iterations (the run's
        solve budget); the result then depends on the machine's speed.

    Returns
    -------
    list of Route
        Stops allowed at their route's depot only. With up to ``_PROFILE_DEPOTS``
        depots, a depot's vehicles see the haves it may not take as far off (one
        routing profile per depot); with more, PyVRP routes freely and a stop at
        a depot that may not take it is dropped from its route.
    """
    from pyvrp import Client, Depot, Location, ProblemData, VehicleType, solve
    from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria, StoppingCriterion

    m, n = inst.n_depots, inst.n_haves
    if n == 0:
        return []
    dint = np.rint(inst.dist * _DIST_SCALE).astype(np.int64)
    xy = inst.xy if inst.xy is not None else np.zeros((m + n, 2))
    locations = [Location(float(x), float(y)) for x, y in xy]
    # a power of ten keeps decimal loads exact; rounding loads up keeps routes feasible
    scale = 10.0 ** math.ceil(math.log10(_LOAD_RESOLUTION / inst.capacity))
    loads = np.ceil(inst.loads * scale - 1e-6).astype(np.int64)
    clients = [Client(location=m + i, pickup=[int(w), 1]) for i, w in enumerate(loads)]
    cap = [int(math.floor(inst.capacity * scale + 1e-6)), int(inst.max_stops)]
    profiles = [dint]
    if inst.allowed is not None and not inst.allowed.all() and m <= _PROFILE_DEPOTS:
        # one routing profile per depot where the haves it may not take are far off
        far = int(2 * dint.max() + 1) * n
        profiles = []
        for dep in range(m):
            p = dint.copy()
            bad = m + np.flatnonzero(~inst.allowed[:, dep])
            p[bad, :] = far
            p[:, bad] = far
            np.fill_diagonal(p, 0)
            profiles.append(p)
    vtypes = [VehicleType(num_available=n, capacity=cap, start_depot=dep, end_depot=dep,
                          profile=dep if len(profiles) > 1 else 0)
              for dep in range(m)]
    data = ProblemData(locations, clients, [Depot(i) for i in range(m)], vtypes, profiles,
                       [np.zeros_like(p) for p in profiles])
    stop: StoppingCriterion = MaxIterations(iterations)
    if time_limit is not None:
        stop = MultipleCriteria([stop, MaxRuntime(max(float(time_limit), 0.0))])
    res = solve(data, stop=stop, seed=seed, collect_stats=False)
    if not res.is_feasible():
        log.warning("PyVRP found no feasible solution (seed %d); its routes are left out", seed)
        return []
    out = []
    for r in res.best.routes():
        dep = r.start_depot()
        stops = [int(a.idx) for a in r if a.is_client()]
        stops = [h for h in stops if inst.is_allowed(h, dep)]
        if stops:
            out.append(_make_route(inst, dep, stops, reorder=False))
    return out


# --------------------------------------------------------------------------- pool


def _make_route(inst: RoutingInstance, depot: int, stops: Sequence[int], reorder: bool = True) -> Route:
    if reorder:
        order, km = _best_order(inst, depot, stops)
    else:
        order = tuple(int(s) for s in stops)
        km = route_length(inst.dist, depot, order, inst.n_depots)
    load = float(inst.loads[list(order)].sum())
    return Route(depot, order, km, load)


def _pieces(stops: Sequence[int]) -> Iterable[tuple[int, ...]]:
    """Runs of consecutive stops (two or more) and the route less each one stop."""
    k = len(stops)
    for i in range(k):
        for j in range(i + 2, k + 1):
            yield tuple(stops[i:j])
    if k > 2:
        for i in range(k):
            yield tuple(stops[:i]) + tuple(stops[i + 1:])


def generate_routes(inst: RoutingInstance, seed: int = 0, pyvrp_iterations: int = 2000,
                    pyvrp_runs: int = 1, savings_runs: int = 12, pieces_from: int = 2,
                    time_limit: float | None = None) -> RoutePool:
    """A pool of good feasible routes (see the module docstring).

    Parameters
    ----------
    inst : RoutingInstance
    seed : int
        Seeds the savings noise and PyVRP; the same seed gives the same pool.
    pyvrp_iterations : int
        Iterations per PyVRP run (0 skips PyVRP).
    pyvrp_runs : int
        PyVRP runs, each with its own seed.
    savings_runs : int
        Clarke-Wright runs: the first few with fixed shape parameters, the rest
        with random ones and noise.
    pieces_from : int
        Sub-routes are added from this many of the shortest heuristic solutions
        (and from every PyVRP solution).
    time_limit : float, optional
        Seconds the whole generation may take (the run's solve budget): each
        construction starts only while time is left, PyVRP gets what is left
        (see :func:`pyvrp_routes`), and when it runs out the routes found so
        far are returned (every have alone is always among them, so a plan
        can still be made). ``None``: no limit.

    Returns
    -------
    RoutePool
        Routes unique by (depot, set of stops), the shortest order of each kept,
        sorted by depot and stops. Every have alone at each depot allowed to take
        it is included; every route fits the capacity and the most-stops limit
        and visits only haves its depot may take. ``best`` marks the shortest
        whole solution the constructions found (a start for the MILP).
    """
    rng = np.random.default_rng(seed)
    m, n = inst.n_depots, inst.n_haves
    pool: dict[tuple[int, frozenset[int]], Route] = {}
    deadline = None if time_limit is None else time.perf_counter() + max(float(time_limit), 0.0)

    def out_of_time() -> bool:
        return deadline is not None and time.perf_counter() >= deadline

    def add(route: Route) -> None:
        key = (route.depot, frozenset(route.stops))
        old = pool.get(key)
        if old is None or route.km < old.km - 1e-9:
            pool[key] = route

    everyone = np.arange(n)
    takes = {dep: everyone if inst.allowed is None else np.flatnonzero(inst.allowed[:, dep])
             for dep in range(m)}
    for dep, members in takes.items():
        for h in members.tolist():
            add(_make_route(inst, dep, [h]))
    nearest = _nearest_depot(inst)
    alone = [[_make_route(inst, int(nearest[h]), [h]) for h in range(n)]]  # a whole solution always at hand
    if inst.max_stops < 2 or n < 2 or out_of_time():
        return _pool(pool, alone)
    groups = {dep: everyone[nearest == dep] for dep in range(m)}
    # whole solutions (every have once), and partial ones (a depot's haves)
    whole: list[list[Route]] = []
    partial: list[list[Route]] = []

    def build(into: list[list[Route]], stop_lists: Iterable[tuple[int, list[int]]]) -> None:
        into.append([_make_route(inst, dep, r) for dep, r in stop_lists])

    few = {dep for dep, members in takes.items() if len(members) <= _ENUM_MAX}
    for dep in few:
        if out_of_time():
            return _pool(pool, alone)
        for k in range(2, min(inst.max_stops, len(takes[dep])) + 1):
            for subset in itertools.combinations(takes[dep].tolist(), k):
                if inst.fits(float(inst.loads[list(subset)].sum())):
                    add(_make_route(inst, dep, subset))
    if len(few) == m:  # complete: every feasible route is in; one whole solution for a start
        build(whole, ((dep, r) for dep, members in groups.items()
                      for r in _savings(inst, dep, members, 1.0, 0.0, 0.0, rng)))
        return _pool(pool, whole)
    shapes = [(1.0, 0.0), (1.4, 0.0), (0.8, 0.0), (1.2, 0.5), (1.8, 1.0)]
    for run in range(savings_runs):
        if out_of_time():
            break
        if run < len(shapes):
            lam, mu, noise = *shapes[run], 0.0
        else:
            lam, mu, noise = rng.uniform(0.5, 2.0), rng.uniform(0.0, 1.0), 0.1
        build(whole, ((dep, r) for dep, members in groups.items()
                      for r in _savings(inst, dep, members, lam, mu, noise, rng)))
        if run < 2 and m > 1:  # each depot also over every have it may take
            for dep in set(range(m)) - few:
                build(partial, ((dep, r) for r in _savings(inst, dep, takes[dep], lam, mu, noise, rng)))
    if inst.xy is not None:
        for start in np.linspace(0, 2 * np.pi, 8, endpoint=False):
            if out_of_time():
                break
            for cw in (False, True):
                build(whole, ((dep, r) for dep, members in groups.items()
                              for r in _sweep(inst, dep, members, start, cw)))
    n_heuristic = len(whole)
    for k in range(pyvrp_runs if pyvrp_iterations > 0 else 0):
        if out_of_time():
            break
        left = None if deadline is None else (deadline - time.perf_counter()) / (pyvrp_runs - k)
        routes = pyvrp_routes(inst, seed=seed + k, iterations=pyvrp_iterations, time_limit=left)
        missed = set(everyone.tolist()) - {h for r in routes for h in r.stops}
        whole.append(routes + [_make_route(inst, int(nearest[h]), [h]) for h in sorted(missed)])
    for sol in whole + partial:
        for r in sol:
            add(r)
    # sub-routes of the best heuristic solutions and of every PyVRP solution
    ranked = sorted(range(n_heuristic), key=lambda i: (_length(whole[i]), i))
    for i in [*ranked[:pieces_from], *range(n_heuristic, len(whole))]:
        if out_of_time():
            break
        for r in whole[i]:
            for piece in _pieces(r.stops):
                if (r.depot, frozenset(piece)) not in pool:
                    add(_make_route(inst, r.depot, piece))
    log.debug("route pool: %d routes for %d haves and %d depots", len(pool), n, m)
    return _pool(pool, whole or alone)


def _length(routes: list[Route]) -> float:
    return sum(r.km for r in routes)


def _pool(pool: dict[tuple[int, frozenset[int]], Route], whole: list[list[Route]]) -> RoutePool:
    """The pool sorted by depot and stops, with the shortest whole solution marked."""
    routes = sorted(pool.values(), key=lambda r: (r.depot, len(r.stops), sorted(r.stops)))
    where = {(r.depot, frozenset(r.stops)): i for i, r in enumerate(routes)}
    best = min(whole, key=_length)
    return RoutePool(routes, tuple(sorted(where[r.depot, frozenset(r.stops)] for r in best)))
