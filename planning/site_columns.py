"""Single-source capacitated facility location by branch and price. See KINDERGARTENS.md §1.

A column is one site j with the points S it serves, cost f_j + Σ_{i∈S} c_ij. The master LP

    min  Σ_(j,S) (f_j + Σ_{i∈S} c_ij) λ_jS
    s.t. Σ_{(j,S) ∋ i} λ_jS ≥ 1          every point i (dual π_i ≥ 0; = 1 when some cost is negative)
         Σ_S λ_jS ≤ 1                    every site j  (= 1 once the site is branched open)

is grown by pricing: for each site a 0-1 knapsack over its points' π_i - c_ij with the demands as
weights (`pricing.knapsack_by_load`), at Wentges-smoothed duals. For any π,

    LB(π) = Σ_i π_i + min { Σ_j g_j(π) y_j : Σ_j u_j y_j ≥ Σ_i d_i, y binary, the node's fixed y }
    g_j(π) = f_j - max { Σ_{i∈S} (π_i - c_ij) : Σ_{i∈S} d_i ≤ u_j }

is a lower bound on every plan's cost in the node (the serve rows relaxed), so the bound is valid
whenever the search stops. Reduced-cost fixing removes every pair and site whose forced LB exceeds
the best plan's cost. The root, once fixing has done what it can, is finished by the compact model
over the pairs and sites left (a few seconds of it first, for a better plan to fix against again,
while that finds better plans), from the best plan (fixing keeps every plan cheaper than it, so the
compact optimum there is the optimum): fixing leaves a quarter to three quarters of the pairs of a
tight 30 x 200 instance, which HiGHS then proves in seconds where the search below needed minutes.
When it stops at the time limit, the root stays open with the compact model's bound. Below the root
(`finish_at_root=False`), branching is on sites (open / closed), best bound first, and a node whose
sites are all decided is finished by the compact model. A node whose master LP is integral is a plan.
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass, field, replace
from typing import Callable
from fractions import Fraction

import numpy as np

from .pricing import Smoothing, items_at_load, knapsack_by_load, knapsack_without_each
from .location_model import location_model
from .solve import _swallow_highs_banner, run
from .status import SolveStatus

KNAPSACK_LIMIT = 1_000_000  # the largest load a knapsack table may span; beyond it the compact model is used
INTEGRAL = 1e-6
SETS = 3  # columns a site offers per pricing: the best loads' sets (measured: half the iterations of 1)
KEEP = 1500  # columns kept in the master between nodes
ROOT_ALPHA, NODE_ALPHA = 0.8, 0.5  # Wentges smoothing at the root and in the nodes
# The root's short compact runs, each for a better plan to fix against, while they find one (30 x 200,
# capacity 1.5 x demand: 3,663 pairs left, 21,944 -> 21,763 in 3 s, then 1,539 pairs left, proven
# in 20 s: 30 s in all against 39 s without it).
ROOT_PROBE_SECONDS, ROOT_PROBES = 3.0, 4


@dataclass
class Instance:
    """An instance as arrays: sites j = 0..m-1 and points i = 0..n-1 in the order given."""

    sites: list
    points: list
    fixed: np.ndarray  # (m,)
    capacity: np.ndarray  # (m,) whole numbers, divided by the demands' gcd
    demand: np.ndarray  # (n,) whole numbers, divided by their gcd
    cost: np.ndarray  # (n, m); inf where the pair is not allowed
    reach: list  # site -> the points it may serve (allowed, demand within capacity)
    step: float  # every plan costs a multiple of this (0: none found)

    @classmethod
    def of(cls, fixed_cost: dict, capacity: dict, demand: dict, cost: dict) -> "Instance | None":
        """None when a demand or capacity is not a whole number, a demand is negative, or a knapsack
        would span more than KNAPSACK_LIMIT: pricing runs on the load."""
        sites, points = list(capacity), list(demand)
        if not all(float(v).is_integer() for v in [*capacity.values(), *demand.values()]):
            return None
        raw = [int(demand[i]) for i in points]
        if min(raw, default=0) < 0:
            return None
        unit = math.gcd(*raw) or 1
        dem = np.array([d // unit for d in raw], dtype=np.int64)
        cap = np.array([int(capacity[j]) // unit for j in sites], dtype=np.int64)
        col = {j: k for k, j in enumerate(sites)}
        row = {i: k for k, i in enumerate(points)}
        matrix = np.full((len(points), len(sites)), np.inf)
        for (i, j), c in cost.items():
            matrix[row[i], col[j]] = c
        reach = [np.flatnonzero(np.isfinite(matrix[:, k]) & (dem <= cap[k])) for k in range(len(sites))]
        if any(min(int(cap[k]), int(dem[r].sum())) > KNAPSACK_LIMIT for k, r in enumerate(reach)):
            return None
        if int(dem.sum()) > KNAPSACK_LIMIT:
            return None
        fixed = np.array([float(fixed_cost[j]) for j in sites])
        return cls(sites, points, fixed, cap, dem, matrix, reach, cost_step([*fixed_cost.values(), *cost.values()]))

    def plan_cost(self, plan: np.ndarray) -> float:
        """The cost of serving point i at site plan[i], recomputed from the data."""
        opened = np.unique(plan)
        return float(self.fixed[opened].sum() + self.cost[np.arange(len(plan)), plan].sum())

    def fits(self, plan: np.ndarray) -> bool:
        load = np.bincount(plan, weights=self.demand, minlength=len(self.sites))
        return bool(np.all(load <= self.capacity) and np.all(np.isfinite(self.cost[np.arange(len(plan)), plan])))


def cost_step(values) -> float:
    """The largest step of which every value is a multiple (exact fractions of denominator at most
    10^6), so that a lower bound on a plan's cost rounds up to it; 0 when there is none."""
    fractions, denominator = [], 1
    for v in values:
        f = Fraction(v).limit_denominator(10**6)
        if abs(float(f) - v) > 1e-9 * max(1.0, abs(v)):
            return 0.0
        fractions.append(f)
        denominator = denominator * f.denominator // math.gcd(denominator, f.denominator)
    g = math.gcd(*[int(f * denominator) for f in fractions])
    return g / denominator if g else 0.0


def round_up(bound: float, step: float) -> float:
    """The least multiple of `step` at or above `bound` (unchanged when step is 0)."""
    return math.ceil(bound / step - 1e-6) * step if step else bound


@dataclass
class Node:
    """A node of the search: sites closed or opened, pairs forbidden, and a lower bound."""

    closed: np.ndarray  # (m,) bool
    opened: np.ndarray  # (m,) bool
    forbidden: np.ndarray  # (n, m) bool
    bound: float = -math.inf
    depth: int = 0

    @classmethod
    def root(cls, data: Instance) -> "Node":
        n, m = data.cost.shape
        return cls(np.zeros(m, bool), np.zeros(m, bool), ~np.isfinite(data.cost) | (data.demand[:, None] > data.capacity[None, :]))

    def child(self, bound: float, closed: int | None = None, opened: int | None = None) -> "Node":
        node = replace(self, closed=self.closed.copy(), opened=self.opened.copy(), forbidden=self.forbidden.copy(),
                       bound=bound, depth=self.depth + 1)
        if closed is not None:
            node.closed[closed] = True
            node.forbidden[:, closed] = True
        if opened is not None:
            node.opened[opened] = True
        return node

    def tighten(self, fixing: "Fixing") -> None:
        self.closed |= fixing.closed
        self.opened |= fixing.opened
        self.forbidden |= fixing.excluded


@dataclass
class Relaxation:
    value: float | None  # the master LP's last value
    bound: float  # the best Lagrangian bound found at the node (valid whatever happened after)
    duals: np.ndarray | None  # the point of that bound
    converged: bool
    iterations: int


class SiteColumns:
    """The master LP of the module docstring, its pricing, and the node it is restricted to."""

    def __init__(self, data: Instance):
        import highspy

        _swallow_highs_banner()
        self.highspy = highspy
        self.data = data
        n, m = len(data.points), len(data.sites)
        inf = highspy.kHighsInf
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        # Columns enter and bounds change: primal simplex from the last basis; presolve would redo work.
        h.setOptionValue("presolve", "off")
        h.setOptionValue("simplex_strategy", 4)
        self.h = h
        # With no negative cost a point served twice can leave one column at no extra cost, so
        # covering (≥ 1, π ≥ 0) is exact; its LP solves about twice as fast as the partition.
        self.covering = bool(np.all(data.cost[np.isfinite(data.cost)] >= 0))
        empty_i, empty_f = np.array([], dtype=np.int32), np.array([], dtype=np.float64)
        h.addRows(n, np.ones(n), np.full(n, inf) if self.covering else np.ones(n), 0, empty_i, empty_i, empty_f)
        h.addRows(m, np.full(m, -inf), np.ones(m), 0, empty_i, empty_i, empty_f)
        # An artificial column per point keeps the master feasible while columns are missing; its
        # price is far above any plan's whole cost.
        finite = np.where(np.isfinite(data.cost), np.abs(data.cost), 0.0)
        self.big = float(1e4 * (np.abs(data.fixed).sum() + finite.max(axis=1, initial=0).sum()) + 1)
        for i in range(n):
            h.addCol(self.big, 0, inf, 1, np.array([i], dtype=np.int32), np.array([1.0]))
        self.artificial = n
        self.site: list[int] = []
        self.served: list[np.ndarray] = []
        self.cost: list[float] = []
        self._seen: set = set()
        self.node = Node.root(data)
        self.lp_seconds = 0.0
        self.pricing_seconds = 0.0
        self.stop: Callable[[], bool] = lambda: False
        for j in range(m):  # a site open and serving nobody: keeps "= 1" rows feasible
            self.add(j, ())

    def add(self, site: int, served: tuple[int, ...]) -> bool:
        key = (site, served)
        if key in self._seen:
            return False
        self._seen.add(key)
        points = np.array(served, dtype=np.int64)
        cost = float(self.data.fixed[site] + self.data.cost[points, site].sum())
        rows = np.array([*served, len(self.data.points) + site], dtype=np.int32)
        self.h.addCol(cost, 0, self.highspy.kHighsInf, len(rows), rows, np.ones(len(rows)))
        self.site.append(site)
        self.served.append(points)
        self.cost.append(cost)
        return True

    def purge(self, keep: int) -> None:
        """Delete the columns of largest reduced cost in the last LP, down to `keep`: pricing brings back
        any a later node needs, and the LP with fewer columns solves faster. Bounds are Lagrangian,
        so they do not depend on which columns are kept."""
        m = len(self.data.sites)
        count = len(self.site) - m
        if count <= keep:
            return
        solution = self.h.getSolution()
        reduced = np.asarray(solution.col_dual)[self.artificial + m:]
        used = np.asarray(solution.col_value)[self.artificial + m:] > INTEGRAL
        reduced = np.where(used, -np.inf, reduced)
        drop = np.sort(np.argsort(-reduced, kind="stable")[:count - keep]) + m
        drop = drop[~used[drop - m]]
        if not len(drop):
            return
        self.h.deleteCols(len(drop), (drop + self.artificial).astype(np.int32))
        dropped = set(drop.tolist())
        for k in dropped:
            self._seen.discard((self.site[k], tuple(self.served[k].tolist())))
        kept = [k for k in range(len(self.site)) if k not in dropped]
        self.site = [self.site[k] for k in kept]
        self.served = [self.served[k] for k in kept]
        self.cost = [self.cost[k] for k in kept]

    def restrict(self, node: Node) -> None:
        """Let the master use only the columns the node allows; its opened sites' rows become = 1."""
        self.node = node
        upper = np.array([0.0 if node.closed[j] or node.forbidden[s, j].any() else self.highspy.kHighsInf
                          for j, s in zip(self.site, self.served)])
        count = len(upper)
        index = np.arange(self.artificial, self.artificial + count, dtype=np.int32)
        self.h.changeColsBounds(count, index, np.zeros(count), upper)
        m, n = len(self.data.sites), len(self.data.points)
        rows = np.arange(n, n + m, dtype=np.int32)
        lower = np.where(node.opened, 1.0, -self.highspy.kHighsInf)
        self.h.changeRowsBounds(m, rows, lower, np.ones(m))

    def price(self, site: int, duals: np.ndarray) -> tuple[float, tuple[int, ...]]:
        """g_j(π) and the points of the best knapsack at site j, within the node."""
        data = self.data
        points = data.reach[site]
        points = points[~self.node.forbidden[points, site]]
        profit = duals[points] - data.cost[points, site]
        keep = profit > 1e-9
        points, profit = points[keep], profit[keep]
        weights = data.demand[points].tolist()
        if sum(weights) <= data.capacity[site]:  # all of them fit: no knapsack to solve
            return float(data.fixed[site] - profit.sum()), [tuple(sorted(points.tolist()))]
        capacity = int(data.capacity[site])
        best, take = knapsack_by_load(weights, profit.tolist(), capacity)
        loads = np.argsort(-best)[:SETS]
        sets = [tuple(sorted(int(points[k]) for k in items_at_load(take, weights, int(load))))
                for load in loads if best[load] > -np.inf]
        return float(data.fixed[site] - best[loads[0]]), sets

    def lagrangian(self, duals: np.ndarray) -> tuple[float, list]:
        """LB(π) without the cover row (each free site takes min(0, g_j), an opened one g_j, a closed
        one nothing), and per site g_j(π) with its best points (None when closed)."""
        t0 = time.perf_counter()
        node = self.node
        priced = [None if node.closed[j] else self.price(j, duals) for j in range(len(self.data.sites))]
        value = float(duals.sum())
        for j, p in enumerate(priced):
            if p is not None:
                value += p[0] if node.opened[j] else min(0.0, p[0])
        self.pricing_seconds += time.perf_counter() - t0
        return value, priced

    def relax(self, deadline: float | None, alpha: float = 0.8, cutoff: float = math.inf) -> Relaxation:
        """Column generation with Wentges smoothing until the master LP meets the best bound, or the
        bound reaches `cutoff` (the node holds no plan cheaper than the best one)."""
        hs = self.highspy
        n = len(self.data.points)
        smoothing = Smoothing(alpha)
        iterations, value = 0, None
        while True:
            if smoothing.bound >= cutoff:
                return Relaxation(value, smoothing.bound, smoothing.center, True, iterations)
            iterations += 1
            t0 = time.perf_counter()
            # A node starts after bounds changed (the basis stays dual feasible: dual simplex);
            # columns entering keep it primal feasible (primal simplex).
            self.h.setOptionValue("simplex_strategy", 1 if iterations == 1 else 4)
            self.h.run()
            if self.h.getModelStatus() != hs.HighsModelStatus.kOptimal:
                # Seen once after a dive gave back many columns: dual simplex stopped with a solve
                # error. From scratch it solves.
                self.h.clearSolver()
                self.h.run()
            self.lp_seconds += time.perf_counter() - t0
            if self.h.getModelStatus() != hs.HighsModelStatus.kOptimal:
                return Relaxation(None, smoothing.bound, smoothing.center, False, iterations)
            value = self.h.getInfo().objective_function_value
            if smoothing.bound >= value - 1e-9 * max(1.0, abs(value)):
                break
            row_dual = np.asarray(self.h.getSolution().row_dual)
            duals, mu = row_dual[:n], row_dual[n:]
            exact = smoothing.center is None or smoothing.weight() == 0.0
            point = duals if exact else smoothing.point(duals)
            bound, priced = self.lagrangian(point)
            smoothing.record(point, bound)
            added = 0
            for j, p in enumerate(priced):
                for found in ([] if p is None else p[1]):
                    served = list(found)
                    reduced = self.data.fixed[j] + self.data.cost[served, j].sum() - duals[served].sum() - mu[j]
                    if reduced < -1e-9 * max(1.0, abs(value)) and self.add(j, found):
                        added += 1
            if added:
                smoothing.priced()
            elif exact:
                break  # priced at the master's own duals and nothing improves: LB(π) = LP value
            else:
                smoothing.mispriced()
            if (deadline is not None and time.perf_counter() > deadline) or self.stop():
                return Relaxation(value, smoothing.bound, smoothing.center, False, iterations)
        return Relaxation(value, smoothing.bound, smoothing.center, True, iterations)

    def solution(self) -> tuple[np.ndarray, np.ndarray, bool]:
        """The master LP's y_j = Σ_S λ_jS and x_ij = Σ_{S ∋ i} λ_jS, and whether some artificial is used."""
        n, m = len(self.data.points), len(self.data.sites)
        values = np.asarray(self.h.getSolution().col_value)
        y, x = np.zeros(m), np.zeros((n, m))
        for k in np.flatnonzero(values[self.artificial:] > INTEGRAL):
            value, site = values[self.artificial + k], self.site[k]
            y[site] += value
            x[self.served[k], site] += value
        return y, x, bool(values[:self.artificial].max(initial=0.0) > INTEGRAL)

    def chosen(self) -> list[int]:
        """The columns at 1 in an integral master LP."""
        values = np.asarray(self.h.getSolution().col_value)[self.artificial:]
        return [int(k) for k in np.flatnonzero(values > 0.5)]

    def _plan_of(self, chosen: list[int]) -> np.ndarray | None:
        """A site per point from chosen columns; a point covered twice stays at its cheaper site."""
        plan = np.full(len(self.data.points), -1)
        for k in chosen:
            j = self.site[k]
            for i in self.served[k]:
                if plan[i] < 0 or self.data.cost[i, j] < self.data.cost[i, plan[i]]:
                    plan[i] = j
        return None if (plan < 0).any() else plan


@dataclass
class Fixing:
    """What reduced-cost fixing proved in a node: no plan there costing at most `upper` uses an
    excluded pair or a closed site, and every such plan opens the opened sites. `if_closed` and
    `if_opened` are each site's bound once branched that way."""

    excluded: np.ndarray  # (n, m) bool
    closed: np.ndarray  # (m,) bool
    opened: np.ndarray  # (m,) bool
    bound: float  # LB(π) with the cover row
    if_closed: np.ndarray  # (m,)
    if_opened: np.ndarray  # (m,)


def reduced_cost_fixing(data: Instance, node: Node, duals: np.ndarray, upper: float) -> Fixing:
    """Fix what a forced value would lift above `upper`, by LB(π) of the module docstring.

    Forcing y_j = 0 gives Σπ + R_j(closed), y_j = 1 gives Σπ + g_j + R_j(open), and x_ij = 1 gives
    Σπ + g_j(i) + R_j(open): R_j is the least Σ_k g_k y_k of the other sites that still covers the
    demand, g_j(i) the knapsack at j with point i forced in. Above `upper` (plus a float tolerance)
    means fixed the other way.
    """
    n, m = data.cost.shape
    tolerance = 1e-7 * max(1.0, abs(upper))
    g = np.full(m, np.inf)
    forced_in = np.full((n, m), np.inf)
    for j in np.flatnonzero(~node.closed):
        g[j], forced_in[:, j] = _site_forced_in(data, node, j, duals)
    rest_closed, rest_open = _cover_by_others(g, data.capacity, int(data.demand.sum()), node)
    base = float(duals.sum())
    if_closed = base + rest_closed
    if_opened = base + g + rest_open
    bound = float(np.min(np.minimum(if_closed, if_opened)))
    closed = ~node.closed & (if_opened > upper + tolerance)
    opened = ~node.opened & ~node.closed & (if_closed > upper + tolerance)
    excluded = ~node.forbidden & ((base + forced_in + rest_open[None, :] > upper + tolerance) | closed[None, :])
    return Fixing(excluded, closed, opened, bound, if_closed, if_opened)


def _site_forced_in(data: Instance, node: Node, site: int, duals: np.ndarray) -> tuple[float, np.ndarray]:
    """g_j(π), and for every point i the knapsack value at j with i forced in (inf if it cannot be)."""
    points = data.reach[site]
    points = points[~node.forbidden[points, site]]
    profit = duals[points] - data.cost[points, site]
    weights = data.demand[points]
    gain = profit > 1e-12
    total = int(weights[gain].sum())
    if total + int(weights.max(initial=0)) <= data.capacity[site]:  # everything fits beside any one point
        rest = np.where(gain, profit[gain].sum() - profit, profit[gain].sum())
        out = np.full(len(data.points), np.inf)
        out[points] = data.fixed[site] - profit - rest
        return float(data.fixed[site] - profit[gain].sum()), out
    capacity = int(min(data.capacity[site], total))
    at_most, without = knapsack_without_each(weights[gain].tolist(), profit[gain].tolist(), capacity)
    rest = at_most[np.minimum(data.capacity[site] - weights, capacity)]
    rest[gain] = without
    out = np.full(len(data.points), np.inf)
    out[points] = data.fixed[site] - profit - rest
    return float(data.fixed[site] - at_most[capacity]), out


def _cover_by_others(g: np.ndarray, capacity: np.ndarray, need: int, node: Node) -> tuple[np.ndarray, np.ndarray]:
    """For each site j, the least Σ_k g_k y_k over the other sites (opened ones included, closed ones
    not) with Σ_k u_k y_k ≥ need (rest_closed, inf if j is opened) or ≥ need - u_j (rest_open)."""
    m = len(g)
    rest_closed, rest_open = np.full(m, np.inf), np.full(m, np.inf)
    for j in np.flatnonzero(~node.closed):
        least = np.full(need + 1, np.inf)  # least[c]: the least cost of covering min(capacity, need) = c
        least[0] = 0.0
        for k in np.flatnonzero(~node.closed):
            if k == j:
                continue
            u = int(min(capacity[k], need))
            moved = np.full(need + 1, np.inf)
            moved[u:need] = least[:need - u] + g[k]
            moved[need] = least[need - u:].min() + g[k]
            least = moved if node.opened[k] else np.minimum(least, moved)
        covered = np.minimum.accumulate(least[::-1])[::-1]  # covering at least c
        if not node.opened[j]:
            rest_closed[j] = covered[need]
        rest_open[j] = covered[max(0, need - int(capacity[j]))]
    return rest_closed, rest_open


@dataclass
class Outcome:
    """Where the search got: the best plan (a site index per point), its cost, the proven bound."""

    plan: np.ndarray | None
    upper: float
    lower: float
    proven: bool
    root_infeasible: bool = False  # the root master needs an artificial column: no plan, or too few columns
    exhausted: bool = False  # every node was searched
    note: str = ""  # why the search stopped early, other than the time limit
    steps: dict = field(default_factory=dict)


def branch_and_price(data: Instance, solver: str = "highs", deadline: float | None = None,
                     stop: Callable[[], bool] | None = None, finish_at_root: bool = True) -> Outcome:
    """The least-cost single-source plan, proven when the search finishes before `deadline`; it also
    ends, unproven, as soon as `stop()` says so (a rival proved the instance). `finish_at_root`: the
    root is finished by the compact model over what reduced-cost fixing left (the module docstring),
    otherwise by branching."""
    start = time.perf_counter()
    columns = SiteColumns(data)
    columns.stop = stop or (lambda: False)
    steps: dict = {}
    root = Node.root(data)
    columns.restrict(root)
    relaxation = columns.relax(deadline, alpha=ROOT_ALPHA)
    steps.update(root_seconds=round(time.perf_counter() - start, 3), root_iterations=relaxation.iterations,
                 root_lp=relaxation.value, root_bound=relaxation.bound)
    y, x, artificial = columns.solution() if relaxation.value is not None else (None, None, True)
    if relaxation.converged and artificial:
        return Outcome(None, math.inf, -math.inf, False, root_infeasible=True, steps=steps)
    search = _Search(data, columns, solver, deadline, steps, finish_at_root)
    root.bound = relaxation.bound
    t0 = time.perf_counter()
    search.dive_for_plan(root)
    steps["first_plan_seconds"] = round(time.perf_counter() - t0, 3)
    steps["first_plan"] = search.upper
    return search.run(root)


class _MasterFailed(Exception):
    """The master LP did not solve: the search stops, its bound so far still valid."""


class _Search:
    """Best-bound-first branch and price over the nodes of the module docstring."""

    def __init__(self, data: Instance, columns: SiteColumns, solver: str, deadline: float | None, steps: dict,
                 finish_at_root: bool = True):
        self.data, self.columns, self.solver, self.deadline, self.steps = data, columns, solver, deadline, steps
        self.finish_at_root = finish_at_root
        self.plan: np.ndarray | None = None
        self.upper = math.inf
        self.queue: list = []
        self.counter = 0
        self.nodes = 0
        # A node that reduced-cost fixing just tightened: bounded again at once, from the LP basis it left.
        self.again: Node | None = None
        self.failure = ""
        self.stats = {"branchings": 0, "plans": [], "refixed": 0, "compact": 0, "compact_seconds": 0.0}
        self.root_probes, self.probed_at = 0, math.inf  # the root's short compact runs, and the plan's cost at the last

    def offer(self, plan: np.ndarray | None) -> None:
        if plan is not None and self.data.fits(plan):
            plan = improve(self.data, plan)
            cost = self.data.plan_cost(plan)
            if cost < self.upper:
                self.plan, self.upper = plan, cost
                self.stats["plans"].append((self.nodes, cost))

    def cutoff(self) -> float:
        """The least bound that prunes a node: above the best cost less one cost step."""
        if self.upper == math.inf:
            return math.inf
        slack = 1e-9 * max(1.0, abs(self.upper))
        return self.upper - self.data.step + 1e-6 * self.data.step if self.data.step else self.upper - slack

    def prunable(self, bound: float) -> bool:
        """No plan in a node with this bound is cheaper than the best one."""
        return round_up(bound, self.data.step) >= self.upper - 1e-9 * max(1.0, abs(self.upper))

    def push(self, node: Node) -> None:
        if not self.prunable(node.bound):
            self.counter += 1
            heapq.heappush(self.queue, (node.bound, self.counter, node))

    def run(self, root: Node) -> Outcome:
        self.push(root)
        while self.queue or self.again is not None:
            if self.timed_out():
                break
            if self.again is not None:
                node, self.again = self.again, None
            else:
                node = heapq.heappop(self.queue)[2]
            if self.prunable(node.bound):
                continue
            self.nodes += 1
            try:
                done = self.process(node)
            except _MasterFailed as failed:
                self.push(node)
                self.failure = str(failed)
                break
            if not done:  # out of time inside the node: it stays open
                self.push(node)
                break
        if self.again is not None:
            self.push(self.again)
        lower = min([b for b, _, _ in self.queue] + [self.upper])
        self.steps.update(self.stats)
        self.steps.update(nodes=self.nodes, columns=len(self.columns.site),
                          lp_seconds=round(self.columns.lp_seconds, 3),
                          pricing_seconds=round(self.columns.pricing_seconds, 3))
        proven = not self.queue and self.plan is not None
        return Outcome(self.plan, self.upper, self.upper if proven else round_up(lower, self.data.step), proven,
                       exhausted=not self.queue, note=self.failure, steps=self.steps)

    def process(self, node: Node) -> bool:
        """Bound the node, fix by reduced costs, and branch; False when time ran out inside it."""
        columns = self.columns
        columns.purge(KEEP)
        columns.restrict(node)
        relaxation = columns.relax(self.deadline, alpha=NODE_ALPHA, cutoff=self.cutoff())
        node.bound = max(node.bound, relaxation.bound)
        if self.prunable(node.bound):
            return True
        if relaxation.value is None:
            raise _MasterFailed(f"the master LP ended {self.columns.h.getModelStatus()}")
        if not relaxation.converged:
            return False
        y, x, artificial = columns.solution()
        if artificial:
            return True  # the node's master needs an artificial column at its optimum: no plan in it
        if _integral(x) and _integral(y):
            self.offer(columns._plan_of(columns.chosen()))
            return True
        fixing = reduced_cost_fixing(self.data, node, relaxation.duals, self.upper)
        node.bound = max(node.bound, fixing.bound)
        if self.prunable(node.bound):
            return True
        if fixing.excluded.any() or fixing.closed.any() or fixing.opened.any():
            node.tighten(fixing)
            self.again = node
            self.stats["refixed"] += 1
            return True
        if self.finish_at_root and node.depth == 0:
            self.steps.setdefault("root_pairs_left", []).append(int((~node.forbidden).sum()))
            # A few seconds of the compact model for a better plan, then fixing against it again (the
            # node comes back at once), while that finds better plans; then the compact model to the end.
            if self.root_probes >= ROOT_PROBES or self.upper >= self.probed_at:
                return self.finish_compact(node)
            self.root_probes, self.probed_at = self.root_probes + 1, self.upper
            if self.finish_compact(node, ROOT_PROBE_SECONDS):
                return True
            self.again = node
            return True
        if not ((y > INTEGRAL) & (y < 1 - INTEGRAL) & ~node.opened).any():
            return self.finish_compact(node)
        self.branch(node, y, fixing)
        return True

    def finish_compact(self, node: Node, seconds: float | None = None) -> bool:
        """The node by the compact model over its pairs and sites (the root after fixing, or a node
        whose sites the LP decided: an assignment problem HiGHS proves fast), from the best plan when
        the node holds it; False when stopped at the time limit (the node stays open with the MIP's
        bound)."""
        data = self.data
        n, m = data.cost.shape
        allowed = ~node.forbidden & np.isfinite(data.cost)
        pairs = {(int(i), int(j)): float(data.cost[i, j]) for i, j in zip(*np.nonzero(allowed))}
        model = location_model({j: float(data.fixed[j]) for j in range(m)}, {j: int(data.capacity[j]) for j in range(m)},
                               {i: int(data.demand[i]) for i in range(n)}, pairs, True,
                               frozenset(np.flatnonzero(node.closed).tolist()), frozenset(np.flatnonzero(node.opened).tolist()))
        start = None
        if self.plan is not None and self.solver == "highs" and _holds(node, self.plan):
            used = set(self.plan.tolist())
            start = {var.name: float(j in used) for j, var in model.y.items()}
            start.update({var.name: float(self.plan[i] == j) for (i, j), var in model.x.items()})
        left = None if self.deadline is None else max(self.deadline - time.perf_counter(), 0.01)
        if seconds is not None:
            left = seconds if left is None else min(left, seconds)
        options = {"mip_abs_gap": 0.999 * data.step if data.step else 1e-6}  # run() closes the relative gap
        solved = run(model.prob, self.solver, left, start=start, highs_options=options)
        self.stats["compact"] += 1
        self.stats["compact_seconds"] += solved.seconds
        if solved.has_solution:
            plan = np.full(n, -1)
            for (i, j), var in model.x.items():
                if var.varValue is not None and var.varValue > 0.5:
                    plan[i] = j
            if (plan >= 0).all():
                self.offer(plan)
        if solved.status in (SolveStatus.OPTIMAL, SolveStatus.INFEASIBLE):
            return True
        if solved.status == SolveStatus.TIME_LIMIT_FEASIBLE and solved.bound is not None:
            node.bound = max(node.bound, solved.bound)
        if solved.status in (SolveStatus.ERROR, SolveStatus.UNBOUNDED):
            raise _MasterFailed("the compact model of a node: " + solved.describe())
        return False

    def branch(self, node: Node, y: np.ndarray, fixing: Fixing) -> None:
        """On the site the LP leaves fractional whose worse branch has the highest Lagrangian bound."""
        candidates = np.flatnonzero(~node.opened & ~node.closed & (y > INTEGRAL) & (y < 1 - INTEGRAL))
        j = int(candidates[np.argmax(np.minimum(fixing.if_closed, fixing.if_opened)[candidates])])
        self.stats["branchings"] += 1
        self.push(node.child(max(node.bound, fixing.if_closed[j]), closed=j))
        self.push(node.child(max(node.bound, fixing.if_opened[j]), opened=j))

    def dive_for_plan(self, node: Node) -> None:
        """A plan by diving: fix every column the master LP takes at 1, or else its largest one, to
        its site (opened, its points served nowhere else), bound again, until the LP is integral."""
        columns = self.columns
        node = node.child(node.bound)
        settled = np.zeros(len(self.data.points), bool)
        while not self.timed_out():
            columns.restrict(node)
            relaxation = columns.relax(self.deadline, alpha=NODE_ALPHA, cutoff=self.cutoff())
            if self.prunable(relaxation.bound) or relaxation.value is None or not relaxation.converged:
                return
            y, x, artificial = columns.solution()
            if artificial:
                return
            if _integral(x) and _integral(y):
                self.offer(columns._plan_of(columns.chosen()))
                return
            values = np.asarray(columns.h.getSolution().col_value)[columns.artificial:]
            order = np.argsort(-values)
            picked = [k for k in order[:len(self.data.sites)] if values[k] > 1 - INTEGRAL
                      and not (node.opened[columns.site[k]] and settled[columns.served[k]].all())]
            if not picked:
                picked = [k for k in order if not (node.opened[columns.site[k]] and settled[columns.served[k]].all())][:1]
            if not picked:
                return
            for k in picked:
                j, served = columns.site[k], columns.served[k]
                node.opened[j] = True
                node.forbidden[served, :] = True
                node.forbidden[served, j] = False
                settled[served] = True

    def timed_out(self) -> bool:
        return (self.deadline is not None and time.perf_counter() > self.deadline) or self.columns.stop()


def _holds(node: Node, plan: np.ndarray) -> bool:
    """The plan is in the node: its pairs allowed, its sites not closed, the opened ones used."""
    used = np.zeros(len(node.closed), bool)
    used[plan] = True
    return not (node.forbidden[np.arange(len(plan)), plan].any() or (node.opened & ~used).any())


def _integral(x: np.ndarray) -> bool:
    return bool(np.all((x < INTEGRAL) | (x > 1 - INTEGRAL)))


def improve(data: Instance, plan: np.ndarray) -> np.ndarray:
    """Local search on a plan: the best of moving one point, swapping two, closing a site or opening
    one, until none lowers the cost. Every move keeps the capacities."""
    plan = plan.copy()
    n, m = data.cost.shape
    rows = np.arange(n)
    cost = np.where(np.isfinite(data.cost), data.cost, np.inf)
    while True:
        load = np.bincount(plan, weights=data.demand, minlength=m).astype(np.int64)
        count = np.bincount(plan, minlength=m)
        now = cost[rows, plan]
        moves = [_best_shift(data, plan, cost, now, load, count), _best_swap(data, plan, cost, now, load),
                 _best_closing(data, plan, cost, now, load, count), _best_opening(data, plan, cost, now, load, count)]
        gain, apply = min(moves, key=lambda move: move[0])
        if gain > -1e-9 * max(1.0, float(now.sum())):
            return plan
        apply(plan)


def _best_shift(data, plan, cost, now, load, count):
    """Point i from its site to another open site with room: Δ = c_ik - c_i,plan(i) (- f when its site empties)."""
    opened = count > 0
    room = (load[None, :] + data.demand[:, None] <= data.capacity[None, :]) & opened[None, :]
    delta = cost - now[:, None] - np.where(count[plan] == 1, data.fixed[plan], 0.0)[:, None]
    delta = np.where(room, delta, np.inf)
    delta[np.arange(len(plan)), plan] = np.inf
    i, k = np.unravel_index(np.argmin(delta), delta.shape)

    def apply(p):
        p[i] = k
    return float(delta[i, k]), apply


def _best_swap(data, plan, cost, now, load):
    """Points i and k of different sites change places: Δ = c_i,plan(k) + c_k,plan(i) - c_i,plan(i) - c_k,plan(k)."""
    d = data.demand
    across = cost[:, plan]  # across[i, k] = c_i,plan(k)
    delta = across + across.T - now[:, None] - now[None, :]
    fits = (load[plan][:, None] - d[:, None] + d[None, :] <= data.capacity[plan][:, None]) & \
           (load[plan][None, :] - d[None, :] + d[:, None] <= data.capacity[plan][None, :])
    delta = np.where(fits & (plan[:, None] != plan[None, :]), delta, np.inf)
    i, k = np.unravel_index(np.argmin(delta), delta.shape)

    def apply(p):
        p[i], p[k] = p[k], p[i]
    return float(delta[i, k]), apply


def _best_closing(data, plan, cost, now, load, count):
    """Close one open site and send its points, largest first, to the cheapest open site with room."""
    best, best_to = np.inf, None
    for j in np.flatnonzero(count > 0):
        members = np.flatnonzero(plan == j)
        room = data.capacity - load
        room[j] = -1
        room[count == 0] = -1
        delta, to = -data.fixed[j], {}
        for i in members[np.argsort(-data.demand[members])]:
            options = np.where(room >= data.demand[i], cost[i], np.inf)
            k = int(np.argmin(options))
            if not np.isfinite(options[k]):
                delta = np.inf
                break
            room[k] -= data.demand[i]
            delta += options[k] - now[i]
            to[i] = k
        if delta < best:
            best, best_to = delta, to

    def apply(p):
        for i, k in best_to.items():
            p[i] = k
    return float(best), apply


def _best_opening(data, plan, cost, now, load, count):
    """Open one closed site and move to it the points it saves most on per unit of demand, while
    they fit: Δ = f_j - savings - the fixed costs of sites left empty."""
    best, best_site, best_moved = np.inf, -1, None
    for j in np.flatnonzero(count == 0):
        saving = now - cost[:, j]
        order = np.argsort(-saving / np.maximum(data.demand, 1))
        room, moved, delta = int(data.capacity[j]), [], float(data.fixed[j])
        left = count.copy()
        for i in order:
            if saving[i] <= 0:
                break
            if data.demand[i] <= room:
                room -= int(data.demand[i])
                moved.append(i)
                delta -= saving[i]
                left[plan[i]] -= 1
                if left[plan[i]] == 0:
                    delta -= data.fixed[plan[i]]
        if moved and delta < best:
            best, best_site, best_moved = delta, j, moved

    def apply(p):
        p[best_moved] = best_site
    return float(best), apply
