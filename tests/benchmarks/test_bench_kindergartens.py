"""The country benchmark's own arithmetic: the estimate for N processes and the per-county file."""

import csv
import random

import pytest

from planning.kindergartens import KindergartenModel
from tests.planning.test_kindergartens import bench_kindergartens


@pytest.fixture(scope="module")
def bench():
    return bench_kindergartens()


@pytest.mark.parametrize("seconds, processes, wall", [
    ([3, 3, 3, 3], 2, 6),
    ([10, 1, 1, 1], 2, 10),  # the long county first: the others share the second process
    ([1, 1, 1, 10], 2, 11),  # the long county last: it starts only when a process is free
    ([2, 5, 4], 1, 11),
    ([2, 5, 4], 8, 5),
])
def test_wall_on_hands_each_county_to_the_first_free_process(bench, seconds, processes, wall):
    assert bench.wall_on(seconds, processes) == wall


def test_the_per_county_file_has_a_row_per_county_with_its_proven_stages(bench, tmp_path):
    counties = [bench.make_county(k, 12, random.Random(5)) for k in range(2)]
    plans = [KindergartenModel(c).solve("highs", 60) for c in counties]
    path = tmp_path / "counties.csv"
    bench.write_counties(str(path), plans)
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert [r["county"] for r in rows] == [c.code for c in counties]
    for row, plan in zip(rows, plans):
        assert row["status"] == plan.status
        assert row["proven_cost"] == str(plan.proven["cost"])
        assert row["proven_children_km"] == str(plan.proven["children_km"])
        assert int(row["cost"]) == plan.cost
