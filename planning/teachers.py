"""Special-post teachers (特岗教师): posts per county and school stage. See FORMULATION.md §1."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pulp

from .inputs import (STAGES, County, DataProblems, Scenario, check_counties, check_keyed_counts,
                     county_lookup, read_data_dir)
from .runs import run_view_model
from .solve import SolveResult, int_value, run
from .status import SolveStatus, status_sentence

MARGINAL_METHOD = ("re-solve of the first stage with the county's special_post_capacity + 1 "
                   "(and total_posts + 1 for the province); value = how much the weighted unmet "
                   "shortage falls")


def _scenario(scenario: Scenario | str | Path | None) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else Scenario.from_yaml(scenario)


def allocate_special_posts(data_dir: str | Path, scenario: Scenario | str | Path | None = None,
                           solver: str = "highs", time_limit: float = 60) -> "SpecialPostPlan":
    """Read `data_dir`, check it and solve; the plan's status says whether it holds an allocation."""
    return SpecialPostModel.from_files(data_dir, scenario).solve(solver, time_limit)


class SpecialPostModel:
    """Posts x[c,s] for county c and stage s; weighted unmet shortage first, fairness second."""

    def __init__(self, counties: dict[str, County], shortage: dict[tuple[str, str], int], scenario: Scenario):
        self.counties = counties
        self.shortage = dict(shortage)
        self.scenario = scenario
        self.weight = {c: scenario.weights[county.poverty] for c, county in counties.items()}
        self.capacity = {c: county.special_post_capacity or 0 for c, county in counties.items()}
        self._index = {c: i for i, c in enumerate(sorted(counties))}

    @classmethod
    def from_files(cls, data_dir: str | Path, scenario: Scenario | str | Path | None = None) -> "SpecialPostModel":
        frames = read_data_dir(data_dir, ("counties", "teacher_needs"))
        return cls.from_frames(frames["counties"], frames["teacher_needs"], _scenario(scenario))

    @classmethod
    def from_frames(cls, counties: pd.DataFrame, teacher_needs: pd.DataFrame,
                    scenario: Scenario | None = None) -> "SpecialPostModel":
        """Check the data and build the model; every problem found is listed in one FupinError."""
        scenario = scenario or Scenario()
        problems = DataProblems()
        county_map = check_counties(counties, problems, need_capacity=True)
        shortage = check_keyed_counts(teacher_needs, problems, county_lookup(counties), ("stage",),
                                      {"stage": STAGES}, "shortage")
        model = cls(county_map, shortage, scenario)
        if not problems.lines:
            floors = model.floors()
            if sum(floors.values()) > scenario.total_posts:
                problems.add(None, None, f"the poverty floors add up to {sum(floors.values())} posts, more than "
                             f"total_posts {scenario.total_posts}: lower poverty_floor or raise total_posts")
        problems.raise_if_any("special-post teacher data")
        return model

    def county_shortage(self, county: str) -> int:
        return sum(v for (c, _), v in self.shortage.items() if c == county)

    def floors(self) -> dict[str, int]:
        """The least each poverty county receives: min(poverty_floor, capacity, its total shortage)."""
        floor = self.scenario.poverty_floor
        return {c: min(floor, self.capacity[c], self.county_shortage(c))
                for c, county in self.counties.items() if county.poverty != "none"}

    def _build(self, capacity: dict[str, int], total_posts: int):
        prob = pulp.LpProblem("special_posts", pulp.LpMinimize)
        x = {(c, s): prob.add_variable(f"x_{self._index[c]}_{s}", lowBound=0, upBound=need, cat=pulp.LpInteger)
             for (c, s), need in sorted(self.shortage.items()) if need > 0}
        for c in self.counties:
            posts = [x[k] for k in x if k[0] == c]
            if posts:
                prob += pulp.lpSum(posts) <= capacity[c], f"capacity_{self._index[c]}"
        prob += pulp.lpSum(x.values()) <= total_posts, "total_posts"
        for c, least in self.floors().items():
            if least > 0:
                prob += pulp.lpSum(x[k] for k in x if k[0] == c) >= least, f"floor_{self._index[c]}"
        weighted_unmet = pulp.lpSum(self.weight[c] * need - self.weight[c] * x[(c, s)] if (c, s) in x
                                    else self.weight[c] * need for (c, s), need in self.shortage.items())
        return prob, x, weighted_unmet

    def _weighted_unmet(self, alloc: dict[tuple[str, str], int]) -> int:
        return sum(self.weight[c] * (need - alloc[(c, s)]) for (c, s), need in self.shortage.items())

    def solve(self, solver: str = "highs", time_limit: float = 60, marginal: bool = True) -> "SpecialPostPlan":
        start = time.perf_counter()
        deadline = start + time_limit
        prob, x, weighted_unmet = self._build(self.capacity, self.scenario.total_posts)
        prob += weighted_unmet
        first = run(prob, solver, time_limit)
        plan = SpecialPostPlan(self, solver, first)
        if not first.has_solution:
            plan.seconds = time.perf_counter() - start
            return plan
        alloc = {k: int_value(x.get(k)) for k in self.shortage}
        best = self._weighted_unmet(alloc)
        # Integer weights and posts make the weighted unmet an integer: <= best + 1/2 means <= best,
        # and leaves the solver room for its tolerances.
        prob += weighted_unmet <= best + 0.5, "first_stage_optimum"
        z = prob.add_variable("largest_unmet_fraction", lowBound=0, upBound=1)
        for c in self.counties:
            need = self.county_shortage(c)
            if need > 0:
                unmet = pulp.lpSum(self.shortage[k] - x[k] if k in x else self.shortage[k]
                                   for k in self.shortage if k[0] == c)
                prob += need * z >= unmet, f"fraction_{self._index[c]}"
        prob.setObjective(pulp.LpAffineExpression(z))
        plan.second = run(prob, solver, max(deadline - time.perf_counter(), 0.01))
        if plan.second.has_solution:
            alloc = {k: int_value(x.get(k)) for k in self.shortage}
        plan.allocation = alloc
        plan.objective = self._weighted_unmet(alloc)
        if marginal:
            plan.marginal = self._marginal_values(solver, deadline, plan)
        plan.seconds = time.perf_counter() - start
        return plan

    def _first_stage_optimum(self, capacity, total_posts, solver, deadline) -> int | None:
        prob, x, weighted_unmet = self._build(capacity, total_posts)
        prob += weighted_unmet
        result = run(prob, solver, deadline - time.perf_counter())
        if result.status != SolveStatus.OPTIMAL:
            return None
        return self._weighted_unmet({k: int_value(x.get(k)) for k in self.shortage})

    def _marginal_values(self, solver: str, deadline: float, plan: "SpecialPostPlan") -> dict:
        out = {"method": MARGINAL_METHOD, "counties": {}, "total_posts": None, "note": ""}
        if plan.first.status != SolveStatus.OPTIMAL:
            out["note"] = "not computed: the first stage was not proven optimal"
            return out
        base = plan.objective
        for c in sorted(self.counties):
            value = None
            if time.perf_counter() < deadline:
                better = self._first_stage_optimum({**self.capacity, c: self.capacity[c] + 1},
                                                   self.scenario.total_posts, solver, deadline)
                value = None if better is None else base - better
            out["counties"][c] = value
        if time.perf_counter() < deadline:
            better = self._first_stage_optimum(self.capacity, self.scenario.total_posts + 1, solver, deadline)
            out["total_posts"] = None if better is None else base - better
        if any(v is None for v in out["counties"].values()):
            out["note"] = "null where the re-solve did not finish within the time limit"
        return out


@dataclass
class SpecialPostPlan:
    model: SpecialPostModel
    solver: str
    first: SolveResult
    second: SolveResult | None = None
    allocation: dict[tuple[str, str], int] | None = None
    objective: int | None = None
    marginal: dict | None = None
    seconds: float = 0.0
    kind: str = field(default="teachers", init=False)

    @property
    def status(self) -> SolveStatus:
        """'optimal' only when both stages are proven optimal."""
        if not self.first.has_solution:
            return self.first.status
        second = self.second.status if self.second is not None else None
        if self.first.status == SolveStatus.OPTIMAL and second == SolveStatus.OPTIMAL:
            return SolveStatus.OPTIMAL
        return SolveStatus.TIME_LIMIT_FEASIBLE

    @property
    def has_solution(self) -> bool:
        return self.allocation is not None

    def describe(self) -> str:
        if not self.first.has_solution:
            return self.first.describe()
        if self.status == SolveStatus.OPTIMAL:
            return status_sentence(SolveStatus.OPTIMAL)
        parts = [f"first stage {self.first.describe()}"]
        if self.second is not None and self.second.status != SolveStatus.OPTIMAL:
            parts.append(f"second stage (fairness) {self.second.describe()}")
        return "; ".join(parts)

    def unmet_by_county(self) -> dict[str, tuple[int, int, int]]:
        """county -> (shortage, allocated, unmet)."""
        out = {}
        for c in self.model.counties:
            need = self.model.county_shortage(c)
            got = sum(v for (cc, _), v in self.allocation.items() if cc == c)
            out[c] = (need, got, need - got)
        return out

    def largest_unmet_fraction(self) -> Fraction:
        fractions = [Fraction(unmet, need) for need, _, unmet in self.unmet_by_county().values() if need > 0]
        return max(fractions, default=Fraction(0))

    def allocation_rows(self) -> list[dict]:
        order = {s: i for i, s in enumerate(STAGES)}
        rows = []
        for (c, s) in sorted(self.allocation, key=lambda k: (k[0], order[k[1]])):
            need, got = self.model.shortage[(c, s)], self.allocation[(c, s)]
            rows.append({"county": c, "stage": s, "shortage": need, "allocated": got, "unmet": need - got})
        return rows

    def summary(self) -> dict:
        m = self.model
        by_county = self.unmet_by_county()
        marginal = self.marginal or {}
        counties = {}
        for c, county in sorted(m.counties.items()):
            need, got, unmet = by_county[c]
            counties[c] = {"name": county.name, "poverty": county.poverty, "weight": m.weight[c],
                           "capacity": m.capacity[c], "shortage": need, "allocated": got, "unmet": unmet,
                           "marginal_value_of_one_more_post": marginal.get("counties", {}).get(c)}
        largest = self.largest_unmet_fraction()
        return {
            "model": "special_post_teachers",
            "status": self.status,
            "status_text": self.describe(),
            "solver": self.solver,
            "seconds": round(self.seconds, 3),
            "first_solve_seconds": round(self.first.seconds, 3),
            "objective": self.objective,
            "objective_name": "weighted unmet shortage (first stage)",
            "gap": self.first.gap,
            "second_stage": {
                "status": self.second.status if self.second else None,
                "objective_name": "largest unmet fraction of any county",
                "largest_unmet_fraction": f"{largest.numerator}/{largest.denominator}",
                "largest_unmet_percent": round(float(largest) * 100, 2),
            },
            "totals": {"shortage": sum(m.shortage.values()), "allocated": sum(self.allocation.values()),
                       "unmet": sum(m.shortage.values()) - sum(self.allocation.values()),
                       "total_posts": m.scenario.total_posts},
            "floors": m.floors(),
            "scenario": m.scenario.as_dict(),
            "marginal_values": {"method": marginal.get("method"), "total_posts": marginal.get("total_posts"),
                                "note": marginal.get("note", "not computed")},
            "counties": counties,
        }

    def view_model(self) -> dict:
        """What a report needs: headline figures, one row per county, and the stage detail."""
        summary = self.summary()
        return {**run_view_model(self, summary, "teachers", "特岗教师分配方案 Special-post teacher allocation"),
                "largest_unmet_percent": summary["second_stage"]["largest_unmet_percent"]}
