"""The facility-location core against OR-Library's published optima (Beasley 1988)."""

import time
from pathlib import Path

import pytest

from planning.location import read_orlib_cap, solve_facility_location

REPO_ROOT = Path(__file__).resolve().parents[2]
# CI runs in a fresh clone with a copy of shared/ beside it; so does the development checkout.
ORLIB = REPO_ROOT.parent / "shared" / "reference" / "orlib-cap"

needs_orlib = pytest.mark.skipif(not ORLIB.is_dir(),
                                 reason=f"OR-Library reference data not found at {ORLIB} (shared/ beside the clone)")


def solve(name, single_source, solver="highs"):
    inst = read_orlib_cap(ORLIB / f"{name}.txt")
    return solve_facility_location(inst.fixed_cost, inst.capacity, inst.demand, inst.cost,
                                   single_source=single_source, solver=solver, time_limit=60)


def check_solution(name, result):
    """Recompute the objective from the returned plan and check every constraint."""
    inst = read_orlib_cap(ORLIB / f"{name}.txt")
    opened = set(result.open_sites)
    total = sum(inst.fixed_cost[j] for j in opened)
    load = {j: 0.0 for j in inst.capacity}
    for i, d in inst.demand.items():
        served = result.assignment[i]
        shares = {served: 1.0} if not isinstance(served, dict) else served
        assert sum(shares.values()) == pytest.approx(1.0, abs=1e-6)
        for j, f in shares.items():
            assert j in opened
            load[j] += d * f
            total += inst.cost[(i, j)] * f
    for j, used in load.items():
        assert used <= inst.capacity[j] + 1e-6
    assert total == pytest.approx(result.objective, rel=1e-6)


@needs_orlib
@pytest.mark.parametrize("name, single_source, optimum", [
    ("cap71", True, 932615.750),
    ("cap71", False, 932615.750),
    ("cap41", False, 1040444.375),
    ("cap131", True, 793439.562),
    ("cap131", False, 793439.562),
])
def test_orlib_optima(name, single_source, optimum):
    start = time.perf_counter()
    result = solve(name, single_source)
    assert result.status == "optimal", result.describe()
    assert result.objective == pytest.approx(optimum, rel=1e-6)
    check_solution(name, result)
    assert time.perf_counter() - start < 30


@needs_orlib
def test_cap41_single_source_is_infeasible_with_reason():
    result = solve("cap41", True)
    assert result.status == "infeasible"
    assert not result.has_solution and result.objective is None
    assert "12912" in result.reason and "single site" in result.reason
    assert "infeasible" in result.describe()


@needs_orlib
def test_cbc_agrees_on_cap71():
    assert solve("cap71", True, "cbc").objective == pytest.approx(932615.750, rel=1e-6)


def test_only_given_pairs_are_used_and_fractions_reported():
    fixed = {"A": 10, "B": 10}
    cap = {"A": 5, "B": 5}
    demand = {"p": 6, "q": 2}
    cost = {("p", "A"): 1, ("p", "B"): 1, ("q", "A"): 1}
    split = solve_facility_location(fixed, cap, demand, cost, single_source=False)
    assert split.status == "optimal"
    assert split.assignment["q"] == {"A": pytest.approx(1.0)}
    assert set(split.assignment["p"]) == {"A", "B"}
    assert sum(split.assignment["p"].values()) == pytest.approx(1.0)
    assert split.objective == pytest.approx(22)
    single = solve_facility_location(fixed, cap, demand, cost, single_source=True)
    assert single.status == "infeasible" and "point p" in single.reason


def test_point_without_allowed_site_is_named():
    result = solve_facility_location({"A": 1}, {"A": 9}, {"p": 1, "q": 1}, {("p", "A"): 1})
    assert result.status == "infeasible"
    assert "point q" in result.reason and "no allowed site" in result.reason


def test_infeasible_found_by_solver_has_a_reason():
    # Each point fits alone, but not both in the one site they may use.
    result = solve_facility_location({"A": 1, "B": 1}, {"A": 5, "B": 5}, {"p": 3, "q": 3},
                                     {("p", "A"): 1, ("q", "A"): 1})
    assert result.status == "infeasible" and result.reason
