import itertools
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planning.graduates import TargetedStudentModel, allocate_targeted_students
from planning.inputs import Scenario

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "planning"


def check_constraints(plan):
    """Every constraint of FORMULATION.md §2 on the integer output."""
    m, sc = plan.model, plan.model.scenario
    rows = plan.allocation_rows()
    for r in rows:
        assert 0 <= r["intake"] <= m.applicants.get((r["county"], r["programme"], r["intake_year"]), 0)
        assert r["graduation_year"] == r["intake_year"] + sc.years_of_study[r["programme"]]
        assert r["vacancies"] == m.vacancies.get((r["county"], r["programme"], r["graduation_year"]), 0)
        assert r["unmet"] == max(r["vacancies"] - r["intake"], 0)
        assert r["surplus"] == max(r["intake"] - r["vacancies"], 0)
    for p in ("primary", "preschool"):
        for t in sc.intake_years:
            assert sum(r["intake"] for r in rows if r["programme"] == p and r["intake_year"] == t) \
                == sc.annual_intake[p]


def brute_force(weights, vacancies, applicants, scenario):
    """Least objective over every intake; each programme and intake year is independent."""
    total = 0
    for p in ("primary", "preschool"):
        for t in scenario.intake_years:
            counties = sorted(weights)
            best = None
            for y in itertools.product(*(range(applicants.get((c, p, t), 0) + 1) for c in counties)):
                if sum(y) != scenario.annual_intake[p]:
                    continue
                cost = 0
                for c, got in zip(counties, y):
                    need = vacancies.get((c, p, t + scenario.years_of_study[p]), 0)
                    cost += weights[c] * max(need - got, 0) + scenario.surplus_penalty * max(got - need, 0)
                best = cost if best is None or cost < best else best
            if best is None:
                return None
            total += best
    return total


POVERTY = {"A": "national", "B": "provincial", "C": "none"}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, 4), min_size=6, max_size=6), st.lists(st.integers(0, 4), min_size=6, max_size=6),
       st.integers(0, 6), st.integers(0, 3), st.integers(0, 12))
def test_objective_matches_brute_force(apps, vacs, intake, preschool_intake, penalty):
    scenario = Scenario.from_dict({"annual_intake": {"primary": intake, "preschool": preschool_intake},
                                   "intake_years": [2018, 2019], "surplus_penalty": penalty})
    keys = [(c, t) for c in "ABC" for t in (2018, 2019)]
    applicants = {(c, "primary", t): a for (c, t), a in zip(keys, apps)}
    applicants.update({(c, "preschool", 2018): 1 for c in "ABC"})
    applicants.update({(c, "preschool", 2019): 1 for c in "ABC"})
    vacancies = {(c, "primary", t + 4): v for (c, t), v in zip(keys, vacs)}
    vacancies.update({(c, "preschool", 2021): i for i, c in enumerate("ABC")})
    weights = {c: scenario.weights[POVERTY[c]] for c in "ABC"}
    expected = brute_force(weights, vacancies, applicants, scenario)
    counties = pd.DataFrame([{"code": c, "name": c, "poverty": POVERTY[c]} for c in "ABC"])
    needs = pd.DataFrame([{"county": c, "programme": p, "year": y, "vacancies": v} for (c, p, y), v in vacancies.items()])
    offered = pd.DataFrame([{"county": c, "programme": p, "year": y, "applicants": a}
                            for (c, p, y), a in applicants.items()])
    if expected is None:
        with pytest.raises(Exception, match="fewer than the annual intake"):
            TargetedStudentModel.from_frames(counties, needs, offered, scenario)
        return
    plan = TargetedStudentModel.from_frames(counties, needs, offered, scenario).solve("highs", 10, marginal=False)
    assert plan.status == "optimal"
    check_constraints(plan)
    assert plan.objective == expected


@pytest.fixture(scope="module")
def sample_plans():
    return {s: allocate_targeted_students(SAMPLE, solver=s, time_limit=30) for s in ("highs", "cbc")}


def test_sample_constraints_hold(sample_plans):
    for plan in sample_plans.values():
        assert plan.status == "optimal"
        check_constraints(plan)
        totals = plan.summary()["totals"]
        assert totals["intake"] == 3 * (200 + 100)


def test_highs_and_cbc_agree(sample_plans):
    assert sample_plans["highs"].objective == sample_plans["cbc"].objective
    assert sample_plans["highs"].marginal["counties"] == sample_plans["cbc"].marginal["counties"]


def test_marginal_value_of_one_more_applicant(make_data):
    data = make_data()
    model = TargetedStudentModel.from_files(data, Scenario.from_yaml(data / "scenario.yaml"))
    plan = model.solve("highs", 20)
    weights = model.weight
    for c in model.counties:
        for p in ("primary", "preschool"):
            more = dict(model.applicants)
            for t in model.scenario.intake_years:
                more[(c, p, t)] = more.get((c, p, t), 0) + 1
            expected = plan.objective - brute_force(weights, model.vacancies, more, model.scenario)
            assert plan.marginal["counties"][c][p] == expected


def test_view_model_has_what_a_report_needs(sample_plans):
    view = sample_plans["highs"].view_model()
    assert view["kind"] == "graduates" and view["status"] == "optimal"
    assert len(view["counties"]) == 18 and len(view["rows"]) == 18 * 2 * 3
    assert {"code", "name", "poverty", "intake", "unmet", "surplus"} <= set(view["counties"][0])
