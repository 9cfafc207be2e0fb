"""planning.services: what the `fupin plan` commands do, without click."""

import shutil

import pytest

from common.errors import FupinError
from planning import services
from planning.kindergartens import CountyPlan, KindergartenCounty, KindergartenScenario, ProvincePlan
from planning.status import SolveStatus


def test_is_sample_compares_bytes_wherever_the_folder_lies(tmp_path, sample_dir):
    copy = tmp_path / "copy"
    shutil.copytree(sample_dir, copy)
    assert services.is_planning_sample(copy, "teachers") and services.is_planning_sample(copy, "graduates")
    (copy / "applicants.csv").write_bytes((copy / "applicants.csv").read_bytes() + b"\n")
    assert services.is_planning_sample(copy, "teachers") and not services.is_planning_sample(copy, "graduates")
    (copy / "counties.csv").unlink()
    assert not services.is_planning_sample(copy, "teachers")
    assert not services.is_planning_sample(copy, "kindergartens")  # no such kind of allocation run


def test_kindergarten_sample_needs_counties_csv_as_well(tmp_path):
    copy = tmp_path / "kg"
    shutil.copytree(services.KINDERGARTEN_SAMPLE, copy)
    assert services.is_kindergarten_sample(copy)
    (copy / "counties.csv").unlink()
    assert not services.is_kindergarten_sample(copy)
    assert not services.is_kindergarten_sample(tmp_path / "missing")


def test_select_counties_by_code_or_name():
    counties = [KindergartenCounty(code, name, [], []) for code, name in (("A", "甲县"), ("B", "乙县"), ("C", "丙县"))]
    assert services.select_counties(counties, ()) == counties
    assert [c.code for c in services.select_counties(counties, ["丙县", "A"])] == ["A", "C"]
    with pytest.raises(FupinError, match="--county X, Y: not in townships.csv; counties there: A, B, C"):
        services.select_counties(counties, ["X", "B", "Y"])


def test_kindergarten_messages_say_the_gap_once_and_warn_of_counties_without_a_plan(tmp_path):
    def county(code, status, gap=None, reason=""):
        return CountyPlan(code, code.lower(), status, "highs", reason=reason, cost=1_000_000,
                          children_km=12.34, gap=gap, seconds=1.0)
    plan = ProvincePlan(KindergartenScenario(), "highs", [
        county("A", SolveStatus.OPTIMAL, 0.0),
        county("B", SolveStatus.TIME_LIMIT_FEASIBLE, 0.0123),
        county("C", SolveStatus.TIME_LIMIT_FEASIBLE, None, "children-km not proven least"),
        CountyPlan("D", "d", SolveStatus.INFEASIBLE, "highs", reason="village V has 300 children"),
    ], 4.0, 1)
    messages = services.kindergarten_messages(plan, tmp_path, report_written=False)
    lines = [line for line, _ in messages]
    assert lines[0] == "A a: cost 1,000,000 yuan, 12.3 children-km, 1.0 s"
    assert lines[1] == "B b: cost 1,000,000 yuan, 12.3 children-km, 1.0 s, not proven optimal (relative gap 1.23%)"
    assert lines[2].endswith(", not proven optimal (gap unknown) (children-km not proven least)")
    assert messages[3] == ("warning: D d: no plan: infeasible: no allocation satisfies every constraint: "
                           "village V has 300 children", True)
    assert lines[4].startswith("total: 3/4 counties planned, cost 3,000,000 yuan")
    assert lines[5] == f"written: {tmp_path}/sites.csv, {tmp_path}/assignments.csv, {tmp_path}/summary.json"


def test_allocation_messages_warn_when_not_proven(tmp_path):
    summary = {"status": SolveStatus.TIME_LIMIT_FEASIBLE, "status_text": "stopped", "objective_name": "o",
               "objective": 3, "solver": "cbc", "seconds": 1.5}
    messages = services.allocation_messages(summary, tmp_path, ["allocation.csv"])
    assert messages[0] == ("status: time_limit_feasible (stopped)", False)
    assert messages[3] == ("warning: this allocation is not proven optimal; allow a longer --time-limit", True)
    assert messages[4] == (f"written: {tmp_path}/allocation.csv", False)
