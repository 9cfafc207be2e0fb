import itertools
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planning.inputs import County, Scenario
from planning.teachers import SpecialPostModel, allocate_special_posts

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "planning"


def check_constraints(plan):
    """Every constraint of FORMULATION.md §1 on the integer output."""
    m = plan.model
    rows = plan.allocation_rows()
    assert {(r["county"], r["stage"]) for r in rows} == set(m.shortage)
    for r in rows:
        assert isinstance(r["allocated"], int)
        assert 0 <= r["allocated"] <= r["shortage"]
        assert r["unmet"] == r["shortage"] - r["allocated"]
    for c in m.counties:
        got = sum(r["allocated"] for r in rows if r["county"] == c)
        assert got <= m.capacity[c]
        if m.counties[c].poverty != "none":
            assert got >= min(m.scenario.poverty_floor, m.capacity[c], m.county_shortage(c))
    assert sum(r["allocated"] for r in rows) <= m.scenario.total_posts


def brute_force(counties, shortage, scenario):
    """(least weighted unmet, then least largest unmet fraction) over every integer allocation."""
    keys = sorted(shortage)
    weight = {c: scenario.weights[p] for c, (p, _) in counties.items()}
    best = None
    for values in itertools.product(*(range(shortage[k] + 1) for k in keys)):
        x = dict(zip(keys, values))
        if sum(values) > scenario.total_posts:
            continue
        ok = True
        for c, (poverty, cap) in counties.items():
            got = sum(v for k, v in x.items() if k[0] == c)
            need = sum(v for k, v in shortage.items() if k[0] == c)
            if got > cap or (poverty != "none" and got < min(scenario.poverty_floor, cap, need)):
                ok = False
        if not ok:
            continue
        w = sum(weight[c] * (shortage[(c, s)] - x[(c, s)]) for c, s in keys)
        fractions = []
        for c in counties:
            need = sum(v for k, v in shortage.items() if k[0] == c)
            if need:
                fractions.append(Fraction(need - sum(v for k, v in x.items() if k[0] == c), need))
        key = (w, max(fractions, default=Fraction(0)))
        best = key if best is None or key < best else best
    return best


def frames(counties, shortage):
    c = pd.DataFrame([{"code": k, "name": f"county {k}", "poverty": p, "special_post_capacity": cap}
                      for k, (p, cap) in counties.items()])
    n = pd.DataFrame([{"county": k[0], "stage": k[1], "shortage": v} for k, v in shortage.items()])
    return c, n


instances = st.fixed_dictionaries({
    "caps": st.tuples(*(st.integers(0, 5) for _ in range(3))),
    "shortages": st.tuples(*(st.integers(0, 3) for _ in range(6))),
    "total": st.integers(0, 10),
    "floor": st.integers(0, 3),
})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances)
def test_objective_matches_brute_force(inst):
    counties = dict(zip(("A", "B", "C"), zip(("national", "provincial", "none"), inst["caps"])))
    keys = [(c, s) for c in ("A", "B", "C") for s in ("primary", "junior")]
    shortage = dict(zip(keys, inst["shortages"]))
    scenario = Scenario.from_dict({"total_posts": inst["total"], "poverty_floor": inst["floor"]})
    expected = brute_force(counties, shortage, scenario)
    model = _unchecked(counties, shortage, scenario)
    if expected is None:
        assert model.solve("highs", 10, marginal=False).status == "infeasible"
        return
    plan = model.solve("highs", 10, marginal=False)
    assert plan.status == "optimal"
    check_constraints(plan)
    assert (plan.objective, plan.largest_unmet_fraction()) == expected


def _unchecked(counties, shortage, scenario):
    """The model without the pre-solve checks, so the solver itself meets refused data too."""
    return SpecialPostModel({k: County(k, k, p, cap) for k, (p, cap) in counties.items()}, shortage, scenario)


def test_marginal_values_match_resolving_by_hand():
    counties = {"A": ("national", 2), "B": ("provincial", 3), "C": ("none", 4)}
    shortage = {("A", "primary"): 3, ("A", "junior"): 1, ("B", "primary"): 2, ("B", "junior"): 2,
                ("C", "primary"): 3, ("C", "junior"): 1}
    scenario = Scenario.from_dict({"total_posts": 7})
    plan = SpecialPostModel.from_frames(*frames(counties, shortage), scenario).solve("highs", 20)
    base = brute_force(counties, shortage, scenario)[0]
    assert plan.objective == base
    for c, (p, cap) in counties.items():
        more = brute_force({**counties, c: (p, cap + 1)}, shortage, scenario)[0]
        assert plan.marginal["counties"][c] == base - more
    more_posts = brute_force(counties, shortage, Scenario.from_dict({"total_posts": 8}))[0]
    assert plan.marginal["total_posts"] == base - more_posts
    assert plan.summary()["counties"]["A"]["marginal_value_of_one_more_post"] == plan.marginal["counties"]["A"]


@pytest.fixture(scope="module")
def sample_plans():
    return {s: allocate_special_posts(SAMPLE, solver=s, time_limit=30) for s in ("highs", "cbc")}


def test_sample_constraints_hold(sample_plans):
    for plan in sample_plans.values():
        assert plan.status == "optimal"
        check_constraints(plan)


def test_highs_and_cbc_agree(sample_plans):
    h, c = sample_plans["highs"], sample_plans["cbc"]
    assert h.objective == c.objective
    assert h.largest_unmet_fraction() == c.largest_unmet_fraction()
    assert h.marginal["counties"] == c.marginal["counties"]


def test_floor_scenario_holds_floors(sample_dir):
    plan = allocate_special_posts(sample_dir, sample_dir / "scenario_floor.yaml")
    assert plan.model.scenario.poverty_floor == 20
    check_constraints(plan)
    floors = plan.model.floors()
    got = {c: v[1] for c, v in plan.unmet_by_county().items()}
    assert all(got[c] >= f for c, f in floors.items()) and max(floors.values()) == 20


def test_infeasible_model_is_reported_not_read():
    counties = {"A": County("A", "a", "national", 5), "B": County("B", "b", "national", 5)}
    shortage = {("A", "primary"): 5, ("B", "primary"): 5}
    model = SpecialPostModel(counties, shortage, Scenario.from_dict({"total_posts": 3, "poverty_floor": 2}))
    for solver in ("highs", "cbc"):
        plan = model.solve(solver, 10)
        assert plan.status == "infeasible" and not plan.has_solution
        assert "no allocation satisfies every constraint" in plan.describe()
