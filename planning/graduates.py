"""Targeted free-training students (定向免培生): intake per county, programme and year. See FORMULATION.md §2."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pulp

from .inputs import (PROGRAMMES, County, DataProblems, Scenario, check_counties, check_keyed_counts,
                     county_lookup, read_data_dir)
from .runs import run_view_model
from .solve import SolveResult, int_value, run
from .status import SolveStatus

MARGINAL_METHOD = ("re-solve with one more applicant for the county in every intake year of the programme; "
                   "value = how much the objective (weighted unmet + surplus penalty) falls")


def allocate_targeted_students(data_dir: str | Path, scenario: Scenario | str | Path | None = None,
                               solver: str = "highs", time_limit: float = 60) -> "TargetedStudentPlan":
    """Read `data_dir`, check it and solve; the plan's status says whether it holds an allocation."""
    if not isinstance(scenario, Scenario):
        scenario = Scenario.from_yaml(scenario)
    return TargetedStudentModel.from_files(data_dir, scenario).solve(solver, time_limit)


class TargetedStudentModel:
    """Intake y[c,p,t] from applicants, graduating in t + years[p] against that year's vacancies."""

    def __init__(self, counties: dict[str, County], vacancies: dict[tuple[str, str, int], int],
                 applicants: dict[tuple[str, str, int], int], scenario: Scenario):
        self.counties = counties
        self.vacancies = vacancies
        self.applicants = applicants
        self.scenario = scenario
        self.weight = {c: scenario.weights[county.poverty] for c, county in counties.items()}
        self._index = {c: i for i, c in enumerate(sorted(counties))}

    @classmethod
    def from_files(cls, data_dir: str | Path, scenario: Scenario | None = None) -> "TargetedStudentModel":
        frames = read_data_dir(data_dir, ("counties", "graduate_needs", "applicants"))
        return cls.from_frames(frames["counties"], frames["graduate_needs"], frames["applicants"], scenario)

    @classmethod
    def from_frames(cls, counties: pd.DataFrame, graduate_needs: pd.DataFrame, applicants: pd.DataFrame,
                    scenario: Scenario | None = None) -> "TargetedStudentModel":
        """Check the data and build the model; every problem found is listed in one FupinError."""
        scenario = scenario or Scenario()
        problems = DataProblems()
        county_map = check_counties(counties, problems, need_capacity=False)
        lookup = county_lookup(counties)
        allowed = {"programme": PROGRAMMES}
        vacancies = check_keyed_counts(graduate_needs, problems, lookup, ("programme", "year"), allowed, "vacancies")
        offered = check_keyed_counts(applicants, problems, lookup, ("programme", "year"), allowed, "applicants")
        model = cls(county_map, vacancies, offered, scenario)
        if not problems.lines:
            for p in PROGRAMMES:
                for t in scenario.intake_years:
                    have = model.applicants_total(p, t)
                    if have < scenario.annual_intake[p]:
                        problems.add(applicants, None, f"{p} {t}: {have} applicants in all counties, fewer than "
                                     f"the annual intake {scenario.annual_intake[p]}: lower annual_intake or "
                                     f"add applicants")
        problems.raise_if_any("targeted-student data")
        return model

    def applicants_total(self, programme: str, year: int) -> int:
        return sum(v for (_, p, t), v in self.applicants.items() if p == programme and t == year)

    def cells(self) -> list[tuple[str, str, int]]:
        """(county, programme, intake year) in output order."""
        return [(c, p, t) for c in sorted(self.counties) for p in PROGRAMMES for t in self.scenario.intake_years]

    def graduation_year(self, programme: str, intake_year: int) -> int:
        return intake_year + self.scenario.years_of_study[programme]

    def _build(self, applicants: dict[tuple[str, str, int], int]):
        sc = self.scenario
        prob = pulp.LpProblem("targeted_students", pulp.LpMinimize)
        y, unmet, surplus = {}, {}, {}
        for c, p, t in self.cells():
            name = f"{self._index[c]}_{p}_{t}"
            cap = applicants.get((c, p, t), 0)
            if cap > 0:
                y[(c, p, t)] = prob.add_variable(f"y_{name}", lowBound=0, upBound=cap, cat=pulp.LpInteger)
            unmet[(c, p, t)] = prob.add_variable(f"unmet_{name}", lowBound=0)
            surplus[(c, p, t)] = prob.add_variable(f"surplus_{name}", lowBound=0)
            need = self.vacancies.get((c, p, self.graduation_year(p, t)), 0)
            graduates = y.get((c, p, t), 0)
            prob += graduates - surplus[(c, p, t)] + unmet[(c, p, t)] == need, f"balance_{name}"
        for p in PROGRAMMES:
            for t in sc.intake_years:
                prob += (pulp.lpSum(y[k] for k in y if k[1] == p and k[2] == t) == sc.annual_intake[p],
                         f"intake_{p}_{t}")
        prob += (pulp.lpSum(self.weight[k[0]] * v for k, v in unmet.items())
                 + pulp.lpSum(sc.surplus_penalty * v for v in surplus.values()))
        return prob, y

    def objective_of(self, intake: dict[tuple[str, str, int], int]) -> int:
        """The objective of an intake, computed exactly from integers."""
        total = 0
        for c, p, t in self.cells():
            diff = intake[(c, p, t)] - self.vacancies.get((c, p, self.graduation_year(p, t)), 0)
            total += self.weight[c] * max(-diff, 0) + self.scenario.surplus_penalty * max(diff, 0)
        return total

    def solve(self, solver: str = "highs", time_limit: float = 60, marginal: bool = True) -> "TargetedStudentPlan":
        start = time.perf_counter()
        deadline = start + time_limit
        prob, y = self._build(self.applicants)
        result = run(prob, solver, time_limit)
        plan = TargetedStudentPlan(self, solver, result)
        if result.has_solution:
            plan.intake = {k: int_value(y.get(k)) for k in self.cells()}
            plan.objective = self.objective_of(plan.intake)
            if marginal:
                plan.marginal = self._marginal_values(solver, deadline, plan)
        plan.seconds = time.perf_counter() - start
        return plan

    def _marginal_values(self, solver: str, deadline: float, plan: "TargetedStudentPlan") -> dict:
        out = {"method": MARGINAL_METHOD, "counties": {}, "note": ""}
        if plan.result.status != SolveStatus.OPTIMAL:
            out["note"] = "not computed: the solve was not proven optimal"
            return out
        for c in sorted(self.counties):
            out["counties"][c] = {}
            for p in PROGRAMMES:
                value = None
                if time.perf_counter() < deadline:
                    more = dict(self.applicants)
                    for t in self.scenario.intake_years:
                        more[(c, p, t)] = more.get((c, p, t), 0) + 1
                    prob, y = self._build(more)
                    result = run(prob, solver, deadline - time.perf_counter())
                    if result.status == SolveStatus.OPTIMAL:
                        value = plan.objective - self.objective_of({k: int_value(y.get(k)) for k in self.cells()})
                out["counties"][c][p] = value
        if any(v is None for d in out["counties"].values() for v in d.values()):
            out["note"] = "null where the re-solve did not finish within the time limit"
        return out


@dataclass
class TargetedStudentPlan:
    model: TargetedStudentModel
    solver: str
    result: SolveResult
    intake: dict[tuple[str, str, int], int] | None = None
    objective: int | None = None
    marginal: dict | None = None
    seconds: float = 0.0
    kind: str = field(default="graduates", init=False)

    @property
    def status(self) -> str:
        return self.result.status

    @property
    def has_solution(self) -> bool:
        return self.intake is not None

    def describe(self) -> str:
        return self.result.describe()

    def allocation_rows(self) -> list[dict]:
        m = self.model
        rows = []
        for c, p, t in m.cells():
            g = m.graduation_year(p, t)
            need, got = m.vacancies.get((c, p, g), 0), self.intake[(c, p, t)]
            rows.append({"county": c, "programme": p, "intake_year": t, "intake": got, "graduation_year": g,
                         "vacancies": need, "unmet": max(need - got, 0), "surplus": max(got - need, 0)})
        return rows

    def summary(self) -> dict:
        m = self.model
        rows = self.allocation_rows()
        marginal = self.marginal or {}
        counties = {}
        for c, county in sorted(m.counties.items()):
            mine = [r for r in rows if r["county"] == c]
            counties[c] = {"name": county.name, "poverty": county.poverty, "weight": m.weight[c],
                           "intake": sum(r["intake"] for r in mine),
                           "vacancies": sum(r["vacancies"] for r in mine),
                           "unmet": sum(r["unmet"] for r in mine), "surplus": sum(r["surplus"] for r in mine),
                           "marginal_value_of_one_more_applicant": marginal.get("counties", {}).get(c)}
        return {
            "model": "targeted_students",
            "status": self.status,
            "status_text": self.describe(),
            "solver": self.solver,
            "seconds": round(self.seconds, 3),
            "first_solve_seconds": round(self.result.seconds, 3),
            "objective": self.objective,
            "objective_name": "weighted unmet vacancies + surplus_penalty x surplus graduates",
            "gap": self.result.gap,
            "totals": {k: sum(r[k] for r in rows) for k in ("intake", "vacancies", "unmet", "surplus")},
            "scenario": m.scenario.as_dict(),
            "marginal_values": {"method": marginal.get("method"), "note": marginal.get("note", "not computed")},
            "counties": counties,
        }

    def view_model(self) -> dict:
        """What a report needs: headline figures, one row per county, and the year-by-year rows."""
        return run_view_model(self, self.summary(), "graduates",
                              "定向免培生招生分配方案 Targeted free-training student intake")
