"""The facility-location engine against OR-Library's published optima (Beasley 1988) and against an
independent compact model on generated instances."""

import itertools
import math
import random
import time
from pathlib import Path

import pulp
import pytest

from planning.location import read_orlib_cap, solve_facility_location
from planning.pricing import items_at_load, knapsack_by_load, knapsack_without_each
from planning.site_columns import Instance, branch_and_price

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


# ---------------------------------------------------------------------------------------------
# Generated instances against an independent compact model (written here, not the engine's)


def generated(seed, sites, points, ratio, allowed_share=1.0):
    """Sites and points uniform in a square; demand 10-50; capacities scaled to `ratio` times the
    demand; cost = distance x demand / 10 (whole numbers); a share of the pairs allowed."""
    rng = random.Random(seed)
    where = {j: (rng.uniform(0, 100), rng.uniform(0, 100)) for j in range(sites)}
    at = {i: (rng.uniform(0, 100), rng.uniform(0, 100)) for i in range(points)}
    demand = {f"p{i}": rng.randint(10, 50) for i in range(points)}
    raw = [rng.uniform(100, 500) for _ in range(sites)]
    scale = ratio * sum(demand.values()) / sum(raw)
    capacity = {f"s{j}": max(50, round(raw[j] * scale)) for j in range(sites)}
    fixed = {f"s{j}": rng.randint(100, 400) for j in range(sites)}
    cost = {}
    for i in range(points):
        near = sorted(range(sites), key=lambda j: math.dist(at[i], where[j]))
        for j in near[:max(1, round(allowed_share * sites))]:
            cost[(f"p{i}", f"s{j}")] = round(math.dist(at[i], where[j]) * demand[f"p{i}"] / 10)
    return fixed, capacity, demand, cost


def compact_optimum(fixed, capacity, demand, cost, single_source):
    """min Σ f y + Σ c x, Σ_j x_ij = 1, Σ_i d_i x_ij <= u_j y_j, x_ij <= y_j; None when infeasible."""
    prob = pulp.LpProblem("check", pulp.LpMinimize)
    y = {j: prob.add_variable(f"y_{k}", cat=pulp.LpBinary) for k, j in enumerate(capacity)}
    x = {p: prob.add_variable(f"x_{k}", 0, 1, cat=pulp.LpBinary if single_source else pulp.LpContinuous)
         for k, p in enumerate(cost)}
    prob += pulp.lpSum(fixed[j] * y[j] for j in y) + pulp.lpSum(cost[p] * x[p] for p in x)
    for i in demand:
        prob += pulp.lpSum(x[p] for p in x if p[0] == i) == 1
    for j in capacity:
        prob += pulp.lpSum(demand[p[0]] * x[p] for p in x if p[1] == j) <= capacity[j] * y[j]
    for (i, j), var in x.items():
        prob += var <= y[j]
    prob.solve(pulp.HiGHS(msg=False, gapRel=0.0, gapAbs=1e-6))
    if pulp.LpStatus[prob.status] == "Infeasible":
        return None
    assert prob.status == pulp.LpStatusOptimal and prob.sol_status == pulp.LpSolutionOptimal
    return pulp.value(prob.objective)


def check_plan(instance, result):
    fixed, capacity, demand, cost = instance
    opened = set(result.open_sites)
    total = sum(fixed[j] for j in opened)
    load = {j: 0.0 for j in capacity}
    for i, d in demand.items():
        served = result.assignment[i]
        shares = {served: 1.0} if not isinstance(served, dict) else served
        assert sum(shares.values()) == pytest.approx(1.0, abs=1e-6)
        for j, f in shares.items():
            assert j in opened and (i, j) in cost
            load[j] += d * f
            total += cost[(i, j)] * f
    assert all(load[j] <= capacity[j] + 1e-6 for j in capacity)
    assert total == pytest.approx(result.objective, rel=1e-9)


@pytest.mark.parametrize("seed, sites, points, ratio, share", [
    (1, 6, 25, 1.3, 1.0), (2, 8, 30, 1.5, 1.0), (3, 8, 40, 2.0, 0.5), (4, 10, 40, 1.4, 0.6),
    (5, 5, 20, 3.0, 1.0), (6, 12, 50, 1.6, 0.4),
])
def test_single_source_matches_an_independent_compact_model(seed, sites, points, ratio, share):
    instance = generated(seed, sites, points, ratio, share)
    expected = compact_optimum(*instance, single_source=True)
    result = solve_facility_location(*instance, single_source=True, time_limit=60)
    if expected is None:
        assert result.status == "infeasible" and result.reason
        return
    assert result.status == "optimal", result.describe()
    assert result.method == "columns"
    assert result.objective == pytest.approx(expected, abs=1e-6)
    assert result.bound == pytest.approx(expected, abs=1e-6) and result.gap == 0
    check_plan(instance, result)


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_splittable_matches_an_independent_compact_model(seed):
    instance = generated(seed, 8, 30, 1.3, 0.7)
    expected = compact_optimum(*instance, single_source=False)
    result = solve_facility_location(*instance, single_source=False, time_limit=60)
    assert result.status == "optimal", result.describe()
    assert result.objective == pytest.approx(expected, rel=1e-6)
    check_plan(instance, result)


def test_branching_and_fixing_are_exercised_and_exact():
    # Tight capacities: the master LP opens sites by fractions, so the search branches.
    instance = generated(21, 12, 60, 1.3)
    expected = compact_optimum(*instance, single_source=True)
    result = solve_facility_location(*instance, single_source=True, time_limit=120)
    assert result.status == "optimal"
    assert result.objective == pytest.approx(expected, abs=1e-6)
    assert result.steps["root_bound"] < expected - 1e-6  # a gap was closed by the search
    assert result.steps["nodes"] >= 1
    check_plan(instance, result)


@pytest.mark.parametrize("finish_at_root", [True, False])
def test_the_root_finished_by_the_compact_model_or_by_branching_is_exact(finish_at_root):
    instance = generated(21, 12, 60, 1.3)
    expected = compact_optimum(*instance, single_source=True)
    data = Instance.of(*instance)
    found = branch_and_price(data, deadline=time.perf_counter() + 120, finish_at_root=finish_at_root)
    assert found.proven and found.upper == pytest.approx(expected, abs=1e-6)
    assert data.plan_cost(found.plan) == pytest.approx(expected, abs=1e-6) and data.fits(found.plan)
    assert found.steps["root_bound"] < expected - 1e-6
    if finish_at_root:  # fixing left fewer pairs, and the compact model proved the rest
        left = found.steps["root_pairs_left"]
        assert left[0] < len(instance[3]) and left == sorted(left, reverse=True)
        assert 1 <= found.steps["compact"] <= 5 and found.steps["branchings"] == 0
    else:
        assert found.steps["branchings"] >= 1


def test_engine_and_compact_method_agree():
    instance = generated(31, 7, 30, 1.5)
    columns = solve_facility_location(*instance, time_limit=60)
    compact = solve_facility_location(*instance, time_limit=60, method="compact")
    assert columns.status == compact.status == "optimal"
    assert columns.objective == pytest.approx(compact.objective, abs=1e-6)
    assert compact.method == "compact"


def test_infeasible_together_though_each_point_fits_alone_gets_a_reason():
    # Two sites of capacity 50, three points of 30: each fits anywhere, not all three (single source).
    fixed, capacity = {"A": 1, "B": 1}, {"A": 50, "B": 50}
    demand = {"p": 30, "q": 30, "r": 30}
    cost = {(i, j): 1 for i in demand for j in capacity}
    result = solve_facility_location(fixed, capacity, demand, cost, single_source=True, time_limit=30)
    assert result.status == "infeasible" and result.reason
    assert not result.has_solution and result.objective is None
    split = solve_facility_location(fixed, capacity, demand, cost, single_source=False, time_limit=30)
    assert split.status == "optimal" and split.objective == pytest.approx(2 + 3)


def test_time_limit_is_honoured_with_an_honest_gap():
    instance = generated(41, 30, 200, 1.5)
    start = time.perf_counter()
    result = solve_facility_location(*instance, single_source=True, time_limit=3)
    assert time.perf_counter() - start < 3 + 6  # the last LP or knapsack round may run over
    assert result.status in ("time_limit_feasible", "time_limit_no_solution", "optimal")
    if result.status == "time_limit_feasible":
        assert result.bound is not None and result.bound <= result.objective
        assert result.gap == pytest.approx((result.objective - result.bound) / result.objective)
        check_plan(instance, result)
    if result.status == "time_limit_no_solution":
        assert result.objective is None


def test_fractional_demands_go_to_the_compact_model():
    fixed, capacity = {"A": 5, "B": 7}, {"A": 2.5, "B": 2.5}
    demand = {"p": 1.5, "q": 1.25, "r": 0.5}
    cost = {(i, j): 1 + (j == "B") for i in demand for j in capacity}
    result = solve_facility_location(fixed, capacity, demand, cost, single_source=True)
    assert result.status == "optimal" and result.method == "compact"
    assert result.objective == pytest.approx(compact_optimum(fixed, capacity, demand, cost, True))


def test_knapsack_tables_against_enumeration():
    rng = random.Random(5)
    for _ in range(200):
        n, capacity = rng.randint(1, 6), rng.randint(0, 25)
        weights = [rng.randint(0, 10) for _ in range(n)]
        values = [rng.uniform(0.1, 9) for _ in range(n)]
        subsets = [s for r in range(n + 1) for s in itertools.combinations(range(n), r)]

        def best(cap, banned=None):
            fits = [sum(values[k] for k in s) for s in subsets
                    if banned not in s and sum(weights[k] for k in s) <= cap]
            return max(fits) if fits else -math.inf
        exact, take = knapsack_by_load(weights, values, capacity)
        for load in range(capacity + 1):
            chosen = items_at_load(take, weights, load)
            if exact[load] > -math.inf:
                assert sum(weights[k] for k in chosen) == load
                assert sum(values[k] for k in chosen) == pytest.approx(exact[load])
        at_most, without = knapsack_without_each(weights, values, capacity)
        assert max(exact) == pytest.approx(best(capacity))
        for c in range(capacity + 1):
            assert at_most[c] == pytest.approx(best(c))
        for k in range(n):
            assert without[k] == pytest.approx(best(capacity - weights[k], banned=k))
