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

import heapq
import itertools
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pulp

from .pricing import items_at_load, knapsack_by_load, knapsack_suffixes
from .solve import SolveResult, _swallow_highs_banner, int_value, run
from .status import SolveStatus

if TYPE_CHECKING:
    from .kindergartens import KindergartenModel

TOLERANCE = 1e-6
PRICING_TOLERANCE = 1.0  # yuan: a column entering must lower the cost by more than this
ENUMERATION_LIMIT = 200_000


@dataclass(frozen=True)
class ColumnSettings:
    """The exact column method's choices (KINDERGARTENS.md §4): subset-row cuts on triples of villages
    in the master, and the time given to the first plan."""

    rounds: int = 8  # separation rounds, each followed by column generation to convergence
    per_round: int = 30  # most violated cuts added per round
    per_village: int = 3  # cuts a village may enter per round (spreads the cuts over the county)
    violation: float = 0.05  # a triple's left side must exceed 1 by this much
    least_rise: float = 0.5  # in cost steps: a round that lifts z_LP by less ends the rounds
    first_plan_share: float = 0.2  # of the time left, for the master in integers over the first columns
    target_rise: float = 0.001  # of the branches' bound: the first target above it when the first plan is unproven


SETTINGS = ColumnSettings()


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


def subset_row_coefficient(served: tuple[int, ...], triple: tuple[int, int, int]) -> int:
    """⌊|S ∩ T| / 2⌋: 1 when a column serving S serves two or three villages of the triple T, else 0."""
    return sum(i in served for i in triple) // 2


def violated_subset_rows(served: list[tuple[int, ...]], values: np.ndarray, villages: int,
                         settings: ColumnSettings) -> list[tuple[int, int, int]]:
    """Triples T whose subset-row cut the master's solution λ violates, most violated first:

        Σ_j ⌊|S_j ∩ T| / 2⌋ λ_j ≤ 1

    (Jepsen, Petersen, Spoorendonk and Pisinger 2008). Every plan serving each village once meets
    it: at most one of its columns serves two villages of T. With w_ab = Σ_j λ_j [a, b ∈ S_j], the
    left side is w_ab + w_ac + w_bc - 2 Σ_j λ_j [a, b, c ∈ S_j].
    """
    support = [k for k, value in enumerate(values) if value > TOLERANCE and len(served[k]) >= 2]
    if not support:
        return []
    weight = np.asarray(values, dtype=float)[support]
    member = np.zeros((len(support), villages))
    for r, k in enumerate(support):
        member[r, list(served[k])] = 1.0
    pair = (member.T * weight) @ member
    found: dict[tuple[int, int, int], float] = {}
    for a in range(villages):
        partners = np.flatnonzero(pair[a, a + 1:] > TOLERANCE) + a + 1
        if not len(partners):
            continue
        both = member[:, [a]] * member[:, partners] * weight[:, None]  # columns holding a and b
        left = pair[a, partners][:, None] + pair[a][None, :] + pair[partners] - 2 * (both.T @ member)
        left[:, a] = 0.0
        left[np.arange(len(partners)), partners] = 0.0
        for row, c in zip(*np.nonzero(left > 1 + settings.violation)):
            found[tuple(sorted((a, int(partners[row]), int(c))))] = float(left[row, c])
    chosen, uses = [], np.zeros(villages, dtype=int)
    for triple in sorted(found, key=lambda t: -found[t]):
        if len(chosen) == settings.per_round:
            break
        if all(uses[i] < settings.per_village for i in triple):
            chosen.append(triple)
            uses[list(triple)] += 1
    return chosen


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
        # The most children any build at the site can take: one pricing table serves all its builds.
        self.most_held = {site: max((b.places + b.expand_max for b in options), default=0)
                          for site, options in self.builds.items()}
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
        # Σ_j n_j λ_j, the new kindergartens: free at the root, fixed to a count in a branch (dual ν).
        self.new_row = h.getNumRow()
        h.addRow(-inf, inf, 0, empty_i, empty_f)
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
        self.columns: list[Column] = []  # column k is HiGHS column artificial + k
        self._seen: set = set()
        self.cuts: list[tuple[int, int, int]] = []  # subset-row cuts: triples of villages
        self.cut_rows: list[int] = []
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
        if build.new:
            rows.append(self.new_row)
            values.append(1.0)
        hit = [self.cut_rows[c] for c, triple in enumerate(self.cuts) if subset_row_coefficient(served, triple)]
        rows += hit
        values += [1.0] * len(hit)
        self.h.addCol(float(column.cost), 0, self.highspy.kHighsInf, len(rows), np.array(rows, dtype=np.int32),
                      np.array(values))
        self.columns.append(column)
        return True

    def _price(self, site: str, duals: np.ndarray) -> tuple[float, list[tuple[tuple[int, ...], Build]]]:
        """A lower bound on the site's least reduced cost (0 if none is negative) and columns that improve.

        The knapsack ignores the subset-row cuts, whose duals σ ≤ 0 only add to a reduced cost: its
        least is a lower bound. When none of its columns improves once the cuts are counted, the
        columns within -PRICING_TOLERANCE are listed with the cuts counted (`_within`).
        """
        least, found = self._knapsack(site, duals)
        if not found or not self._penalties(duals):
            return least, found
        improving = [(served, build) for served, build in found
                     if self._reduced_of(site, served, build, duals) < -PRICING_TOLERANCE]
        if improving:
            return least, improving
        listed, _ = self._within(site, duals, -PRICING_TOLERANCE, 0, keep=3)
        # Every column left out costs more than the third listed or more than -PRICING_TOLERANCE.
        least = listed[0][2] if listed else -PRICING_TOLERANCE
        return least, [(served, build) for served, build, _ in listed]

    def _knapsack(self, site: str, duals: np.ndarray) -> tuple[float, list[tuple[tuple[int, ...], Build]]]:
        """The site's least reduced cost without the cuts (0 if none is negative) and the columns that improve."""
        sc = self.model.scenario
        builds, top = self.builds[site], self.most_held[site]
        # One table for every build: a set of exactly L children fits any build holding L.
        fit = [i for i in self.reach.get(site, []) if duals[i] > TOLERANCE and self.children[i] <= top]
        weights = [self.children[i] for i in fit]
        # best[L]: the largest sum of duals of villages with exactly L children in all.
        best, take = knapsack_by_load(weights, [duals[i] for i in fit], top)
        least, found = 0.0, []
        for build in builds:
            capacity = build.places + build.expand_max
            load = np.arange(capacity + 1)
            value = best[:capacity + 1] - sc.expand_cost_per_place * np.maximum(0, load - build.places)
            chosen_load = int(np.argmax(value))
            reduced = self._build_reduced(site, build, duals) - value[chosen_load]
            least = min(least, reduced)
            if reduced < -PRICING_TOLERANCE:
                served = [fit[k] for k in items_at_load(take, weights, chosen_load)]
                found.append((tuple(sorted(served)), build))
        return least, found

    def _build_reduced(self, site: str, build: Build, duals: np.ndarray) -> float:
        """The reduced cost of building `build` at `site` and serving nobody:
        f_b - μ_s - ρ_t (n + a) - ν n."""
        row = self.populous_row.get(self.township[site])
        rho = duals[row] if row is not None else 0.0
        return (build.fixed_cost - duals[self.site_row[site]] - rho * (build.new + build.attach)
                - duals[self.new_row] * build.new)

    def fix_new_count(self, count: int | None) -> None:
        """Σ_j n_j λ_j = count in the master LP from now on (None: free again)."""
        inf = self.highspy.kHighsInf
        self.h.changeRowBounds(self.new_row, *((-inf, inf) if count is None else (float(count), float(count))))

    def _penalties(self, duals: np.ndarray) -> dict[int, list[tuple[int, int, float]]]:
        """Village i -> (the triple's other two villages, -σ) for each cut with dual σ < 0 holding i.

        Duals of an LP solved before a cut was added count that cut with σ = 0.
        """
        out: dict[int, list[tuple[int, int, float]]] = {}
        for triple, row in zip(self.cuts, self.cut_rows):
            weight = -duals[row] if row < len(duals) else 0.0
            if weight > TOLERANCE:
                for k, i in enumerate(triple):
                    others = triple[:k] + triple[k + 1:]
                    out.setdefault(i, []).append((others[0], others[1], weight))
        return out

    def cut_penalty(self, served: tuple[int, ...], duals: np.ndarray) -> float:
        """-Σ_c σ_c ⌊|S ∩ T_c| / 2⌋ ≥ 0: what the subset-row cuts add to the reduced cost of a column serving S."""
        return sum(-duals[row] for triple, row in zip(self.cuts, self.cut_rows)
                   if row < len(duals) and duals[row] < 0 and subset_row_coefficient(served, triple))

    def _reduced_of(self, site: str, served: tuple[int, ...], build: Build, duals: np.ndarray) -> float:
        return self.reduced_cost(self._column(site, served, build), duals)

    def relax(self, deadline: float | None, bound: float = -math.inf) -> LinearMaster:
        """Price columns into the master LP until none has a negative reduced cost, or time is up.

        `bound` is a lower bound known already (from before cuts were added); the result's is at least it.
        """
        hs = self.highspy
        for v in self.villages:  # a seat's new kindergarten, serving nobody yet
            for build in self.builds[v.code]:
                if self.model.must_build_seat(v) and build.attach == 0:
                    self._add(v.code, (), build)
        iterations = 0
        while True:
            iterations += 1
            t0 = time.perf_counter()
            self.h.run()
            if self.h.getModelStatus() == hs.HighsModelStatus.kSolveError:
                # Seen after a count's row bounds changed (HiGHS 1.x warm start): from scratch it solves.
                self.h.clearSolver()
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
                  deadline: float | None = None) -> list[tuple[Column, float]] | None:
        """Every column whose reduced cost (cuts counted) is at most `slack`, with that reduced cost;
        None if more than `limit` or past `deadline`.

        A plan costing at most z_LP + slack uses only such columns (KINDERGARTENS.md §4).
        """
        out: list[tuple[Column, float]] = []
        for v in self.villages:
            if deadline is not None and time.perf_counter() > deadline:
                return None
            listed, complete = self._within(v.code, duals, slack, limit - len(out))
            if not complete:
                return None
            out += [(self._column(v.code, served, build), reduced) for served, build, reduced in listed]
        return out

    def _within(self, site: str, duals: np.ndarray, slack: float, limit: int,
                keep: int | None = None) -> tuple[list[tuple[tuple[int, ...], Build, float]], bool]:
        """The columns at `site` with reduced cost at most `slack`, subset-row cuts counted, as (served,
        build, reduced cost); and False when there are more than `limit` (the list then stops there).
        With `keep`, only the `keep` least of them (the slack tightens to the worst kept once full).

        Depth first over the villages by falling dual. A cut's penalty -σ ⌊|S ∩ T|/2⌋ enters when the
        second village of its triple does and never leaves, so a branch is cut when even the best
        duals still to come that fit (`knapsack_suffixes`) cannot bring it within `slack`; and the
        loop over the next village stops at the first from which even that cannot (the suffixes'
        bound only falls further on).
        """
        per_place = self.model.scenario.expand_cost_per_place
        penalties = self._penalties(duals)
        items = sorted(self.reach.get(site, []), key=lambda i: -duals[i])
        out: list[tuple[tuple[int, ...], Build, float]] = []
        kept: list[tuple[float, int, tuple[int, ...], Build]] = []  # a max-heap on reduced cost, by negation
        order = itertools.count()  # ties in the heap never reach the tuples behind
        builds, top = self.builds[site], self.most_held[site]
        # One table for every build: what fits a room of r children is the same whatever the build.
        fit = [i for i in items if self.children[i] <= top]
        weight = [self.children[i] for i in fit]
        gain = [max(0.0, float(duals[i])) for i in fit]
        # by_room[r][j]: what the villages from j on can still add within r children.
        by_room = knapsack_suffixes(weight, gain, top).T.tolist()
        # A cut's other two villages as bits of the positions in `fit` (0: never served here).
        bit = {i: 1 << j for j, i in enumerate(fit)}
        cut = [[(bit.get(a, 0), bit.get(b, 0), w) for a, b, w in penalties.get(i, ())] for i in fit]
        n = len(fit)
        for build in builds:
            capacity, places = build.places + build.expand_max, build.places
            expansion = [per_place * max(0, load - places) for load in range(capacity + 1)]
            base = self._build_reduced(site, build, duals)
            stack: list[tuple[int, int, float, int]] = [(0, 0, 0.0, 0)]
            while stack:
                k, load, value, mask = stack.pop()  # value: duals gained less cut penalties
                reduced = base - value + expansion[load]
                if reduced <= slack:
                    served = tuple(sorted(fit[j] for j in range(n) if mask >> j & 1))
                    if keep is not None:
                        heapq.heappush(kept, (-reduced, next(order), served, build))
                        if len(kept) > keep:
                            heapq.heappop(kept)
                        if len(kept) == keep:
                            slack = min(slack, -kept[0][0])
                    elif len(out) >= limit:
                        return out, False
                    else:
                        out.append((served, build, reduced))
                room = capacity - load
                within = by_room[room]
                need = reduced - slack  # what the villages still to come must add
                allowed = slack - base + value  # a child's expansion less its gains may reach this
                for j in range(k, n):
                    if within[j] < need:
                        break
                    c = weight[j]
                    if c > room:
                        continue
                    bound = expansion[load + c] - gain[j] - by_room[room - c][j + 1]
                    if bound > allowed:
                        continue
                    penalty = 0.0
                    for in_a, in_b, w in cut[j]:
                        if bool(mask & in_a) != bool(mask & in_b):
                            penalty += w
                    if bound + penalty > allowed:
                        continue
                    stack.append((j + 1, load + c, value + gain[j] - penalty, mask | 1 << j))
        if keep is not None:
            out = [(served, build, -negated) for negated, _, served, build in sorted(kept, reverse=True)]
        return out, True

    def add_subset_rows(self, settings: "ColumnSettings | None" = None) -> int:
        """Separate subset-row cuts on the master LP's solution and add them as rows; how many were added."""
        values = np.asarray(self.h.getSolution().col_value)[self.artificial:]
        triples = violated_subset_rows([c.served for c in self.columns], values, len(self.demand),
                                       settings or SETTINGS)
        for triple in triples:
            index = [self.artificial + k for k, c in enumerate(self.columns)
                     if subset_row_coefficient(c.served, triple)]
            self.cut_rows.append(self.h.getNumRow())
            self.cuts.append(triple)
            self.h.addRow(-self.highspy.kHighsInf, 1.0, len(index), np.array(index, dtype=np.int32),
                          np.ones(len(index)))
        return len(triples)

    def _column(self, site: str, served: tuple[int, ...], build: Build) -> Column:
        load = sum(self.children[i] for i in served)
        expand = max(0, load - build.places)
        return Column(site, tuple(sorted(served)), build, expand,
                      build.fixed_cost + self.model.scenario.expand_cost_per_place * expand)

    def reduced_cost(self, column: Column, duals: np.ndarray) -> float:
        return (self._build_reduced(column.site, column.build, duals) + column.cost - column.build.fixed_cost
                - sum(duals[i] for i in column.served) + self.cut_penalty(column.served, duals))

    def integer_master(self, columns: list[Column], solver: str, time_limit: float | None,
                       then_km: bool = False, start: list[Column] | None = None,
                       partition: bool = False, new_count: int | None = None,
                       cutoff: float | None = None) -> tuple[SolveResult, list[Column]]:
        """Choose columns in integers: least cost or, with `then_km`, least cost and then least children-km.

        With `partition` every village is served by exactly one chosen column, not at least one; with
        `new_count`, exactly that many new kindergartens are built. With `cutoff` (HiGHS's
        objective_bound) the search looks only at plans whose objective is at most `cutoff`: then
        "optimal" means the least of those, and "infeasible" or a plan above it means there is none.
        """
        began = time.perf_counter()
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
        if new_count is not None:
            prob += (pulp.LpAffineExpression([(var, 1) for var, c in zip(choose, unique) if c.build.new])
                     == new_count, "new_count")
        # Presolve's probing costs seconds on tens of thousands of columns and gains little here.
        options = {"presolve": "off"}
        if not then_km:
            prob.setObjective(pulp.LpAffineExpression([(var, c.cost) for var, c in zip(choose, unique)]))
            # Costs are whole cost steps: within less than one of the bound, the plan is proven.
            options["mip_abs_gap"] = 0.999 * self.step
        else:
            # One cost step outweighs every children-km a plan can have, so this is the lexicographic
            # order. Far faster than least children-km under "cost <= C*" (LD: 4.9 s against 22 s).
            prob.setObjective(pulp.LpAffineExpression([(var, self.lexicographic(c)) for var, c in zip(choose, unique)]))
            options["mip_abs_gap"] = 0.01  # km to the hundredth; run() closes the relative gap, which would hide them
        if cutoff is not None:
            # Prunes every node whose bound exceeds it: a branch with no plan within UB is proven so in
            # a fraction of the time of finding its own least cost (DF, k = 9: 0.8 s against 24 s).
            options["objective_bound"] = float(cutoff)
        values = None
        if start and solver == "highs":
            picked = set(start)
            values = {var.name: float(c in picked) for var, c in zip(choose, unique)}
        # The limit counts this building too (a pool of 57,000 columns: 1 s).
        left = None if time_limit is None else max(time_limit - (time.perf_counter() - began), 0.05)
        result = run(prob, solver, left, start=values, highs_options=options)
        self.solver_seconds += result.seconds
        if not result.has_solution:
            return result, []
        return result, [c for var, c in zip(choose, unique) if int_value(var) == 1]

    def exact_cover(self, chosen: list[Column]) -> list[Column]:
        """The plan of `chosen` as columns that serve each village once (the nearer site keeps it)."""
        served = self.plan(chosen).served
        return [self._column(c.site, tuple(i for i, d in enumerate(self.demand) if served[d.code] == c.site), c.build)
                for c in chosen]

    def km_weight(self) -> float:
        """W = Σ children × max_distance_km + 1, more than any plan's children-km."""
        return sum(self.children) * self.model.scenario.max_distance_km + 1

    def lexicographic(self, column: Column) -> float:
        """(c / g)·W + children-km: one cost step outweighs all distances, so the least sum over a
        plan's columns is least cost, then least children-km (KINDERGARTENS.md §4)."""
        return column.cost // self.step * self.km_weight() + self.children_km(column)

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
    enumerated: int | None = None  # the largest branch's pool
    cuts: int = 0  # subset-row cuts in the master
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
    for step in (_relax, _subset_rows, _first_plan, _split_by_new_count):
        finished = step(state)
        if finished is not None:
            return finished
    return _exact_master(state)


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
        self.first_plan_proven = False  # the first plan is the cheapest over the first columns
        self.branches: list[_Branch] = []  # the counts of new kindergartens a plan within UB may build
        self.next_count: dict[int, int | None] = {}  # per side (down -1, up +1), None once closed
        self.count_lp: dict[int, LinearMaster] = {}  # each count's master LP that converged (reached or ahead)
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


def _subset_rows(state: _ColumnRun) -> ColumnOutcome | None:
    """Rounds of subset-row cuts, each followed by column generation: z_LP rises, so fewer columns
    are within the gap. A round that does not converge in time is dropped: the last converged LP's
    duals stay valid, counting the newer cuts with σ = 0."""
    cg, out = state.cg, state.out
    if not state.lp.converged:
        return None
    state.lp = _cut_rounds(state, state.lp, SETTINGS.rounds)
    out.columns, out.cuts = len(cg.columns), len(cg.cuts)
    out.lower_bound = max(out.lower_bound or 0, round_up(state.lp.bound, cg.step))
    state.lap("subset_rows")
    return None


def _cut_rounds(state: _ColumnRun, lp: LinearMaster, rounds: int) -> LinearMaster:
    """Up to `rounds` rounds of subset-row cuts separated on the master LP's solution, each followed by
    column generation; the last LP that converged."""
    cg = state.cg
    for _ in range(rounds):
        if state.past_deadline() or not cg.add_subset_rows():
            break
        after = cg.relax(state.deadline, lp.bound)
        state.out.iterations += after.iterations
        if not after.converged:
            break
        rise, lp = after.value - lp.value, after
        if rise < SETTINGS.least_rise * cg.step:  # pricing with cuts costs more than such rounds gain
            break
    return lp


def _first_plan(state: _ColumnRun) -> ColumnOutcome | None:
    """A first plan: the master in integers over the generated columns, within 20% of the time left.

    The better it is, the fewer columns the exact step must list.
    """
    cg, out = state.cg, state.out
    remaining = state.left()
    limit = None if remaining is None else max(0.5, remaining * SETTINGS.first_plan_share)
    first, state.chosen = cg.integer_master(cg.columns, state.solver, limit)
    state.first_plan_proven = first.status == SolveStatus.OPTIMAL
    if state.chosen:
        out.plan = cg.plan(state.chosen)
    if not state.lp.converged or out.plan is None:
        return state.lap("restricted_master", "column generation did not finish" if not state.lp.converged
                         else "no plan among the generated columns")
    state.lap("restricted_master")
    return None


@dataclass
class _Branch:
    """The plans that build exactly `new_count` new kindergartens: their master LP and what is known of them."""

    new_count: int
    lp: LinearMaster
    bound: int  # every plan of the branch costs at least this
    pool: list[tuple[Column, float]] | None = None  # with reduced costs: every column of the branch's
    listed_to: int = 0                              # plans costing at most `listed_to`
    done: bool = False  # searched to the end: its best plan is the best so far, or it has none better


def _split_by_new_count(state: _ColumnRun) -> ColumnOutcome | None:
    """Branches on the number of new kindergartens: the master LP with Σ_j n_j λ_j = k, first at the
    two counts around the root LP's; `_next_count` adds the others as the exact step needs them.

    A new kindergarten costs far more than anything else, and the root LP opens fractions of several:
    fixing the count lifts z_k well above z_LP (TC: 29.02M at the root; 29.22M and 29.39M at 5
    and 6 against UB 29.24M).
    """
    cg, out = state.cg, state.out
    values = np.asarray(cg.h.getSolution().col_value)[cg.artificial:]
    middle = math.floor(sum(v for v, c in zip(values, cg.columns) if c.build.new) + 1e-6)
    state.next_count = {-1: middle, 1: middle + 1}
    for direction in (-1, 1):
        if not _next_count(state, direction):
            return state.lap("split", "no time left for the branches on new kindergartens", out_of_time=True)
    # The LP of the next count on each side too, kept aside until the search reaches that count: it
    # takes a fraction of a second, most counties need it later to close the side, and a county
    # stopped by the time limit has its bound from it (`_beyond`).
    for direction in (-1, 1):
        count = state.next_count[direction]
        if count is not None and count >= 0 and not state.past_deadline():
            _count_lp(state, count)
    out.columns = len(cg.columns)
    state.lap("split")
    return None


def _next_count(state: _ColumnRun, direction: int) -> bool:
    """The branch of the next count on one side (down: -1, up: +1), or that side closed; False when
    out of time.

    z_k is convex in k (an LP's value in its right-hand side), so the counts whose plans may cost at
    most UB form an interval, and it holds the best plan's count. A count beyond the best plan's
    whose bound exceeds UB therefore ends its side: every count farther out exceeds UB too.
    """
    cg, out = state.cg, state.out
    count, upper = state.next_count[direction], out.plan.cost
    if count < 0:
        state.next_count[direction] = None
        return True
    if state.past_deadline():
        return False
    lp = state.count_lp.get(count) or _count_lp(state, count)
    if not lp.converged:
        return False
    bound = round_up(lp.bound, cg.step)
    best_count = sum(c.build.new for c in state.chosen)
    if bound > upper and (count - best_count) * direction > 0:
        state.next_count[direction] = None
    else:
        state.branches.append(_Branch(count, lp, bound))
        state.next_count[direction] = count + direction
    return True


def _beyond(state: _ColumnRun, direction: int) -> int | None:
    """A lower bound on every plan whose count of new kindergartens lies beyond the last count reached
    on this side (down -1, up +1), or None when convexity gives none.

    z_k, the master LP with Σ_j n_j λ_j = k, is convex in k. So when the last count reached, k, has
    z_k ≥ z_(k - direction), every count further out has z ≥ z_k + (z_k - z_(k - direction)). Known
    are bounds: z_k at least its LP's Lagrangian bound, z_(k - direction) at most its LP's value.
    """
    count = state.next_count[direction]
    if count is None:
        return None
    known, found = state.count_lp, []
    # From the next count's own LP, solved ahead (`_split_by_new_count`): z ≥ its bound from there on;
    # from the last count reached: z ≥ its bound and the rise once more.
    for here, ahead in ((count, 0), (count - direction, 1)):
        before = here - direction
        if here in known and before in known:
            rise = known[here].bound - known[before].value
            if rise >= 0:
                found.append(round_up(known[here].bound + ahead * rise, state.cg.step))
    return max(found, default=None)


def _close_by_convexity(state: _ColumnRun) -> None:
    """Close each side whose counts not yet reached all cost more than the best plan (`_beyond`)."""
    for direction in (-1, 1):
        bound = _beyond(state, direction)
        if bound is not None and bound > state.out.plan.cost:
            state.next_count[direction] = None


def _count_lp(state: _ColumnRun, count: int) -> LinearMaster:
    """The master LP with Σ_j n_j λ_j = count, by column generation; kept in `count_lp` once converged."""
    cg = state.cg
    cg.fix_new_count(count)
    lp = cg.relax(state.deadline)
    state.out.iterations += lp.iterations
    cg.fix_new_count(None)
    if lp.converged:
        state.count_lp[count] = lp
    return lp


def _pool(state: _ColumnRun, branch: _Branch, upper: int) -> list[Column] | None:
    """Every column with reduced cost at most upper - z_k (+ margin): all that a plan of the branch
    costing at most `upper` can use. Listed once, to the largest `upper` asked, and filtered by
    reduced cost after. None when too many or out of time."""
    slack = upper - branch.lp.value + state.margin
    if branch.pool is None or branch.listed_to < upper:
        found = state.cg.enumerate(branch.lp.duals, slack, state.enumeration_limit, state.deadline)
        if found is None:
            return None
        branch.pool, branch.listed_to = found, upper
        state.out.enumerated = max(state.out.enumerated or 0, len(found))
    return [column for column, reduced in branch.pool if reduced <= slack]


def _in_branch(columns: list[Column], branch: _Branch) -> list[Column] | None:
    """`columns` when their plan is one of the branch's (a starting plan), else None."""
    return columns if sum(c.build.new for c in columns) == branch.new_count else None


def _exact_master(state: _ColumnRun) -> ColumnOutcome | None:
    """Both stages, exact: the least (cost, children-km) over every branch, the smallest pool first,
    each branch's master over its pool as an exact cover with its count of new kindergartens and the
    lexicographic objective (`lexicographic`), looking only at plans better than the best so far;
    more counts as they are needed.

    A branch's run that finishes gives its lexicographic optimum, or proves it has none better than
    the best plan: so the first stage's C* and the second stage's least children-km among all plans
    at C* come from the same runs (before, a second run per branch searched the km: DZ 4.6 s more).
    """
    cg, out = state.cg, state.out
    # From here every village is served by exactly one column: valid, because dropping a village a
    # plan serves twice from its farther site costs nothing, and the columns of that plan are in the
    # pool too (its cost is at most the first plan's). HiGHS proves the partition model faster
    # (SY: 13 s against 28 s; KINDERGARTENS.md §4). The first plan, so reduced, is a start.
    state.chosen = cg.exact_cover(state.chosen)
    stopped, failed = "", set()
    target, rise = _first_target(state)
    while True:
        upper = out.plan.cost
        target = min(target, upper)
        waiting = [b for b in state.branches
                   if not b.done and b.bound <= target and b.new_count not in failed]
        if not waiting:
            if target < upper:  # no plan within the target: every branch is bounded above it
                # By the same step each time: doubling it overshot into larger pools than the optimum
                # needs (C0035: 20,757 columns, unproven at 10 s; 11,299 this way, proven in 8.7 s).
                target = round_up(target + rise, cg.step)
                continue
            # Counts farther out only once the branches within reach are done: by then UB is lower.
            _close_by_convexity(state)
            sides = [d for d, count in state.next_count.items() if count is not None]
            if not sides:
                break
            if not all(_next_count(state, d) for d in sides):
                stopped = stopped or "no time left for the branches on new kindergartens"
                break
            continue
        # Every pool listed first, the smallest solved first: a better plan found there shrinks the others.
        pools = {}
        for branch in waiting:
            pool = _pool(state, branch, target)
            if pool is None:
                stopped = stopped or f"more than {state.enumeration_limit} columns within the gap, or no time left"
                failed.add(branch.new_count)
            else:
                pools[branch.new_count] = (branch, pool)
        if not pools:
            continue
        branch, pool = min(pools.values(), key=lambda found: len(found[1]))
        if state.past_deadline():
            stopped = stopped or "no time left for the exact search over columns"
            failed.add(branch.new_count)
            continue
        stopped = _solve_branch(state, branch, pool, target) or stopped
        if not branch.done and branch.bound <= target:  # stopped before the end
            failed.add(branch.new_count)
    # Counts not yet reached: by convexity where it gives a bound, else by the root's.
    _close_by_convexity(state)
    reached = all(count is None for count in state.next_count.values())
    beyond = [max(out.lower_bound or 0, _beyond(state, d) or 0)
              for d, count in state.next_count.items() if count is not None]
    out.lower_bound = min([out.plan.cost] + beyond + [b.bound for b in state.branches])
    if out.lower_bound < out.plan.cost:
        return state.lap("exact_master", stopped, out_of_time=True)
    out.status = SolveStatus.OPTIMAL
    # Least children-km among all plans at C*: every branch that may hold one was searched to the end.
    out.km_proven = reached and all(b.done for b in state.branches if b.bound <= out.plan.cost)
    return state.lap("exact_master", "" if out.km_proven else stopped)


def _solve_branch(state: _ColumnRun, branch: "_Branch", pool: list[Column], target: int) -> str:
    """The branch's master over `pool`, looking only at plans lexicographically better than the best
    so far (or, below UB, at plans costing at most `target`); what stopped it, "" when it finished."""
    cg, out = state.cg, state.out
    upper = out.plan.cost
    weight = cg.km_weight()
    if target == upper:
        # Plans at UB nearer than the best so far count too (half a children-km: HiGHS's tolerances).
        cutoff = sum(map(cg.lexicographic, state.chosen)) + 0.5
    else:
        cutoff = (target // cg.step + 1) * weight - 0.5  # every children-km at a cost up to the target
    start = _in_branch(state.chosen, branch) if target == upper else None
    result, chosen = cg.integer_master(pool + (start or []), state.solver, state.left(), then_km=True,
                                       start=start, partition=True, new_count=branch.new_count, cutoff=cutoff)
    value = sum(map(cg.lexicographic, chosen)) if chosen else math.inf
    if chosen and value < sum(map(cg.lexicographic, state.chosen)):
        out.plan, state.chosen = cg.plan(chosen), chosen
    if result.status in (SolveStatus.OPTIMAL, SolveStatus.INFEASIBLE):
        if value <= cutoff:  # the branch's best plan: it is the best so far now
            branch.done, branch.bound = True, max(branch.bound, cg.plan(chosen).cost)
        elif target == upper:  # none better than the best plan: none cheaper than UB
            branch.done, branch.bound = True, max(branch.bound, upper)
        else:
            branch.bound = max(branch.bound, target + cg.step)
        return ""
    if result.bound is not None:
        # A plan costing c has objective below (c / g + 1)·W, so c ≥ g·⌊bound / W⌋.
        least = int(math.floor(result.bound / weight + 1e-9)) * cg.step
        branch.bound = max(branch.bound, min(least, upper if target == upper else target + cg.step))
    if result.status == SolveStatus.TIME_LIMIT_FEASIBLE or result.status == SolveStatus.TIME_LIMIT_NO_SOLUTION:
        return "the exact search over columns stopped at the time limit"
    return "the exact search over columns: " + result.describe()


def _first_target(state: _ColumnRun) -> tuple[int, float]:
    """The cost up to which the branches are first searched, and by how much to raise it each time
    no plan is within it: UB when the first plan is the cheapest over the first columns, else the
    branches' least bound raised by `target_rise` of it.

    A first plan whose master stopped at its time limit is at times far from the optimum (HK under
    load: 109M against 54.1M), and even 0.3-0.7% above it the pools hold 25,000-48,000 columns
    (generated counties 0, 6, 9). Searching for plans within a target costs little (small pools, and
    a cutoff that prunes most of the search), and a target without a plan bounds every branch above
    it. A proven first plan is kept as UB: DF's (41.48M, 2.4% above the bound) is the optimum, and
    the targets below it took 2 s more.
    """
    cg, upper = state.cg, state.out.plan.cost
    lowest = min((b.bound for b in state.branches), default=upper)
    rise = max(lowest * SETTINGS.target_rise, cg.step)
    if state.first_plan_proven:
        return upper, rise
    return round_up(lowest + rise, cg.step), rise
