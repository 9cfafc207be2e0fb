"""`fupin plan compare` of two kindergarten runs: cost, children-km and actions county by county."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from cli import cli
from planning.compare import compare_runs, to_csv

KG = Path(__file__).resolve().parents[2] / "data" / "kindergartens"


def run(tmp_path: Path, name: str, counties: list[str], scenario: str = "") -> Path:
    out = tmp_path / name
    args = ["plan", "kindergartens", "--data", str(KG), "--time-limit", "5", "--no-report", "--out", str(out)]
    for code in counties:
        args += ["--county", code]
    if scenario:
        (tmp_path / f"{name}.yaml").write_text(scenario, encoding="utf-8")
        args += ["--scenario", str(tmp_path / f"{name}.yaml")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return out


def test_two_kindergarten_runs_compare_county_by_county(tmp_path):
    a = run(tmp_path, "base", ["BT"])
    b = run(tmp_path, "near", ["BT", "YP"], "name: near\nmax_distance_km: 4.5\n")
    view = compare_runs(a, b)
    assert view["kind"] == "kindergartens" and view["a"]["scenario"] == "default" and view["b"]["scenario"] == "near"
    rows = {r["county"]: r for r in view["rows"]}
    import json

    summary_b = json.loads((b / "summary.json").read_text(encoding="utf-8"))
    assert rows["BT"]["b"]["cost"] == summary_b["counties"]["BT"]["cost"]
    assert rows["YP"]["a"]["cost"] == 0 and rows["YP"]["changed"]
    km = rows["BT"]["change"]["children_km"]
    assert km == round(rows["BT"]["b"]["children_km"] - rows["BT"]["a"]["children_km"], 3)
    assert "children_km_change" in to_csv(view).splitlines()[0]
    pdf = tmp_path / "compare.pdf"
    result = CliRunner().invoke(cli, ["plan", "compare", str(a), str(b), "--pdf", str(pdf), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "BT" in result.output and pdf.read_bytes().startswith(b"%PDF")


def test_a_kindergarten_run_does_not_compare_with_a_teacher_run(tmp_path):
    a = run(tmp_path, "base", ["BT"])
    teachers = tmp_path / "teachers"
    result = CliRunner().invoke(cli, ["plan", "teachers", "--data", str(KG.parent / "planning"), "--out", str(teachers)])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(cli, ["plan", "compare", str(a), str(teachers)])
    assert result.exit_code == 1 and "cannot compare a kindergartens run with a teachers run" in result.output
