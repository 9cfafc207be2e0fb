"""Planning reports read back from the PDF: title, figures equal to allocation.csv, font, no fetches."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from pdfminer.high_level import extract_text

from cli import cli
from planning.teachers import SpecialPostModel
from reports import planning as plan_report
from reports import render

from .conftest import IMG, pdf_text, squash

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "planning"
SMALL = {
    "counties.csv": f'code,name,poverty,special_post_capacity\nWZS,"{IMG.replace(chr(34), chr(34) * 2)}",national,3\n'
                    "DF,东方市 $x$,provincial,4\nHK,海口市,none,5\n",
    "teacher_needs.csv": "county,stage,shortage\nWZS,primary,2\nWZS,junior,2\nDF,primary,3\nHK,primary,3\n",
}


def fupin(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def by_county(rows: list[dict], figures: tuple[str, ...]) -> dict[str, list[str]]:
    totals: dict[str, list[int]] = {}
    for r in rows:
        acc = totals.setdefault(r["county"], [0] * len(figures))
        for i, f in enumerate(figures):
            acc[i] += int(r[f])
    return {c: [str(v) for v in vs] for c, vs in totals.items()}


def cjk_font_embedded(pdf: Path) -> bool:
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    cjk = [ln for ln in fonts.splitlines() if "FupinCJK" in ln]
    return bool(cjk) and all(" yes yes yes " in ln for ln in cjk)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """Two teacher runs on the sample, as a planner makes them (report.pdf included)."""
    root = tmp_path_factory.mktemp("runs")
    base = fupin("plan", "teachers", "--data", SAMPLE, "--out", root / "base")
    assert base.exit_code == 0, base.output
    floor = fupin("plan", "teachers", "--data", SAMPLE, "--scenario", SAMPLE / "scenario_floor.yaml",
                  "--out", root / "floor")
    assert floor.exit_code == 0, floor.output
    return root


def test_teachers_report_is_chinese_and_its_figures_are_allocation_csv(runs):
    out = runs / "base"
    assert sorted(p.name for p in out.iterdir()) == ["allocation.csv", "report.pdf", "summary.json"]
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["report"] == "report.pdf"
    pdf = out / "report.pdf"
    text = pdf_text(pdf)
    assert text.lstrip().startswith("特岗教师分配方案")
    assert "最优：不存在更好的分配方案" in text and "示例数据" in squash(text)
    rows = read_csv(out / "allocation.csv")
    expected = by_county(rows, ("shortage", "allocated", "unmet"))
    lines = [ln.split() for ln in text.splitlines()]
    county_rows = {cells[0]: cells[5:8] for cells in lines if len(cells) == 9 and cells[0] in expected}
    assert county_rows == expected
    stage = {"primary": "小学", "junior": "初中", "preschool": "学前"}
    detail = [cells for cells in lines if len(cells) == 5 and cells[0] in expected]
    assert detail == [[r["county"], stage[r["stage"]], r["shortage"], r["allocated"], r["unmet"]] for r in rows]
    total = [cells for cells in lines if cells[:1] == ["合计"]][0]
    assert total[-3:] == [str(sum(int(r[k]) for r in rows)) for k in ("shortage", "allocated", "unmet")]
    assert cjk_font_embedded(pdf)


def test_graduates_report_in_english(tmp_path):
    out = tmp_path / "g"
    result = fupin("plan", "graduates", "--data", SAMPLE, "--lang", "en", "--out", out)
    assert result.exit_code == 0, result.output
    assert f"{out}/report.pdf" in result.output
    text = pdf_text(out / "report.pdf")
    assert "Targeted free-training student intake" in text and "synthetic sample" in text
    figures = ("vacancies", "intake", "unmet", "surplus")
    expected = by_county(read_csv(out / "allocation.csv"), figures)
    county_rows = {cells[0]: cells[4:8] for cells in (ln.split() for ln in text.splitlines())
                   if len(cells) >= 9 and cells[0] in expected and cells[2] in ("national", "provincial", "none")}
    assert county_rows == expected


def test_hostile_county_names_print_as_text_and_nothing_is_fetched(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for name, text in SMALL.items():
        (data / name).write_text(text, encoding="utf-8")
    plan = SpecialPostModel.from_files(data).solve("highs", 30)
    font = render.find_cjk_font()
    report = plan_report.build_plan_report(plan.view_model(), "zh", False, font)
    html = plan_report.jinja_env().get_template("planning.html").render(report=report, t=plan_report.LABELS["zh"])
    assert IMG not in html and "&lt;img" in html
    renderer = render.Renderer([html], font)
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(renderer.pdf(html))
    assert renderer.fetcher.refused == []
    assert sorted(renderer.fetcher.served) == ["fupin-static:fonts/report-cjk.ttf", "fupin-static:report.css"]
    text = squash(pdf_text(pdf, layout=False))
    assert squash(IMG) in text and "东方市$x$" in text and "示例数据" not in text
    assert "file:///etc/passwd" in squash(extract_text(pdf))


def test_non_sample_data_via_cli_has_no_synthetic_note(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for name, text in SMALL.items():
        (data / name).write_text(text, encoding="utf-8")
    (tmp_path / "s.yaml").write_text("total_posts: 5\n", encoding="utf-8")
    result = fupin("plan", "teachers", "--data", data, "--scenario", tmp_path / "s.yaml", "--out", tmp_path / "o")
    assert result.exit_code == 0, result.output
    text = pdf_text(tmp_path / "o" / "report.pdf")
    assert "示例数据" not in squash(text) and squash(IMG) in squash(text)


def test_time_limit_status_is_said_with_the_gap():
    zh, en = plan_report.LABELS["zh"], plan_report.LABELS["en"]
    assert plan_report.status_words("time_limit_feasible", 0.0123, zh) == \
        "在时间上限处停止：这是目前找到的最好方案，未证明最优 (相对差距 1.23%)"
    assert plan_report.status_words("time_limit_feasible", None, en).endswith("not proven optimal (gap unknown)")
    assert plan_report.status_words("optimal", None, zh) == "最优：不存在更好的分配方案"


def test_compare_writes_a_pdf_of_the_changes(runs, tmp_path):
    target = tmp_path / "floor-vs-base.pdf"
    result = fupin("plan", "compare", runs / "base", runs / "floor", "--pdf", target)
    assert result.exit_code == 0, result.output
    assert f"written: {target}" in result.stderr
    text = pdf_text(target)
    assert "特岗教师分配方案对比" in text and "分配方案 — 分配方案" not in text  # the title says it once
    a = by_county(read_csv(runs / "base" / "allocation.csv"), ("allocated",))
    b = by_county(read_csv(runs / "floor" / "allocation.csv"), ("allocated",))
    rows = {cells[0]: cells[5:8] for cells in (ln.split() for ln in text.splitlines())
            if len(cells) == 11 and cells[0] in a}
    changes = {c: int(b[c][0]) - int(a[c][0]) for c in a}
    assert rows == {c: [a[c][0], b[c][0], f"{changes[c]:+d}" if changes[c] else "0"] for c in a}
    assert any(changes.values())
    assert cjk_font_embedded(target)


def test_compare_pdf_errors_are_messages(runs, tmp_path):
    result = fupin("plan", "compare", runs / "base", runs / "floor", "--pdf", tmp_path / "missing" / "c.pdf")
    assert result.exit_code == 1 and "does not exist" in result.stderr
    result = fupin("plan", "teachers", "--data", SAMPLE, "--lang", "fr", "--out", tmp_path / "o")
    assert result.exit_code == 2 and not (tmp_path / "o").exists()


KINDERGARTEN_SAMPLE = ROOT / "data" / "kindergartens"
KINDERGARTEN_NOTE = {"zh": "示例数据为合成数据", "en": "Sample data are synthetic"}
SMALL_TOWNSHIPS = "code,county,name,population,seat\nT1,CA,甲镇,20000,V1\n"
SMALL_VILLAGES = ("code,township,name,x_km,y_km,children,primary_school,kg_places,kg_central\n"
                  "V1,T1,一村,0,0,90,yes,120,yes\nV2,T1,二村,2,0,70,no,0,no\n")


def _kindergarten_report(data: Path, out: Path, *options) -> str:
    result = fupin("plan", "kindergartens", "--data", data, "--jobs", 1, "--time-limit", 30, *options, "--out", out)
    assert result.exit_code == 0, result.output
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["report"] == "report.pdf"
    return squash(pdf_text(out / "report.pdf", layout=False))


def test_kindergarten_report_of_other_data_does_not_claim_to_be_the_sample(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "townships.csv").write_text(SMALL_TOWNSHIPS, encoding="utf-8")
    (data / "villages.csv").write_text(SMALL_VILLAGES, encoding="utf-8")
    text = _kindergarten_report(data, tmp_path / "o")
    assert text.startswith("幼儿园布局规划") and "最优" in text
    assert KINDERGARTEN_NOTE["zh"] not in text
    # The sample with one village changed is not the sample either.
    changed = tmp_path / "changed"
    shutil.copytree(KINDERGARTEN_SAMPLE, changed)
    villages = changed / "villages.csv"
    villages.write_bytes(villages.read_bytes().replace(b"\n", b"\r\n", 1))
    text = _kindergarten_report(changed, tmp_path / "o2", "--county", "YP", "--lang", "en")
    assert "Kindergartenlayoutplan" in text and squash(KINDERGARTEN_NOTE["en"]) not in text


def test_kindergarten_report_of_the_sample_says_it_is_synthetic(tmp_path):
    # A byte-for-byte copy elsewhere is still the sample.
    data = tmp_path / "copy"
    shutil.copytree(KINDERGARTEN_SAMPLE, data)
    text = _kindergarten_report(data, tmp_path / "o", "--county", "YP")
    assert KINDERGARTEN_NOTE["zh"] in text


def test_kindergarten_view_model_carries_the_synthetic_flag(tmp_path):
    from planning.kindergartens import plan_province, read_province
    from reports import kindergartens as kg_report

    data = tmp_path / "data"
    data.mkdir()
    (data / "townships.csv").write_text(SMALL_TOWNSHIPS, encoding="utf-8")
    (data / "villages.csv").write_text(SMALL_VILLAGES, encoding="utf-8")
    plan = plan_province(read_province(data), jobs=1)
    font = render.find_cjk_font()
    for synthetic in (False, True):
        html = kg_report.render_html(kg_report.view_model(plan, "en", font, synthetic))
        assert (KINDERGARTEN_NOTE["en"] in html) is synthetic
    assert "both stages proven: least cost, then least children-km at that cost" in html
