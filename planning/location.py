"""The generic capacitated facility-location engine. See KINDERGARTENS.md §1.

    minimise   sum_j f_j y_j + sum_(i,j) c_ij x_ij
    subject to sum_j x_ij = 1                 every point i is served (only the given pairs exist)
               sum_i d_i x_ij <= u_j y_j      site capacity, only when open
               x_ij <= y_j                    strong link (tightens the LP bound a lot)
               sum_j u_j y_j >= sum_i d_i     cover: the open sites hold all the demand
               y_j in {0,1}; x_ij in {0,1} (single source) or [0,1] (splittable)

c_ij is the cost of serving ALL of point i's demand from site j, so a fraction x_ij costs c_ij x_ij.

Single source with whole-number demands and capacities (method "columns", the default) is solved
by branch and price (planning/site_columns.py): columns are a site with the points it serves,
pricing is a 0-1 knapsack per site, the bound is Lagrangian, reduced-cost fixing shrinks every
node, branching is on sites, and the compact model finishes nodes whose sites the LP has decided.
Otherwise (splittable, fractional demands, method "compact") the compact model is solved as it is.
"""

from __future__ import annotations

import math
import multiprocessing
import time
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import FupinError

from .location_model import location_model
from .site_columns import Instance, branch_and_price
from .solve import SolveResult, run
from .status import SolveStatus, has_solution, status_sentence

_EPS = 1e-6
LOCATION_METHODS = ("columns", "compact")


@dataclass
class LocationResult:
    """`reason` explains an infeasible instance; `bound` is the proven lower bound on the cost."""

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
    bound: float | None = None
    method: str = "compact"
    steps: dict = field(default_factory=dict)  # seconds and counts per step, for benchmarks

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
                            time_limit: float | None = None, method: str = "columns") -> LocationResult:
    """Open sites and assign points at least total cost (fixed + assignment).

    fixed_cost, capacity: site -> number; demand: point -> number; cost: (point, site) -> the cost
    of serving all of the point's demand from that site (pairs not given are not allowed).
    """
    if method not in LOCATION_METHODS:
        raise ValueError(f"unknown method '{method}': use one of {', '.join(LOCATION_METHODS)}")
    start = time.perf_counter()
    _check_location_inputs(fixed_cost, capacity, demand, cost)
    reason = infeasibility_reason(capacity, demand, cost, single_source)
    if reason:
        return LocationResult(SolveStatus.INFEASIBLE, solver, time.perf_counter() - start, reason=reason)
    data = Instance.of(fixed_cost, capacity, demand, cost) if single_source and method == "columns" else None
    if data is None:
        return _solve_compact(fixed_cost, capacity, demand, cost, single_source, solver, time_limit, start)
    return _solve_single_source(fixed_cost, capacity, demand, cost, data, solver, time_limit, start)


def _check_location_inputs(fixed_cost: dict, capacity: dict, demand: dict, cost: dict) -> None:
    """Every site has both a fixed cost and a capacity; every cost pair names a known point and site."""
    missing = sorted(set(fixed_cost) ^ set(capacity), key=str)
    if missing:
        raise FupinError(f"sites {', '.join(map(str, missing[:5]))} need both a fixed cost and a capacity")
    unknown = [k for k in cost if k[0] not in demand or k[1] not in capacity]
    if unknown:
        raise FupinError(f"cost pairs name unknown points or sites, e.g. {unknown[0]}")


# ---------------------------------------------------------------------------------------------
# The compact model


def _solve_compact(fixed_cost: dict, capacity: dict, demand: dict, cost: dict, single_source: bool,
                   solver: str, time_limit: float | None, start: float, threads: int | None = None) -> LocationResult:
    m = location_model(fixed_cost, capacity, demand, cost, single_source)
    build = time.perf_counter() - start
    options = {"threads": threads} if threads and solver == "highs" else None
    solved: SolveResult = run(m.prob, solver, time_limit, highs_options=options)
    result = LocationResult(solved.status, solver, time.perf_counter() - start, gap=solved.gap,
                            reason=solved.message, build_seconds=build, bound=solved.bound)
    if solved.status == SolveStatus.INFEASIBLE and not result.reason:
        result.reason = ("no assignment fits the capacities" if single_source
                         else "the capacities cannot hold the demand")
    if solved.has_solution:
        _read_location_solution(result, m.y, m.x, single_source)
        result.objective = solved.objective
    return result


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


# ---------------------------------------------------------------------------------------------
# Single source: branch and price (planning/site_columns.py)


def _solve_single_source(fixed_cost: dict, capacity: dict, demand: dict, cost: dict, data: Instance,
                         solver: str, time_limit: float | None, start: float) -> LocationResult:
    """The plan of least cost by branch and price, with the compact model as a rival on the second
    core for instances of RIVAL_PAIRS pairs or more (it proves loosely capacitated instances in a
    second or two, where the columns' root alone takes several): the first proof ends both. The
    compact model also decides when the columns cannot (no plan exists, or too few columns to say so)."""
    deadline = None if time_limit is None else start + time_limit
    rival = _CompactRival(fixed_cost, capacity, demand, cost, solver, time_limit) if len(cost) >= RIVAL_PAIRS else None
    try:
        found = branch_and_price(data, solver, deadline, stop=rival.proven if rival else None)
        compact = None
        if rival is not None:
            compact = rival.result(wait=not found.proven)
    finally:
        if rival is not None:
            rival.end()
    if compact is not None and compact.status == SolveStatus.OPTIMAL:
        compact.method, compact.steps = "compact (rival)", found.steps
        compact.seconds = time.perf_counter() - start
        return compact
    if found.plan is None and (found.root_infeasible or found.exhausted):
        if compact is not None and compact.status == SolveStatus.INFEASIBLE:
            return compact
        left = None if deadline is None else max(deadline - time.perf_counter(), 0.01)
        result = _solve_compact(fixed_cost, capacity, demand, cost, True, solver, left, start)
        result.steps = found.steps
        return result
    result = LocationResult(SolveStatus.TIME_LIMIT_NO_SOLUTION, solver, time.perf_counter() - start,
                            method="columns", steps=found.steps, reason=found.note)
    lower = max(found.lower, compact.bound if compact is not None and compact.bound is not None else -math.inf)
    result.bound = None if lower == -math.inf else lower
    plan, upper = found.plan, found.upper
    if compact is not None and compact.has_solution and compact.objective < upper - 1e-9 * max(1.0, abs(upper)):
        result.assignment, result.open_sites, upper = compact.assignment, compact.open_sites, compact.objective
        result.method = "compact (rival)"
    elif plan is not None:
        result.assignment = {data.points[i]: data.sites[j] for i, j in enumerate(plan)}
        opened = set(plan.tolist())
        result.open_sites = [j for k, j in enumerate(data.sites) if k in opened]
    else:
        return result
    proven = found.proven or lower >= upper - 1e-9 * max(1.0, abs(upper))
    result.status = SolveStatus.OPTIMAL if proven else SolveStatus.TIME_LIMIT_FEASIBLE
    result.objective = upper
    result.bound = upper if proven else lower
    result.gap = 0.0 if proven else max(0.0, (upper - lower) / max(abs(upper), 1e-9))
    return result


RIVAL_PAIRS = 2000


class _CompactRival:
    """The compact model solved in a spawned process (HiGHS's threads do not survive a fork), one thread."""

    def __init__(self, fixed_cost: dict, capacity: dict, demand: dict, cost: dict, solver: str,
                 time_limit: float | None):
        context = multiprocessing.get_context("spawn")
        self.receive, send = context.Pipe(duplex=False)
        self.process = context.Process(target=_compact_in_child, daemon=True,
                                       args=(send, fixed_cost, capacity, demand, cost, solver, time_limit))
        self.process.start()
        send.close()
        self.answer: LocationResult | None = None

    def _poll(self, timeout: float = 0.0) -> None:
        if self.answer is None:
            try:
                if self.receive.poll(timeout):
                    self.answer = self.receive.recv()
            except (EOFError, OSError):  # the child died: no answer
                self.answer = LocationResult(SolveStatus.ERROR, "highs", 0.0, reason="the compact rival died")

    def proven(self) -> bool:
        self._poll()
        return self.answer is not None and self.answer.status in (SolveStatus.OPTIMAL, SolveStatus.INFEASIBLE)

    def result(self, wait: bool) -> LocationResult | None:
        """The rival's answer; with `wait`, block until it has one (it stops at its own time limit)."""
        self._poll(None if wait else 0.0)
        return self.answer

    def end(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
        self.process.join()
        self.receive.close()


def _compact_in_child(send, fixed_cost: dict, capacity: dict, demand: dict, cost: dict, solver: str,
                      time_limit: float | None) -> None:
    result = _solve_compact(fixed_cost, capacity, demand, cost, True, solver, time_limit, time.perf_counter(),
                            threads=1)
    send.send(result)
    send.close()


# ---------------------------------------------------------------------------------------------
# OR-Library


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
