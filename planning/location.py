"""The generic capacitated facility-location core. See KINDERGARTENS.md §1.

    minimise   sum_j f_j y_j + sum_(i,j) c_ij x_ij
    subject to sum_j x_ij = 1                 every point i is served (only the given pairs exist)
               sum_i d_i x_ij <= u_j y_j      site capacity, only when open
               x_ij <= y_j                    strong link (tightens the LP bound a lot)
               y_j in {0,1}; x_ij in {0,1} (single source) or [0,1] (splittable)

c_ij is the cost of serving ALL of point i's demand from site j, so a fraction x_ij costs c_ij x_ij.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pulp

from common.errors import FupinError

from .solve import SolveResult, run
from .status import SolveStatus, has_solution, status_sentence

_EPS = 1e-6


@dataclass
class LocationResult:
    """`reason` explains an infeasible instance."""

    status: SolveStatus
    solver: str
    seconds: float
    objective: float | None = None
    gap: float | None = None
    open_sites: list = field(default_factory=list)
    # point -> site (single source) or point -> {site: fraction} (splittable)
    assignment: dict = field(default_factory=dict)
    reason: str = ""
    build_seconds: float = 0.0

    @property
    def has_solution(self) -> bool:
        return has_solution(self.status)

    def describe(self) -> str:
        return status_sentence(self.status, self.gap, "en", self.reason)


def infeasibility_reason(capacity: dict, demand: dict, cost: dict, single_source: bool = True) -> str:
    """A plain reason why no assignment can exist, found without solving; '' when none is obvious."""
    reach: dict = {i: [] for i in demand}
    for (i, j) in cost:
        if i in reach and j in capacity:
            reach[i].append(j)
    reasons = []
    for i, d in demand.items():
        if d <= 0:
            continue
        sites = reach[i]
        if not sites:
            reasons.append(f"point {i} (demand {d:g}) has no allowed site")
            continue
        best = max(capacity[j] for j in sites)
        total = sum(capacity[j] for j in sites)
        if single_source and d > best + _EPS:
            reasons.append(f"point {i} has demand {d:g}, more than any of its {len(sites)} allowed site(s) "
                           f"can hold (largest capacity {best:g}); it cannot be served from a single site")
        elif d > total + _EPS:
            reasons.append(f"point {i} has demand {d:g}, more than its allowed sites hold together ({total:g})")
    need = sum(v for v in demand.values() if v > 0)
    have = sum(capacity.values())
    if need > have + _EPS:
        reasons.append(f"total demand {need:g} exceeds total capacity {have:g}")
    return "; ".join(reasons)


def solve_facility_location(fixed_cost: dict, capacity: dict, demand: dict, cost: dict,
                            single_source: bool = True, solver: str = "highs",
                            time_limit: float | None = None) -> LocationResult:
    """Open sites and assign points at least total cost (fixed + assignment).

    fixed_cost, capacity: site -> number; demand: point -> number; cost: (point, site) -> the cost
    of serving all of the point's demand from that site (pairs not given are not allowed).
    """
    start = time.perf_counter()
    _check_location_inputs(fixed_cost, capacity, demand, cost)
    reason = infeasibility_reason(capacity, demand, cost, single_source)
    if reason:
        return LocationResult(SolveStatus.INFEASIBLE, solver, time.perf_counter() - start, reason=reason)
    prob, y, x = _location_model(fixed_cost, capacity, demand, cost, single_source)
    build = time.perf_counter() - start
    solved: SolveResult = run(prob, solver, time_limit)
    result = LocationResult(solved.status, solver, time.perf_counter() - start, gap=solved.gap,
                            reason=solved.message, build_seconds=build)
    if solved.status == SolveStatus.INFEASIBLE and not result.reason:
        result.reason = ("no assignment fits the capacities" if single_source
                         else "the capacities cannot hold the demand")
    if solved.has_solution:
        _read_location_solution(result, y, x, single_source)
        result.objective = solved.objective
    return result


def _check_location_inputs(fixed_cost: dict, capacity: dict, demand: dict, cost: dict) -> None:
    """Every site has both a fixed cost and a capacity; every cost pair names a known point and site."""
    missing = sorted(set(fixed_cost) ^ set(capacity), key=str)
    if missing:
        raise FupinError(f"sites {', '.join(map(str, missing[:5]))} need both a fixed cost and a capacity")
    unknown = [k for k in cost if k[0] not in demand or k[1] not in capacity]
    if unknown:
        raise FupinError(f"cost pairs name unknown points or sites, e.g. {unknown[0]}")


def _location_model(fixed_cost: dict, capacity: dict, demand: dict, cost: dict, single_source: bool):
    """The model of the module docstring: (problem, y by site, x by (point, site)).

    serve:     sum_j x_ij = 1               for every point i
    capacity:  sum_i d_i x_ij - u_j y_j <= 0   for every site j
    link:      x_ij - y_j <= 0              for every allowed pair (i, j)
    objective: sum_j f_j y_j + sum_(i,j) c_ij x_ij
    """
    sites = list(capacity)
    site_index = {j: k for k, j in enumerate(sites)}
    points = list(demand)
    point_index = {i: k for k, i in enumerate(points)}
    prob = pulp.LpProblem("facility_location", pulp.LpMinimize)
    y = {j: prob.add_variable(f"y_{site_index[j]}", cat=pulp.LpBinary) for j in sites}
    cat = pulp.LpBinary if single_source else pulp.LpContinuous
    x = {(i, j): prob.add_variable(f"x_{point_index[i]}_{site_index[j]}", lowBound=0, upBound=1, cat=cat)
         for (i, j) in cost}
    by_point: dict = {i: [] for i in points}
    by_site: dict = {j: [] for j in sites}
    for (i, j), var in x.items():
        by_point[i].append(var)
        by_site[j].append((i, var))
    for i in points:
        prob += pulp.lpSum(by_point[i]) == 1, f"serve_{point_index[i]}"
    for j in sites:
        load = pulp.LpAffineExpression([(var, demand[i]) for i, var in by_site[j]] + [(y[j], -capacity[j])])
        prob += load <= 0, f"capacity_{site_index[j]}"
        for i, var in by_site[j]:
            prob += pulp.LpAffineExpression([(var, 1), (y[j], -1)]) <= 0, f"link_{point_index[i]}_{site_index[j]}"
    prob += pulp.LpAffineExpression([(y[j], fixed_cost[j]) for j in sites] + [(x[k], c) for k, c in cost.items()])
    return prob, y, x


def _read_location_solution(result: LocationResult, y: dict, x: dict, single_source: bool) -> None:
    """The open sites and the assignment (a site per point, or fractions per point) into `result`."""
    result.open_sites = [j for j, var in y.items() if var.varValue is not None and var.varValue > 0.5]
    if single_source:
        result.assignment = {i: j for (i, j), var in x.items() if var.varValue is not None and var.varValue > 0.5}
        return
    frac: dict = {}
    for (i, j), var in x.items():
        if var.varValue is not None and var.varValue > _EPS:
            frac.setdefault(i, {})[j] = var.varValue
    result.assignment = frac


@dataclass(frozen=True)
class CapInstance:
    fixed_cost: dict
    capacity: dict
    demand: dict
    cost: dict


def read_orlib_cap(path: str | Path) -> CapInstance:
    """An OR-Library 'cap' file (Beasley 1988); sites and points numbered from 1."""
    tokens = Path(path).read_text().split()
    pos = 0

    def take() -> float:
        nonlocal pos
        value = tokens[pos]
        pos += 1
        return float(value)

    m, n = int(take()), int(take())
    cap, fixed = {}, {}
    for j in range(1, m + 1):
        cap[j] = take()
        fixed[j] = take()
    demand, cost = {}, {}
    for i in range(1, n + 1):
        demand[i] = take()
        for j in range(1, m + 1):
            cost[(i, j)] = take()
    return CapInstance(fixed, cap, demand, cost)
