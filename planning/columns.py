"""Column generation for one county's kindergartens: a strong lower bound and a good plan, fast.

The county's model (KINDERGARTENS.md §2) is bin-packing-like: its LP relaxation splits villages
over half-built kindergartens, so branch and bound finds good plans slowly. Here every column is
one site's whole plan: the villages it serves and how it is built (new, attached, expanded). The
master chooses at most one column per site so that every village is served; pricing a site is a
knapsack over its villages' duals, solved by dynamic programming on the number of children (the
same `pricing.knapsack_by_load` as the facility-location engine, planning/site_columns.py).
See KINDERGARTENS.md §4.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pulp

from .pricing import items_at_load, knapsack_by_load
from .solve import SolveResult, _swallow_highs_banner, int_value, run
from .status import SolveStatus

if TYPE_CHECKING:
    from .kindergartens import KindergartenModel

TOLERANCE = 1e-6
PRICING_TOLERANCE = 1.0  # yuan: a column entering must lower the cost by more than this
ENUMERATION_LIMIT = 200_000


@dataclass(frozen=True)
class Build:
    """One way to build at a site: new and attached kindergartens, places before any expansion."""

    new: int
    attach: int
    places: int
    expand_max: int
    fixed_cost: int


@dataclass(frozen=True)
class Column:
    site: str
    served: tuple[int, ...]  # indexes into model.demand
    build: Build
    expand: int
    cost: int


def cost_step(model: "KindergartenModel") -> int:
    """Every plan costs a multiple of this, so a lower bound rounds up to it."""
    sc = model.scenario
    return math.gcd(sc.new_cost, sc.attach_cost, sc.expand_cost_per_place) or 1


def round_up(bound: float, step: int) -> int:
    """The least multiple of `step` at or above `bound` (a bound on a cost that is such a multiple)."""
    return int(math.ceil(bound / step - 1e-6) * step)


def builds(model: "KindergartenModel", village) -> list[Build]:
    sc = model.scenario
    must_new = model.must_build_seat(village)
    news = [1] if must_new else ([0, 1] if sc.new_capacity > 0 else [0])
    attaches = [0, 1] if model.can_attach(village) else [0]
    expand_max = sc.expand_max if model.can_expand(village) else 0
    out = []
    for new in news:
        for attach in attaches:
            places = village.kg_places + sc.attach_capacity * attach + sc.new_capacity * new
            if places == 0 and not new:
                continue  # no kindergarten, so it serves nobody and counts for nothing
            out.append(Build(new, attach, places, expand_max, sc.new_cost * new + sc.attach_cost * attach))
    return out


class ColumnGeneration:
    """The master LP over site plans, grown by pricing, then solved in integers over its columns."""

    def __init__(self, model: "KindergartenModel"):
        import highspy

        self.highspy = highspy
        self.model = model
        sc = model.scenario
        self.demand = model.demand
        self.children = [d.children for d in self.demand]
        index = {d.code: i for i, d in enumerate(self.demand)}
        self.reach: dict[str, list[int]] = {}
        for d in self.demand:
            for s, _ in model.reach[d.code]:
                self.reach.setdefault(s, []).append(index[d.code])
        self.villages = model.county.villages
        self.township = {v.code: v.township for v in self.villages}
        self.builds = {v.code: builds(model, v) for v in self.villages}
        self.step = cost_step(model)
        inf = highspy.kHighsInf
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        self.h = h
        empty_i, empty_f = np.array([], dtype=np.int32), np.array([], dtype=np.float64)
        demand_count = len(self.demand)
        if demand_count:
            h.addRows(demand_count, np.ones(demand_count), np.full(demand_count, inf), 0, empty_i, empty_i, empty_f)
        self.site_row: dict[str, int] = {}
        for v in self.villages:
            seat = model.must_build_seat(v)  # exactly one plan, and it builds new
            self.site_row[v.code] = h.getNumRow()
            h.addRow(1.0 if seat else -inf, 1.0, 0, empty_i, empty_f)
        self.populous_row: dict[str, int] = {}
        for t in model.county.townships:
            if need := model.kindergartens_to_add(t):
                self.populous_row[t.code] = h.getNumRow()
                h.addRow(float(need), inf, 0, empty_i, empty_f)
        # Artificial columns keep the master feasible while real columns are missing; one left in
        # the final LP means no plan exists. Their price is above any county's whole cost.
        self.big = float(100 * (sc.new_cost + sc.attach_cost + sc.expand_cost_per_place * sc.expand_max + 1)
                         * max(1, len(self.villages)))
        for i in range(demand_count):
            h.addCol(self.big, 0, inf, 1, np.array([i], dtype=np.int32), np.array([1.0]))
        for v in self.villages:
            if model.must_build_seat(v):
                h.addCol(self.big, 0, inf, 1, np.array([self.site_row[v.code]], dtype=np.int32), np.array([1.0]))
        for row in self.populous_row.values():
            h.addCol(self.big, 0, inf, 1, np.array([row], dtype=np.int32), np.array([2.0]))
        self.artificial = h.getNumCol()
        self.columns: list[Column] = []
        self._seen: set = set()
        self.solver_seconds = 0.0  # time inside HiGHS/CBC; the rest is pricing and model building
        self.distance = {(index[d.code], s): km for d in self.demand for s, km in model.reach[d.code]}

    def _add(self, site: str, served: tuple[int, ...], build: Build) -> bool:
        key = (site, served, build.new, build.attach)
        if key in self._seen:
            return False
        self._seen.add(key)
        column = self._column(site, served, build)
        rows = [*served, self.site_row[site]]
        values = [1.0] * len(rows)
        counted = build.new + build.attach
        if counted and self.township[site] in self.populous_row:
            rows.append(self.populous_row[self.township[site]])
            values.append(float(counted))
        self.h.addCol(float(column.cost), 0, self.highspy.kHighsInf, len(rows), np.array(rows, dtype=np.int32),
                      np.array(values))
        self.columns.append(column)
        return True

    def _price(self, site: str, duals: np.ndarray) -> tuple[float, list[tuple[tuple[int, ...], Build]]]:
        """The site's least reduced cost (0 if none is negative) and the columns that improve."""
        sc = self.model.scenario
        mu, rho = self._reduced(site, duals)
        items = [i for i in self.reach.get(site, []) if duals[i] > TOLERANCE]
        least, found = 0.0, []
        for build in self.builds[site]:
            capacity = build.places + build.expand_max
            fit = [i for i in items if self.children[i] <= capacity]
            weights = [self.children[i] for i in fit]
            # best[L]: the largest sum of duals of villages with exactly L children in all.
            best, take = knapsack_by_load(weights, [duals[i] for i in fit], capacity)
            load = np.arange(capacity + 1)
            value = best - sc.expand_cost_per_place * np.maximum(0, load - build.places)
            chosen_load = int(np.argmax(value))
            reduced = build.fixed_cost - value[chosen_load] - mu - rho * (build.new + build.attach)
            least = min(least, reduced)
            if reduced < -PRICING_TOLERANCE:
                served = [fit[k] for k in items_at_load(take, weights, chosen_load)]
                found.append((tuple(sorted(served)), build))
        return least, found

    def _reduced(self, site: str, duals: np.ndarray) -> tuple[float, float]:
        mu = duals[self.site_row[site]]
        row = self.populous_row.get(self.township[site])
        return mu, (duals[row] if row is not None else 0.0)

    def relax(self, deadline: float | None) -> LinearMaster:
        """Price columns into the master LP until none has a negative reduced cost, or time is up."""
        hs = self.highspy
        for v in self.villages:  # a seat's new kindergarten, serving nobody yet
            for build in self.builds[v.code]:
                if self.model.must_build_seat(v) and build.attach == 0:
                    self._add(v.code, (), build)
        bound, iterations = -math.inf, 0
        while True:
            iterations += 1
            t0 = time.perf_counter()
            self.h.run()
            self.solver_seconds += time.perf_counter() - t0
            if self.h.getModelStatus() != hs.HighsModelStatus.kOptimal:
                return LinearMaster(None, None, None, False, False, iterations)
            value = self.h.getInfo().objective_function_value
            duals = np.asarray(self.h.getSolution().row_dual)
            added, lagrangian = 0, value
            for v in self.villages:
                least, found = self._price(v.code, duals)
                lagrangian += least
                added += sum(self._add(v.code, served, build) for served, build in found)
            # Valid at every iteration because each site takes at most one column (KINDERGARTENS.md §4).
            bound = max(bound, lagrangian)
            if added == 0:
                artificial = np.asarray(self.h.getSolution().col_value)[:self.artificial]
                infeasible = bool(artificial.max(initial=0.0) > 1e-6)
                # Not z_LP itself: columns within PRICING_TOLERANCE of entering are left out.
                return LinearMaster(value, duals, bound, True, infeasible, iterations)
            if deadline is not None and time.perf_counter() > deadline:
                return LinearMaster(value, duals, bound, False, False, iterations)

    def enumerate(self, duals: np.ndarray, slack: float, limit: int,
                  deadline: float | None = None) -> list[Column] | None:
        """Every column whose reduced cost is at most `slack`; None if more than `limit` or past `deadline`.

        A plan costing at most z_LP + slack uses only such columns (KINDERGARTENS.md §4).
        """
        per_place = self.model.scenario.expand_cost_per_place
        out: list[Column] = []
        for v in self.villages:
            if deadline is not None and time.perf_counter() > deadline:
                return None
            mu, rho = self._reduced(v.code, duals)
            items = sorted(self.reach.get(v.code, []), key=lambda i: -duals[i])
            for build in self.builds[v.code]:
                capacity = build.places + build.expand_max
                fit = [i for i in items if self.children[i] <= capacity]
                gain = [max(0.0, duals[i]) for i in fit]
                rest = np.concatenate([np.cumsum(gain[::-1])[::-1], [0.0]]) if fit else np.zeros(1)
                base = build.fixed_cost - mu - rho * (build.new + build.attach)
                stack: list[tuple[int, int, float, tuple[int, ...]]] = [(0, 0, 0.0, ())]
                while stack:
                    k, load, value, served = stack.pop()
                    if base - value + per_place * max(0, load - build.places) <= slack:
                        out.append(self._column(v.code, served, build))
                        if len(out) > limit:
                            return None
                    for j in range(k, len(fit)):
                        c = self.children[fit[j]]
                        if load + c > capacity:
                            continue
                        # Later villages can only lower the reduced cost by their duals.
                        if base - value - gain[j] - rest[j + 1] + per_place * max(0, load + c - build.places) > slack:
                            continue
                        stack.append((j + 1, load + c, value + gain[j], served + (fit[j],)))
        return out

    def _column(self, site: str, served: tuple[int, ...], build: Build) -> Column:
        load = sum(self.children[i] for i in served)
        expand = max(0, load - build.places)
        return Column(site, tuple(sorted(served)), build, expand,
                      build.fixed_cost + self.model.scenario.expand_cost_per_place * expand)

    def reduced_cost(self, column: Column, duals: np.ndarray) -> float:
        mu, rho = self._reduced(column.site, duals)
        return (column.cost - sum(duals[i] for i in column.served) - mu
                - rho * (column.build.new + column.build.attach))

    def integer_master(self, columns: list[Column], solver: str, time_limit: float | None,
                       then_km: bool = False, start: list[Column] | None = None,
                       partition: bool = False) -> tuple[SolveResult, list[Column]]:
        """Choose columns in integers: least cost or, with `then_km`, least cost and then least children-km.

        With `partition` every village is served by exactly one chosen column, not at least one.
        """
        prob = pulp.LpProblem(f"kindergarten_master_{self.model.county.code}", pulp.LpMinimize)
        unique = list({(c.site, c.served, c.build): c for c in columns}.values())
        choose = [prob.add_variable(f"c_{j}", cat=pulp.LpBinary) for j in range(len(unique))]
        cover: dict[int, list] = {i: [] for i in range(len(self.demand))}
        at_site: dict[str, list] = {}
        counted: dict[str, list] = {}
        for var, column in zip(choose, unique):
            for i in column.served:
                cover[i].append((var, 1))
            at_site.setdefault(column.site, []).append((var, 1))
            if column.build.new + column.build.attach and self.township[column.site] in self.populous_row:
                counted.setdefault(self.township[column.site], []).append((var, column.build.new + column.build.attach))
        sense = pulp.LpConstraintEQ if partition else pulp.LpConstraintGE
        for i, terms in cover.items():
            prob += pulp.LpConstraint(pulp.LpAffineExpression(terms), sense, f"serve_{i}", 1)
        for v in self.villages:
            terms = at_site.get(v.code, [])
            if self.model.must_build_seat(v):
                prob += pulp.LpAffineExpression(terms) == 1, f"seat_{self.site_row[v.code]}"
            elif len(terms) > 1:
                prob += pulp.LpAffineExpression(terms) <= 1, f"site_{self.site_row[v.code]}"
        for t in self.model.county.townships:
            if t.code in self.populous_row:
                prob += (pulp.LpAffineExpression(counted.get(t.code, [])) >= self.model.kindergartens_to_add(t),
                         f"populous_{t.code}")
        # Presolve's probing costs seconds on tens of thousands of columns and gains little here.
        options = {"presolve": "off"}
        if not then_km:
            prob.setObjective(pulp.LpAffineExpression([(var, c.cost) for var, c in zip(choose, unique)]))
        else:
            # One cost step outweighs every children-km a plan can have, so this is the lexicographic
            # order. Far faster than least children-km under "cost <= C*" (LD: 4.9 s against 22 s).
            weight = sum(self.children) * self.model.scenario.max_distance_km + 1
            prob.setObjective(pulp.LpAffineExpression(
                [(var, c.cost // self.step * weight + self.children_km(c)) for var, c in zip(choose, unique)]))
            options.update(mip_rel_gap=0.0, mip_abs_gap=0.01)  # the relative gap would hide the km
        values = None
        if start and solver == "highs":
            picked = set(start)
            values = {var.name: float(c in picked) for var, c in zip(choose, unique)}
        result = run(prob, solver, time_limit, start=values, highs_options=options)
        self.solver_seconds += result.seconds
        if not result.has_solution:
            return result, []
        return result, [c for var, c in zip(choose, unique) if int_value(var) == 1]

    def exact_cover(self, chosen: list[Column]) -> list[Column]:
        """The plan of `chosen` as columns that serve each village once (the nearer site keeps it)."""
        served = self.plan(chosen).served
        return [self._column(c.site, tuple(i for i, d in enumerate(self.demand) if served[d.code] == c.site), c.build)
                for c in chosen]

    def children_km(self, column: Column) -> float:
        return sum(self.children[i] * self.distance[(i, column.site)] for i in column.served)

    def plan(self, chosen: list[Column]) -> Plan:
        """The chosen columns as a plan; a village covered twice goes to its nearer site."""
        sc = self.model.scenario
        new = {c.site: 1 for c in chosen if c.build.new}
        attach = {c.site: 1 for c in chosen if c.build.attach}
        served: dict[str, str] = {}
        for i, d in enumerate(self.demand):
            sites = [c.site for c in chosen if i in c.served]
            served[d.code] = min(sites, key=lambda s: (self.distance[(i, s)], s))
        load: dict[str, int] = {}
        for i, d in enumerate(self.demand):
            load[served[d.code]] = load.get(served[d.code], 0) + self.children[i]
        expand = {}
        for c in chosen:
            extra = load.get(c.site, 0) - c.build.places
            if extra > 0:
                expand[c.site] = extra
        cost = sc.new_cost * len(new) + sc.attach_cost * len(attach) + sc.expand_cost_per_place * sum(expand.values())
        return Plan(new, attach, expand, served, cost)


@dataclass(frozen=True)
class LinearMaster:
    value: float | None
    duals: np.ndarray | None
    bound: float | None  # a lower bound on every plan's cost (None: the LP failed)
    converged: bool
    infeasible: bool
    iterations: int


@dataclass(frozen=True)
class Plan:
    new: dict[str, int]
    attach: dict[str, int]
    expand: dict[str, int]
    served: dict[str, str]
    cost: int


@dataclass
class ColumnOutcome:
    """How far the columns got: `final` means the plan needs no compact solve after it."""

    status: str  # optimal, infeasible, or "partial" (the compact model goes on)
    lower_bound: int | None = None
    plan: Plan | None = None
    km_proven: bool = False
    columns: int = 0
    enumerated: int | None = None
    iterations: int = 0
    seconds: float = 0.0
    note: str = ""
    out_of_time: bool = False  # the time limit was reached: the note says where
    steps: dict = field(default_factory=dict)  # seconds per step, for benchmarks
    solver_seconds: float = 0.0

    @property
    def final(self) -> bool:
        return self.status in (SolveStatus.OPTIMAL, SolveStatus.INFEASIBLE)


PARTIAL = "partial"


def solve_by_columns(model: "KindergartenModel", solver: str = "highs", time_limit: float | None = None,
                     enumeration_limit: int | None = None) -> ColumnOutcome:
    """Both stages (least cost, then least children-km) over columns; exact when every step finishes.

    The steps run in order; each either hands on to the next or ends the run with what it has.
    """
    state = _ColumnRun(model, solver, time_limit,
                       ENUMERATION_LIMIT if enumeration_limit is None else enumeration_limit)
    for step in (_relax, _first_plan, _enumerate_within_gap, _exact_master):
        finished = step(state)
        if finished is not None:
            return finished
    return _children_km_master(state)


class _ColumnRun:
    """What the steps of `solve_by_columns` share: the columns, the clock, the outcome so far."""

    def __init__(self, model: "KindergartenModel", solver: str, time_limit: float | None, enumeration_limit: int):
        self.start = time.perf_counter()
        self.deadline = None if time_limit is None else self.start + time_limit
        self.solver = solver
        self.enumeration_limit = enumeration_limit
        _swallow_highs_banner()
        self.cg = ColumnGeneration(model)
        self.out = ColumnOutcome(PARTIAL)
        self.lp: LinearMaster | None = None
        self.chosen: list[Column] = []  # the columns of the best plan so far
        self.pool: list[Column] = []  # the columns the exact masters choose from (every one within the gap)
        # A plan's other columns may each be below 0 by up to PRICING_TOLERANCE (they were left out).
        self.margin = 1.0 + PRICING_TOLERANCE * len(self.cg.villages)

    def left(self) -> float | None:
        """Seconds left before the deadline (at least 0.05), None without a time limit."""
        return None if self.deadline is None else max(self.deadline - time.perf_counter(), 0.05)

    def past_deadline(self) -> bool:
        return self.deadline is not None and time.perf_counter() > self.deadline

    def lap(self, name: str, note: str = "", out_of_time: bool = False) -> ColumnOutcome:
        """Record the step `name` as done (its seconds, the running totals) and return the outcome."""
        out = self.out
        out.steps[name] = round(time.perf_counter() - self.start - sum(out.steps.values()), 3)
        out.solver_seconds = self.cg.solver_seconds
        out.seconds = time.perf_counter() - self.start
        out.note = note
        out.out_of_time = out_of_time
        return out


def _relax(state: _ColumnRun) -> ColumnOutcome | None:
    """Column generation: the master LP, its Lagrangian lower bound, and whether the county has no plan."""
    cg, out = state.cg, state.out
    lp = state.lp = cg.relax(state.deadline)
    out.iterations, out.columns = lp.iterations, len(cg.columns)
    if lp.bound is not None and lp.bound < cg.big:
        out.lower_bound = round_up(lp.bound, cg.step)
    if lp.infeasible:
        out.status = SolveStatus.INFEASIBLE
    if lp.value is None or lp.infeasible:
        return state.lap("relax", "" if lp.infeasible else "the master LP failed")
    state.lap("relax")
    return None


def _first_plan(state: _ColumnRun) -> ColumnOutcome | None:
    """A first plan: the master in integers over the generated columns, within 40% of the time left.

    The better it is, the fewer columns the exact step must list.
    """
    cg, out = state.cg, state.out
    remaining = state.left()
    limit = None if remaining is None else max(0.5, remaining * 0.4)
    _, state.chosen = cg.integer_master(cg.columns, state.solver, limit)
    if state.chosen:
        out.plan = cg.plan(state.chosen)
    if not state.lp.converged or out.plan is None:
        return state.lap("restricted_master", "column generation did not finish" if not state.lp.converged
                         else "no plan among the generated columns")
    state.lap("restricted_master")
    return None


def _enumerate_within_gap(state: _ColumnRun) -> ColumnOutcome | None:
    """Every column with reduced cost at most UB - z_LP (+ margin): all a plan costing at most UB can use."""
    cg, out = state.cg, state.out
    if state.past_deadline():
        return state.lap("enumerate", "no time left to enumerate", out_of_time=True)
    slack = out.plan.cost - state.lp.value + state.margin
    found = cg.enumerate(state.lp.duals, slack, state.enumeration_limit, state.deadline)
    if found is None:
        return state.lap("enumerate", f"more than {state.enumeration_limit} columns within the gap, "
                         "or no time left", out_of_time=True)
    out.enumerated = len(found)
    state.pool = cg.columns + found
    state.lap("enumerate")
    return None


def _exact_master(state: _ColumnRun) -> ColumnOutcome | None:
    """Stage 1, exact: the cheapest plan C* over the pool as an exact cover, from the first plan."""
    cg, out = state.cg, state.out
    # From here every village is served by exactly one column: valid, because dropping a village a
    # plan serves twice from its farther site costs nothing, and the columns of that plan are in the
    # pool too (its cost is at most the first plan's). HiGHS proves the partition model faster
    # (SY: 13 s against 28 s; KINDERGARTENS.md §4). The first plan, so reduced, is its start.
    first = cg.exact_cover(state.chosen)
    state.pool = state.pool + first
    best, chosen = cg.integer_master(state.pool, state.solver, state.left(), start=first, partition=True)
    if chosen and cg.plan(chosen).cost <= out.plan.cost:
        out.plan = cg.plan(chosen)
    if best.status != SolveStatus.OPTIMAL:
        if best.bound is not None:  # the pool holds every plan cheaper than the first one
            out.lower_bound = max(out.lower_bound or 0, min(out.plan.cost, round_up(best.bound, cg.step)))
        return state.lap("exact_master", "the exact search over columns stopped at the time limit"
                         if best.status == SolveStatus.TIME_LIMIT_FEASIBLE
                         else "the exact search over columns: " + best.describe(),
                         out_of_time=best.status in (SolveStatus.TIME_LIMIT_FEASIBLE,
                                                     SolveStatus.TIME_LIMIT_NO_SOLUTION))
    state.chosen = chosen
    state.lap("exact_master")
    out.status, out.lower_bound = SolveStatus.OPTIMAL, out.plan.cost
    return None


def _children_km_master(state: _ColumnRun) -> ColumnOutcome:
    """Stage 2, exact: least children-km among the plans costing C*, over the columns they can use."""
    cg, out = state.cg, state.out
    # Stage 2 needs only the columns of plans at the cheapest cost; none of their plans costs less.
    slack = out.plan.cost - state.lp.value + state.margin
    pool = [c for c in state.pool if cg.reduced_cost(c, state.lp.duals) <= slack]
    nearest, chosen = cg.integer_master(pool, state.solver, state.left(), then_km=True, start=state.chosen,
                                        partition=True)
    if nearest.has_solution and chosen:
        plan = cg.plan(chosen)
        if plan.cost <= out.plan.cost:
            out.plan = plan
            out.km_proven = nearest.status == SolveStatus.OPTIMAL
    return state.lap("children_km_master")
