"""PDF reports of allocation runs (`fupin plan teachers|graduates`) and of run comparisons.

The figures come straight from the plan's view model (the same numbers as allocation.csv and
summary.json); this module only words, formats and lays them out.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup

from common.errors import FupinError
from common.files import atomic_write, require_folder
from planning.compare import KIND, load_run
from planning.runs import GRADUATE_COLUMNS, TEACHER_COLUMNS
from planning.status import STATUS_VALUES, SolveStatus, status_sentence

from .charts import bar_chart, bar_chart_png
from .figures import number
from .i18n import LANGS
from .render import CjkFont, Renderer, Table, find_cjk_font, jinja_env

LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "title_teachers": "特岗教师分配方案", "title_graduates": "定向免培生招生分配方案",
        "title_compare": "{title}对比", "kind_teachers": "特岗教师", "kind_graduates": "定向免培生",
        "lang": "zh", "status": "求解状态", "solver_words": "求解器说明",
        "scenario": "情景", "description": "说明", "total_posts": "特岗岗位总数", "poverty_floor": "贫困县最低岗位数",
        "weights": "权重", "annual_intake": "每年招生人数", "years_of_study": "学制（年）",
        "intake_years": "招生年份", "surplus_penalty": "富余毕业生惩罚系数",
        "objective": "目标值", "objective_teachers": "加权未满足缺口（第一阶段）",
        "objective_graduates": "加权未满足岗位空缺 + 惩罚系数 × 富余毕业生",
        "largest_unmet": "各市县未满足比例的最大值", "solver": "求解器",
        "marginal_method": "边际价值的算法", "marginal_teachers": "每增加一个岗位，加权未满足缺口的减少量（各市县岗位容量 + 1 后重新求解）",
        "marginal_graduates": "每增加一名报名者，目标值的减少量（该市县该专业每个招生年份报名人数 + 1 后重新求解）",
        "counties": "各市县分配结果", "chart": "各市县分配与需求",
        "chart_teachers": "各市县特岗岗位：分配与缺口", "chart_graduates": "各市县定向免培生：招生与岗位空缺",
        "code": "代码", "county": "市县", "poverty": "贫困类别", "weight": "权重", "capacity": "岗位容量",
        "need_teachers": "缺口", "got_teachers": "分配", "need_graduates": "岗位空缺", "got_graduates": "招生",
        "unmet": "未满足", "surplus": "富余", "marginal": "边际价值", "total": "合计",
        "national": "国家级", "provincial": "省级", "none": "非贫困",
        "primary": "小学", "junior": "初中", "preschool": "学前",
        "detail": "附录：分配明细（与 allocation.csv 相同）", "stage": "学段", "programme": "专业",
        "intake_year": "入学年份", "graduation_year": "毕业年份",
        "synthetic": "注意：本报告所用输入为示例数据（data/planning），除市县名称和国家级贫困县外均为虚构数字，不能用于实际决策。",
        "run_a": "方案 A", "run_b": "方案 B", "changes": "各市县变化（B − A）", "changed": "{n} / {total} 个市县有变化",
        "compare_chart": "各市县分配：A 与 B", "folder": "运行目录",
        "shortage": "缺口", "allocated": "分配", "vacancies": "岗位空缺", "intake": "招生",
        "footer_note": "本报告由 fupin 生成；数字与运行目录中的 allocation.csv、summary.json 相同。",
        "title_kindergartens": "幼儿园布局方案", "cost": "费用（元）", "children_km": "儿童·公里", "new": "新建",
        "attached": "附设", "expanded": "扩建", "places_added": "新增学位",
        "partial": "部分县未证明两阶段最优（见各县状态）",
    },
    "en": {
        "title_teachers": "Special-post teacher allocation", "title_graduates": "Targeted free-training student intake",
        "title_compare": "{title}: two runs compared", "kind_teachers": "special-post teachers",
        "kind_graduates": "targeted free-training students",
        "lang": "en", "status": "Status", "solver_words": "Solver's words",
        "scenario": "Scenario", "description": "Description", "total_posts": "Total posts",
        "poverty_floor": "Least posts per poverty county", "weights": "Weights", "annual_intake": "Annual intake",
        "years_of_study": "Years of study", "intake_years": "Intake years", "surplus_penalty": "Surplus penalty",
        "objective": "Objective", "objective_teachers": "weighted unmet shortage (first stage)",
        "objective_graduates": "weighted unmet vacancies + surplus penalty x surplus graduates",
        "largest_unmet": "Largest unmet share of any county", "solver": "Solver",
        "marginal_method": "Marginal values",
        "marginal_teachers": "how much the weighted unmet shortage falls with one more post "
                             "(re-solved with the county's capacity + 1)",
        "marginal_graduates": "how much the objective falls with one more applicant "
                              "(re-solved with one more applicant in every intake year of the programme)",
        "counties": "Allocation by county", "chart": "Allocated against need by county",
        "chart_teachers": "Special posts by county: allocated and shortage",
        "chart_graduates": "Targeted students by county: intake and vacancies",
        "code": "Code", "county": "County", "poverty": "Poverty", "weight": "Weight", "capacity": "Capacity",
        "need_teachers": "Shortage", "got_teachers": "Allocated", "need_graduates": "Vacancies",
        "got_graduates": "Intake", "unmet": "Unmet", "surplus": "Surplus", "marginal": "Marginal value",
        "total": "Total", "national": "national", "provincial": "provincial", "none": "none",
        "primary": "primary", "junior": "junior", "preschool": "preschool",
        "detail": "Appendix: allocation detail (as allocation.csv)", "stage": "Stage", "programme": "Programme",
        "intake_year": "Intake year", "graduation_year": "Graduation year",
        "synthetic": "Note: the inputs are the synthetic sample (data/planning); apart from the county names and "
                     "the national poverty counties every figure is invented. Not for real decisions.",
        "run_a": "Run A", "run_b": "Run B", "changes": "Changes by county (B - A)",
        "changed": "{n} of {total} counties changed", "compare_chart": "Allocation by county: A and B",
        "folder": "Run folder",
        "shortage": "Shortage", "allocated": "Allocated", "vacancies": "Vacancies", "intake": "Intake",
        "footer_note": "Made by fupin; the figures are those of allocation.csv and summary.json in the run folder.",
        "title_kindergartens": "Kindergarten layout", "cost": "Cost (yuan)", "children_km": "Children-km",
        "new": "New", "attached": "Attached", "expanded": "Expanded", "places_added": "Places added",
        "partial": "not every county proven optimal in both stages (see each county)",
    },
}
# Per kind: (need field, allocated field) in the per-county figures.
NEED_GOT = {"teachers": ("shortage", "allocated"), "graduates": ("vacancies", "intake")}
# Per kind: the figure a comparison's chart shows for A and B.
COMPARED = {"teachers": "allocated", "graduates": "intake", "kindergartens": "cost"}
# Per kind: the county table's figures after code, name, poverty and weight, as (label, field).
COUNTY_FIGURES = {
    "teachers": (("capacity", "capacity"), ("need_teachers", "shortage"), ("got_teachers", "allocated"),
                 ("unmet", "unmet")),
    "graduates": (("need_graduates", "vacancies"), ("got_graduates", "intake"), ("unmet", "unmet"),
                  ("surplus", "surplus")),
}
# Per kind: the county's marginal value field, and whether it is one number (a numeric column).
MARGINAL = {"teachers": ("marginal_value_of_one_more_post", True),
            "graduates": ("marginal_value_of_one_more_applicant", False)}
# Per kind: the appendix's term after the county code (translated), then its figures as (label, field).
DETAIL = {
    "teachers": ("stage", (("need_teachers", "shortage"), ("got_teachers", "allocated"), ("unmet", "unmet"))),
    "graduates": ("programme", (("intake_year", "intake_year"), ("got_graduates", "intake"),
                                ("graduation_year", "graduation_year"), ("need_graduates", "vacancies"),
                                ("unmet", "unmet"), ("surplus", "surplus"))),
}


@dataclass
class PlanReport:
    lang: str
    title: str
    meta: list[tuple[str, str]]
    notes: list[str]
    tables: list[Table]
    appendix: Table | None
    chart_heading: str
    chart: Markup
    wide: bool = False


def _labels(lang: str) -> dict[str, str]:
    if lang not in LANGS:
        raise FupinError(f"--lang '{lang}': use one of {', '.join(LANGS)}")
    return LABELS[lang]


def _num(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    return str(value)


def _marginal(value, t: dict[str, str]) -> str:
    if isinstance(value, dict):
        return " / ".join(f"{t.get(k, k)} {number(v)}" for k, v in value.items())
    return _num(value)


def status_words(status: str, gap: float | None, t: dict[str, str]) -> str:
    """The run's status in the language of the labels `t` (planning.status's words); a time-limited run
    says its gap. A status planning does not know is shown as it is."""
    return status_sentence(status, gap, t["lang"]) if status in STATUS_VALUES else t.get(status, status)


def _scenario_meta(kind: str, scenario: dict, t: dict[str, str]) -> list[tuple[str, str]]:
    weights = ", ".join(f"{t.get(k, k)} {v}" for k, v in scenario.get("weights", {}).items())
    rows = [(t["scenario"], str(scenario.get("name", "")))]
    if scenario.get("description"):
        rows.append((t["description"], str(scenario["description"])))
    if kind == "teachers":
        rows += [(t["total_posts"], number(scenario.get("total_posts"))),
                 (t["poverty_floor"], number(scenario.get("poverty_floor")))]
    else:
        rows += [(t["annual_intake"], ", ".join(f"{t.get(k, k)} {v}" for k, v in scenario["annual_intake"].items())),
                 (t["years_of_study"], ", ".join(f"{t.get(k, k)} {v}" for k, v in scenario["years_of_study"].items())),
                 (t["intake_years"], ", ".join(str(y) for y in scenario["intake_years"])),
                 (t["surplus_penalty"], number(scenario.get("surplus_penalty")))]
    rows.append((t["weights"], weights))
    return rows


def build_plan_report(view: dict, lang: str = "zh", synthetic: bool = False, font: CjkFont | None = None,
                      chart: bool = True) -> PlanReport:
    """The report of one run from `plan.view_model()` (plus 'gap' when the caller has it); a web
    page asks for it without the chart, which it shows as a picture of its own (`need_chart_png`)."""
    t = _labels(lang)
    kind = view["kind"]
    if kind not in NEED_GOT:
        raise FupinError(f"no planning report for runs of kind '{kind}'")
    return PlanReport(
        lang=lang, title=t[f"title_{kind}"], meta=_run_meta(view, kind, t), notes=[t["synthetic"]] if synthetic else [],
        tables=[_county_table(kind, view["counties"], t)], appendix=_detail_table(kind, view["rows"], t),
        chart_heading=t["chart"], chart=_need_chart(kind, view["counties"], t, font or find_cjk_font()) if chart
        else Markup(""))


def view_of_run(run_dir: str | Path) -> dict:
    """The view model of a teacher or graduate run, read back from its allocation.csv and summary.json
    (what `plan.view_model()` gave when the run was made)."""
    run = load_run(run_dir)
    kind = KIND[run["model"]]
    summary = run["summary"]
    text = (Path(run_dir) / "allocation.csv").read_text(encoding="utf-8")
    columns = TEACHER_COLUMNS if kind == "teachers" else GRADUATE_COLUMNS
    texts = {"county", "stage", "programme"}
    rows = [{c: (r[c] if c in texts else int(r[c])) for c in columns} for r in csv.DictReader(io.StringIO(text))]
    view = {"kind": kind, "scenario": summary["scenario"], "status": summary["status"],
            "status_text": summary["status_text"], "solver": summary["solver"], "objective": summary["objective"],
            "objective_name": summary["objective_name"], "totals": summary["totals"], "gap": summary.get("gap"),
            "marginal_method": summary["marginal_values"]["method"],
            "counties": [{"code": c, **v} for c, v in summary["counties"].items()], "rows": rows}
    if kind == "teachers":
        view["largest_unmet_percent"] = summary["second_stage"]["largest_unmet_percent"]
    return view


def need_chart_png(view: dict, lang: str = "zh") -> bytes:
    """The run's chart of need against allocation, county by county, as a PNG picture."""
    kind, t = view["kind"], _labels(lang)
    need, got = NEED_GOT[kind]
    counties = view["counties"]
    return bar_chart_png([c["name"] or c["code"] for c in counties],
                         [(t[f"need_{kind}"], [c[need] for c in counties]),
                          (t[f"got_{kind}"], [c[got] for c in counties])], t[f"chart_{kind}"], find_cjk_font())


def _run_meta(view: dict, kind: str, t: dict[str, str]) -> list[tuple[str, str]]:
    """The headline: status (and the solver's own words when not optimal), scenario, objective,
    the largest unmet share (teachers), the solver and how the marginal values were found."""
    meta = [(t["status"], status_words(view["status"], view.get("gap"), t))]
    if view["status"] != SolveStatus.OPTIMAL:
        meta.append((t["solver_words"], view["status_text"]))
    meta += _scenario_meta(kind, view["scenario"], t)
    meta.append((t["objective"], f"{number(view['objective'])} ({t['objective_' + kind]})"))
    if "largest_unmet_percent" in view:
        meta.append((t["largest_unmet"], f"{number(view['largest_unmet_percent'])}%"))
    meta += [(t["solver"], str(view["solver"])), (t["marginal_method"], t["marginal_" + kind])]
    return meta


def _county_table(kind: str, counties: list[dict], t: dict[str, str]) -> Table:
    """One row per county: code, name, poverty, weight, the kind's figures, the marginal value; totals."""
    figures = COUNTY_FIGURES[kind]
    marginal, marginal_is_number = MARGINAL[kind]
    columns = [t["code"], t["county"], t["poverty"], t["weight"], *(t[label] for label, _ in figures), t["marginal"]]
    rows = [[c["code"], c["name"], t.get(c["poverty"], c["poverty"]), _num(c["weight"]),
             *(_num(c[f]) for _, f in figures), _marginal(c.get(marginal), t)] for c in counties]
    totals = [["", t["total"], "", "", *(_num(sum(c[f] for c in counties)) for _, f in figures), ""]]
    numeric = set(range(3, 4 + len(figures) + marginal_is_number))
    return Table("counties", t["counties"], columns, rows, numeric, totals, names={1}, keys=2)


def _detail_table(kind: str, rows: list[dict], t: dict[str, str]) -> Table:
    """The appendix: every row of allocation.csv, with the school stage or programme in words."""
    term, figures = DETAIL[kind]
    columns = [t["code"], t[term], *(t[label] for label, _ in figures)]
    body = [[r["county"], t.get(r[term], r[term]), *(_num(r[f]) for _, f in figures)] for r in rows]
    years = {2 + k for k, (_, f) in enumerate(figures) if f.endswith("_year")}
    return Table("detail", t["detail"], columns, body, set(range(2, 2 + len(figures))), plain=years, keys=2)


def _need_chart(kind: str, counties: list[dict], t: dict[str, str], font: CjkFont) -> Markup:
    """Bars of need against what was allocated, county by county."""
    need, got = NEED_GOT[kind]
    return bar_chart([c["name"] or c["code"] for c in counties],
                     [(t[f"need_{kind}"], [c[need] for c in counties]),
                      (t[f"got_{kind}"], [c[got] for c in counties])],
                     t[f"chart_{kind}"], font)


def build_compare_report(view: dict, lang: str = "zh", font: CjkFont | None = None) -> PlanReport:
    """The report of `planning.compare.compare_runs()`: both runs' headlines, changes by county, a chart."""
    t = _labels(lang)
    kind = view["kind"]
    if kind not in COMPARED:
        raise FupinError(f"no comparison report for runs of kind '{kind}'")
    meta = []
    for side in ("a", "b"):
        head = view[side]
        status = status_words(head["status"], None, t) if head["status"] else "—"
        meta.append((t[f"run_{side}"], f"{head['path']} — {t['scenario']} {head['scenario'] or '—'}; "
                                        f"{status}; {t['objective']} {number(head['objective'])}; {head['solver']}"))
    meta.append((t["changes"], t["changed"].format(n=view["changed"], total=len(view["rows"]))))
    figures = view["figures"]
    columns = [t["code"], t["county"]] + [f"{t[f]} {side}" for f in figures for side in ("A", "B", "B−A")]
    signed = lambda n: (f"{n:+,.1f}" if isinstance(n, float) else f"{n:+,d}") if n else "0"  # noqa: E731
    rows = [[r["county"], r["name"]] + [v for f in figures for v in (_num(r["a"][f]), _num(r["b"][f]),
                                                                     signed(r["change"][f]))]
            for r in view["rows"]]
    totals = [["", t["total"]] + [v for f in figures for v in (
        _num(sum(r["a"][f] for r in view["rows"])), _num(sum(r["b"][f] for r in view["rows"])),
        signed(round(sum(r["change"][f] for r in view["rows"]), 3)))]]
    got = COMPARED[kind]
    font = font or find_cjk_font()
    chart = bar_chart([r["name"] or r["county"] for r in view["rows"]],
                      [(f"A {t[got]}", [r["a"][got] for r in view["rows"]]),
                       (f"B {t[got]}", [r["b"][got] for r in view["rows"]])],
                      t["compare_chart"], font)
    return PlanReport(
        lang=lang, title=t["title_compare"].format(title=t["title_" + kind]), meta=meta, notes=[],
        tables=[Table("changes", t["changes"], columns, rows, set(range(2, len(columns))), totals, names={1}, keys=2,
                      groups=[[2 + 3 * k, 3 + 3 * k, 4 + 3 * k] for k in range(len(figures))])],
        appendix=None, chart_heading=t["compare_chart"], chart=chart, wide=True)


def render_pdf(report: PlanReport, font: CjkFont | None = None) -> bytes:
    font = font or find_cjk_font()
    html = jinja_env().get_template("planning.html").render(report=report, t=LABELS[report.lang])
    return Renderer([html], font).pdf(html)


def write_plan_report(view_model: dict, path: Path) -> None:
    """report.pdf of one run, written atomically to `path`; the view model may carry 'lang' and 'synthetic'."""
    font = find_cjk_font()
    report = build_plan_report(view_model, view_model.get("lang", "zh"), view_model.get("synthetic", False), font)
    atomic_write(path, render_pdf(report, font))


def write_compare_report(view: dict, path: Path, lang: str = "zh") -> None:
    """The comparison PDF, written atomically to `path`."""
    path = Path(path)
    require_folder(path)
    font = find_cjk_font()
    atomic_write(path, render_pdf(build_compare_report(view, lang, font), font))
