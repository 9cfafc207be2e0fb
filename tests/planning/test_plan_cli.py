import csv
import json

import pytest
from click.testing import CliRunner

import commands.plan
from commands.plan import plan
from planning.inputs import County, Scenario
from planning.teachers import SpecialPostModel

SAMPLE = "data/planning"


def invoke(*args):
    return CliRunner().invoke(plan, [str(a) for a in args], catch_exceptions=False)


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch, request):
    monkeypatch.chdir(request.config.rootpath)
    monkeypatch.setattr(commands.plan, "report_writer", lambda: None)


def test_teachers_writes_allocation_and_summary(tmp_path):
    out = tmp_path / "runs" / "base"
    result = invoke("teachers", "--data", SAMPLE, "--out", out)
    assert result.exit_code == 0, result.output
    assert "status: optimal" in result.output
    rows = read_csv(out / "allocation.csv")
    assert list(rows[0]) == ["county", "stage", "shortage", "allocated", "unmet"]
    assert sum(int(r["allocated"]) for r in rows) == 400
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "optimal" and summary["solver"] == "highs"
    assert summary["objective"] == sum(summary["counties"][r["county"]]["weight"] * int(r["unmet"]) for r in rows)
    assert "re-solve" in summary["marginal_values"]["method"]
    assert summary["counties"]["WZS"]["name"] == "五指山市"
    assert sorted(p.name for p in out.iterdir()) == ["allocation.csv", "summary.json"]
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


def test_graduates_with_cbc_and_scenario(tmp_path):
    out = tmp_path / "g"
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: more-preschool\nannual_intake: {preschool: 105}\n", encoding="utf-8")
    result = invoke("graduates", "--data", SAMPLE, "--scenario", scenario, "--solver", "cbc", "--out", out)
    assert result.exit_code == 0, result.output
    rows = read_csv(out / "allocation.csv")
    assert list(rows[0]) == ["county", "programme", "intake_year", "intake", "graduation_year", "vacancies",
                             "unmet", "surplus"]
    assert sum(int(r["intake"]) for r in rows if r["programme"] == "preschool" and r["intake_year"] == "2019") == 105
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["solver"] == "cbc" and summary["scenario"]["name"] == "more-preschool"


def test_bad_data_is_a_message_and_nothing_is_written(make_data, tmp_path):
    data = make_data(teacher_needs__csv="county,stage,shortage\nXX,primary,2\nWZS,primary,-1\n")
    out = tmp_path / "out"
    result = invoke("teachers", "--data", data, "--out", out)
    assert result.exit_code == 1
    assert "Error:" in result.output and "'-1' is negative" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_infeasible_data_is_refused_before_solving(make_data, tmp_path):
    data = make_data()
    scenario = tmp_path / "s.yaml"
    scenario.write_text("total_posts: 2\npoverty_floor: 3\n", encoding="utf-8")
    result = invoke("teachers", "--data", data, "--scenario", scenario, "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert "the poverty floors add up to 6 posts, more than total_posts 2" in result.output
    assert not (tmp_path / "out").exists()


def test_infeasible_solve_is_said_in_words(monkeypatch, tmp_path):
    counties = {"A": County("A", "a", "national", 5), "B": County("B", "b", "national", 5)}
    model = SpecialPostModel(counties, {("A", "primary"): 5, ("B", "primary"): 5},
                             Scenario.from_dict({"total_posts": 3, "poverty_floor": 2}))
    monkeypatch.setattr(SpecialPostModel, "from_files", classmethod(lambda cls, *a: model))
    result = invoke("teachers", "--data", SAMPLE, "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert "no allocation: infeasible: no allocation satisfies every constraint" in result.output
    assert not (tmp_path / "out").exists()


def test_applicants_fewer_than_intake_message(tmp_path):
    scenario = tmp_path / "s.yaml"
    scenario.write_text("annual_intake: {primary: 400}\n", encoding="utf-8")
    result = invoke("graduates", "--data", SAMPLE, "--scenario", scenario, "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert "applicants in all counties, fewer than the annual intake 400" in result.output


def test_usage_errors(tmp_path):
    assert invoke("teachers", "--data", SAMPLE, "--out", tmp_path / "o", "--solver", "gurobi").exit_code == 2
    result = invoke("teachers", "--data", tmp_path / "none", "--out", tmp_path / "o")
    assert result.exit_code == 1 and "no such folder" in result.output
    bad = tmp_path / "s.yaml"
    bad.write_text("total_post: 1\n", encoding="utf-8")
    result = invoke("teachers", "--data", SAMPLE, "--scenario", bad, "--out", tmp_path / "o")
    assert result.exit_code == 1 and "unknown key 'total_post'" in result.output


def test_out_folder_with_other_files_is_refused(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    result = invoke("teachers", "--data", SAMPLE, "--out", out)
    assert result.exit_code == 1 and "holds files that are not from a planning run" in result.output
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_rerun_replaces_the_run_and_a_failed_run_keeps_it(tmp_path, monkeypatch):
    out = tmp_path / "run"
    assert invoke("teachers", "--data", SAMPLE, "--out", out).exit_code == 0
    scenario = tmp_path / "s.yaml"
    scenario.write_text("total_posts: 300\n", encoding="utf-8")
    assert invoke("teachers", "--data", SAMPLE, "--scenario", scenario, "--out", out).exit_code == 0
    assert sum(int(r["allocated"]) for r in read_csv(out / "allocation.csv")) == 300

    def broken_report(view, path):
        raise OSError(28, "No space left on device", str(path))
    monkeypatch.setattr(commands.plan, "report_writer", lambda: broken_report)
    result = invoke("teachers", "--data", SAMPLE, "--out", out)
    assert result.exit_code == 1 and "No space left on device" in result.output
    assert sum(int(r["allocated"]) for r in read_csv(out / "allocation.csv")) == 300
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "s.yaml"]


def test_report_writer_gets_the_view_model(tmp_path, monkeypatch):
    seen = {}

    def fake_report(view, path):
        seen.update(view)
        path.write_bytes(b"%PDF-1.7 fake")
    monkeypatch.setattr(commands.plan, "report_writer", lambda: fake_report)
    out = tmp_path / "run"
    assert invoke("teachers", "--data", SAMPLE, "--out", out).exit_code == 0
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF")
    assert seen["kind"] == "teachers" and len(seen["counties"]) == 18
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["report"] == "report.pdf"


def test_compare_two_runs(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert invoke("teachers", "--data", SAMPLE, "--out", a).exit_code == 0
    assert invoke("teachers", "--data", SAMPLE, "--scenario", f"{SAMPLE}/scenario_floor.yaml", "--out", b).exit_code == 0
    result = invoke("compare", a, b, "--changed-only")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[1].startswith(f"B: {b} (scenario equal-weights-floor-20, optimal")
    alloc_a = {r["county"]: 0 for r in read_csv(a / "allocation.csv")}
    for r in read_csv(a / "allocation.csv"):
        alloc_a[r["county"]] += int(r["allocated"])
    alloc_b = dict.fromkeys(alloc_a, 0)
    for r in read_csv(b / "allocation.csv"):
        alloc_b[r["county"]] += int(r["allocated"])
    changed = [c for c in alloc_a if alloc_a[c] != alloc_b[c]]
    assert f"{len(changed)} of 18 counties changed." in result.output
    csv_result = invoke("compare", a, b, "--format", "csv")
    rows = list(csv.DictReader(csv_result.output.splitlines()))
    for r in rows:
        assert int(r["allocated_change"]) == alloc_b[r["county"]] - alloc_a[r["county"]]
    assert {r["county"] for r in rows if r["allocated_change"] != "0"} == set(changed)


def test_compare_refuses_mixed_or_missing_runs(tmp_path):
    t, g = tmp_path / "t", tmp_path / "g"
    assert invoke("teachers", "--data", SAMPLE, "--out", t).exit_code == 0
    assert invoke("graduates", "--data", SAMPLE, "--out", g).exit_code == 0
    result = invoke("compare", t, g)
    assert result.exit_code == 1 and "cannot compare a teachers run with a graduates run" in result.output
    (tmp_path / "empty").mkdir()
    result = invoke("compare", t, tmp_path / "empty")
    assert result.exit_code == 1 and "summary.json is missing" in result.output


def test_help_has_examples():
    for command in ("teachers", "graduates", "compare"):
        text = invoke(command, "--help").output
        assert "Example:" in text and "fupin plan " + command in text
