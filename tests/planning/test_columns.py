"""Kindergarten columns (planning/columns.py): subset-row cuts, their pricing and enumeration, the split by
the number of new kindergartens; both stages checked against enumerating every plan of tiny counties."""

import dataclasses
import math
import types

import numpy as np
import pytest

import planning.columns as columns
from planning.columns import ColumnGeneration, solve_by_columns, subset_row_coefficient, violated_subset_rows
from planning.kindergartens import KindergartenModel, KindergartenScenario

from tests.planning.test_kindergartens import (_sample_county, _tiny_counties, _varied_tiny_counties,
                                              assert_both_stages_match_the_rules)

# Every triple some fractional column pair touches becomes a cut, violated or not: valid all the same
# for plans serving each village once, and many more penalties for pricing and enumeration to count.
EVERY_CUT = dataclasses.replace(columns.SETTINGS, violation=-1.0, per_round=60, per_village=60,
                                least_rise=-math.inf)


def _left_side(cg, triple, values):
    return sum(v for v, c in zip(values, cg.columns) if subset_row_coefficient(c.served, triple))


def test_subset_row_coefficient_is_half_the_villages_of_the_triple_rounded_down():
    assert [subset_row_coefficient(s, (1, 2, 3)) for s in [(), (1,), (1, 4), (1, 2), (2, 3, 9), (1, 2, 3)]] == \
        [0, 0, 0, 1, 1, 1]


def test_separation_finds_the_violated_triple_of_three_half_columns():
    # λ = 1/2 on {0,1}, {1,2}, {0,2}: the triple's left side is 3/2.
    cuts = violated_subset_rows([(0, 1), (1, 2), (0, 2), (3,)], np.array([0.5, 0.5, 0.5, 1.0]), 4,
                                columns.SETTINGS)
    assert cuts == [(0, 1, 2)]
    assert violated_subset_rows([(0, 1), (2,)], np.array([1.0, 1.0]), 3, columns.SETTINGS) == []


@pytest.mark.parametrize("code", ["CJ", "SY"])
def test_a_separated_cut_is_violated_by_the_lp_and_met_by_every_plan_found(code):
    model = KindergartenModel(_sample_county(code))
    cg = ColumnGeneration(model)
    assert cg.relax(None).converged
    values = np.asarray(cg.h.getSolution().col_value)[cg.artificial:]
    assert cg.add_subset_rows() > 0
    for triple in cg.cuts:
        assert _left_side(cg, triple, values) > 1 + columns.SETTINGS.violation - 1e-9
    outcome = solve_by_columns(model, "highs", 60)
    assert outcome.status == "optimal" and outcome.cuts > 0
    plan = outcome.plan
    by_site = {}
    for i, d in enumerate(cg.demand):
        by_site.setdefault(plan.served[d.code], set()).add(i)
    for triple in [*cg.cuts, *ColumnGeneration(model).cuts]:
        assert sum(len(served & set(triple)) // 2 for served in by_site.values()) <= 1


def _cj_with_cuts():
    """CJ's master LP after up to three rounds of every cut, and its duals."""
    cg = ColumnGeneration(KindergartenModel(_sample_county("CJ")))
    lp = cg.relax(None)
    for _ in range(3):
        if not cg.add_subset_rows(EVERY_CUT):
            break
        lp = cg.relax(None, lp.bound)
    return cg, np.asarray(cg.h.getSolution().row_dual)


def test_enumeration_with_cut_penalties_lists_exactly_the_columns_within_the_slack():
    # With cuts in the master, the listing that adds each cut's penalty as villages enter must give
    # the same columns as listing without the cuts (their duals set to 0) and then counting them.
    cg, duals = _cj_with_cuts()
    assert any(duals[row] < -1e-6 for row in cg.cut_rows)
    without = duals.copy()
    without[cg.cut_rows] = 0.0
    pruned = 0
    for slack in (0.0, 100_000.0, 400_000.0):
        with_cuts = {(c.site, c.served, c.build) for c, _ in cg.enumerate(duals, slack, 10 ** 6)}
        listed = [c for c, _ in cg.enumerate(without, slack, 10 ** 6)]
        reduced = {(c.site, c.served, c.build): cg.reduced_cost(c, duals) for c in listed}
        # Equal but for columns at the slack itself, whose sums may differ in the last bits.
        assert {k for k, r in reduced.items() if r <= slack - 1e-6} <= with_cuts
        assert with_cuts <= {k for k, r in reduced.items() if r <= slack + 1e-6}
        pruned += len(listed) - len(with_cuts)
    assert pruned > 0  # the penalties count


def test_listing_and_pricing_with_cuts_agree_with_every_subset_of_a_site():
    # Independent of the depth-first listing and its bounds: every subset of a small site's villages,
    # under every build that can hold it, its reduced cost by the column's own formula.
    from itertools import combinations
    cg, duals = _cj_with_cuts()
    small = [v.code for v in cg.villages if 3 <= len(cg.reach.get(v.code, [])) <= 11][:12]
    assert len(small) >= 4
    for site in small:
        every = {}
        villages = cg.reach[site]
        for size in range(len(villages) + 1):
            for served in combinations(sorted(villages), size):
                load = sum(cg.children[i] for i in served)
                for build in cg.builds[site]:
                    if load <= build.places + build.expand_max:
                        column = cg._column(site, served, build)
                        every[(served, build)] = cg.reduced_cost(column, duals)
        for slack in (-columns.PRICING_TOLERANCE, 200_000.0, 800_000.0):
            listed, complete = cg._within(site, duals, slack, 10 ** 6)
            assert complete
            assert {(s, b) for s, b, _ in listed} >= {k for k, r in every.items() if r <= slack - 1e-6}
            assert {(s, b) for s, b, _ in listed} <= {k for k, r in every.items() if r <= slack + 1e-6}
        least, found = cg._price(site, duals)
        best = min(every.values())
        if best < -columns.PRICING_TOLERANCE:
            assert least == pytest.approx(best, abs=1e-6)
            third = sorted(every.values())[min(2, len(every) - 1)]
            assert found and all(every[k] <= third + 1e-6 for k in found)
        else:
            assert least <= best + 1e-6 and all(every[k] < -columns.PRICING_TOLERANCE for k in found)


def test_pricing_with_cuts_reaches_the_lp_optimum_over_all_columns():
    # After the rounds, no column (cuts counted) has a negative reduced cost: the enumeration at
    # slack -PRICING_TOLERANCE finds none.
    model = KindergartenModel(_sample_county("BT"))
    cg = ColumnGeneration(model)
    lp = cg.relax(None)
    cg.add_subset_rows(EVERY_CUT)
    lp = cg.relax(None, lp.bound)
    assert lp.converged and cg.cuts
    assert cg.enumerate(lp.duals, -columns.PRICING_TOLERANCE, 10 ** 6) == []


@pytest.fixture
def every_cut(monkeypatch):
    monkeypatch.setattr(columns, "SETTINGS", EVERY_CUT)


def assert_tiny_counties_match_the_rules(tiny_seed: int, varied_seed: int) -> None:
    """Six tiny counties and six varied ones (with their own scenario), both stages against every plan."""
    scenario = KindergartenScenario(village_threshold=40, max_distance_km=4.0, expand_max=40)
    cases = [(c, None) for c in _tiny_counties(seed=tiny_seed, count=6)]
    cases += [(c, scenario) for c in _varied_tiny_counties(seed=varied_seed, count=6)]
    for county, sc in cases:
        assert_both_stages_match_the_rules(county, sc)


def test_with_many_cuts_both_stages_match_every_plan_enumerated(every_cut):
    assert_tiny_counties_match_the_rules(tiny_seed=11, varied_seed=5)


def test_the_split_covers_every_count_of_new_kindergartens_within_the_best_cost():
    # Both sides of counts end beyond the best plan's count, with a bound above its cost; the
    # counts reached form an interval holding the optimum's.
    model = KindergartenModel(_sample_county("CJ"))
    state = columns._ColumnRun(model, "highs", None, columns.ENUMERATION_LIMIT)
    for step in (columns._relax, columns._subset_rows, columns._first_plan, columns._split_by_new_count):
        assert step(state) is None
    assert len(state.branches) == 2
    outcome = columns._exact_master(state)
    assert state.next_count == {-1: None, 1: None}
    counts = sorted(b.new_count for b in state.branches)
    assert counts == list(range(counts[0], counts[-1] + 1))
    assert outcome.status == "optimal" and outcome.km_proven
    assert len(outcome.plan.new) in counts
    assert outcome.lower_bound == outcome.plan.cost == 39_940_000
    for edge in (counts[0], counts[-1]):
        branch = next(b for b in state.branches if b.new_count == edge)
        assert branch.bound > outcome.plan.cost or edge in (0, len(outcome.plan.new))


def _lp(value: float, bound: float) -> columns.LinearMaster:
    return columns.LinearMaster(value, None, bound, True, False, 0)


def test_counts_beyond_the_last_reached_are_bounded_by_convexity():
    # z_k is convex in k: once the LP rises from one count to the next, it rises at least as much
    # again one count further out. Known are bounds: z_k ≥ its bound, z_k ≤ its value.
    state = types.SimpleNamespace(cg=types.SimpleNamespace(step=10), next_count={-1: 3, 1: 7},
                                  count_lp={4: _lp(100.0, 98.0), 5: _lp(90.0, 89.0), 6: _lp(95.0, 94.0)})
    assert columns._beyond(state, -1) == 110  # 98 + (98 - 90), rounded up to the cost step
    assert columns._beyond(state, 1) == 100  # 94 + (94 - 90)
    state.count_lp[7] = _lp(120.0, 118.0)  # the next count's LP, solved ahead: its own bound
    assert columns._beyond(state, 1) == 120
    # Falling towards the side, or a side closed: no bound from convexity.
    state.count_lp, state.next_count = {4: _lp(90.0, 89.0), 5: _lp(100.0, 98.0)}, {-1: 3, 1: None}
    assert columns._beyond(state, -1) is None and columns._beyond(state, 1) is None
    # The bounds must rise, not merely the values: 4's bound 89.5 under 5's value 90 proves nothing.
    state.count_lp, state.next_count = {4: _lp(91.0, 89.5), 5: _lp(90.0, 89.0)}, {-1: 3, 1: None}
    assert columns._beyond(state, -1) is None


@pytest.mark.parametrize("code", ["TC", "CJ"])
def test_the_bound_beyond_the_counts_reached_holds_for_the_counts_further_out(code):
    # Each count's master LP further out than the split reached costs at least what `_beyond` says.
    state = columns._ColumnRun(KindergartenModel(_sample_county(code)), "highs", None, columns.ENUMERATION_LIMIT)
    for step in (columns._relax, columns._subset_rows, columns._first_plan, columns._split_by_new_count):
        assert step(state) is None
    step, checked, reached = state.cg.step, 0, sorted(state.count_lp)
    for direction in (-1, 1):
        if state.next_count[direction] is None:  # a side closed at the split: further out all the same
            state.next_count[direction] = reached[0] - 1 if direction < 0 else reached[-1] + 1
        bound = columns._beyond(state, direction)
        if bound is None:
            continue
        for count in range(state.next_count[direction], state.next_count[direction] + 3 * direction, direction):
            if count < 0:
                break
            lp = columns._count_lp(state, count)
            assert lp.converged and columns.round_up(lp.value, step) >= bound
            checked += 1
    assert checked >= 3


# Every search starts one cost step above the branches' bound, whatever the first plan: the targets
# below UB, each bounding the branches when no plan is within it, are used on every county.
FROM_THE_BOUND = dataclasses.replace(columns.SETTINGS, target_rise=0.0)


@pytest.fixture
def from_the_bound(monkeypatch):
    monkeypatch.setattr(columns, "SETTINGS", FROM_THE_BOUND)
    first_plan = columns._first_plan

    def unproven_first_plan(state):  # as when the first plan's master stops at its time limit
        finished = first_plan(state)
        state.first_plan_proven = False
        return finished

    monkeypatch.setattr(columns, "_first_plan", unproven_first_plan)


def test_searching_up_from_the_bound_keeps_both_stages_exact(from_the_bound):
    assert_tiny_counties_match_the_rules(tiny_seed=17, varied_seed=9)


@pytest.mark.parametrize("seed", [4, 12])
def test_searching_up_from_the_bound_matches_the_compact_model_on_generated_counties(from_the_bound, seed):
    from tests.planning.test_kindergartens import _generated_counties
    for county in _generated_counties(seed, count=2, villages=24):
        found = KindergartenModel(county).solve("highs", 60, method="columns")
        compact = KindergartenModel(county).solve("highs", 60, method="compact")
        assert found.method == "columns" and found.status == compact.status == "optimal"
        assert found.summary()["proven"] == {"cost": True, "children_km": True}
        assert found.cost == compact.cost
        assert found.children_km == pytest.approx(compact.children_km, rel=1e-6, abs=0.05)


def _df_with_an_unproven_first_plan():
    """DF after the split (first plan 41.48M, its optimum; branches' bound 40.48M), its first plan
    taken as unproven, as when the first plan's master stops at its time limit."""
    state = columns._ColumnRun(KindergartenModel(_sample_county("DF")), "highs", None, columns.ENUMERATION_LIMIT)
    for step in (columns._relax, columns._subset_rows, columns._first_plan, columns._split_by_new_count):
        assert step(state) is None
    state.first_plan_proven = False
    return state


def test_a_target_without_a_plan_bounds_every_branch_above_it():
    # The first target below UB finds no plan on DF (first plan 41.48M, branches' bound 40.48M): every
    # branch it searched is then bounded one step above it, and the search goes on to the optimum.
    state = _df_with_an_unproven_first_plan()
    target, _ = columns._first_target(state)
    assert min(b.bound for b in state.branches) < target < state.out.plan.cost
    for branch in [b for b in state.branches if b.bound <= target]:
        pool = columns._pool(state, branch, target)
        assert columns._solve_branch(state, branch, pool, target) == ""
        assert not branch.done and branch.bound == target + state.cg.step
    outcome = columns._exact_master(state)
    assert outcome.status == "optimal" and outcome.km_proven and outcome.plan.cost == 41_480_000


def test_each_target_without_a_plan_rises_by_the_same_step(monkeypatch):
    # DF from the bound (40.48M) to its optimum (41.48M): a step of target_rise each time, not doubled
    # (doubling overshot into pools larger than the optimum needs), and still exact.
    state = _df_with_an_unproven_first_plan()
    first, rise = columns._first_target(state)
    searched = []
    solve_branch = columns._solve_branch

    def recording(state, branch, pool, target):
        searched.append(target)
        return solve_branch(state, branch, pool, target)

    monkeypatch.setattr(columns, "_solve_branch", recording)
    outcome = columns._exact_master(state)
    assert outcome.status == "optimal" and outcome.km_proven and outcome.plan.cost == 41_480_000
    below = sorted({t for t in searched if t < 41_480_000})
    assert below[0] == first and len(below) >= 5
    assert max(b - a for a, b in zip(below, below[1:])) <= rise + state.cg.step
