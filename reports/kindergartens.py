"""report.pdf of `fupin plan kindergartens`: province summary, then per county a map and the actions."""

from __future__ import annotations

from pathlib import Path

from common.files import atomic_write
from planning.status import format_gap

from .charts import county_map
from .figures import number
from .render import Renderer, Table, find_cjk_font, jinja_env

TEXT = {
    "zh": {"title": "幼儿园布局规划", "synthetic": "示例数据为合成数据（县名真实，乡镇、村、坐标、幼儿数均为虚构）。",
           "province": "全省汇总", "county": "市县", "status": "求解状态", "cost": "费用（元）",
           "children_km": "幼儿·公里", "new": "新建", "attached": "附设", "expand": "扩建", "existing": "现有",
           "places": "新增学位", "seconds": "求解秒数", "gap": "MIP 间隙", "total": "合计",
           "township": "乡镇", "village": "村", "action": "措施", "places_added": "新增学位",
           "capacity": "学位容量", "central": "中心园", "no_plan": "无可行方案", "reason": "原因",
           "map": "布局图（圆圈大小＝幼儿数，线＝就读分配）", "yes": "是", "no": "否", "scenario": "情景参数",
           "village_kg": "村（无园）"},
    "en": {"title": "Kindergarten layout plan", "synthetic": "Sample data are synthetic (real county names; townships, villages, positions and children invented).",
           "province": "Province summary", "county": "County", "status": "Status", "cost": "Cost (yuan)",
           "children_km": "Children-km", "new": "new", "attached": "attached", "expand": "expand", "existing": "existing",
           "places": "Places added", "seconds": "Solve s", "gap": "MIP gap", "total": "Total",
           "township": "Township", "village": "Village", "action": "Action", "places_added": "Places added",
           "capacity": "Capacity", "central": "Central", "no_plan": "No feasible plan", "reason": "Reason",
           "map": "Map (circle size = children, lines = assignment)", "yes": "yes", "no": "no", "scenario": "Scenario",
           "village_kg": "village (no kindergarten)"},
}


def view_model(plan, lang: str = "zh", font=None, synthetic: bool = False) -> dict:
    """What kindergartens.html shows; `synthetic` when the inputs are the sample of data/kindergartens."""
    t = TEXT[lang]
    rows = []
    for c in plan.counties:
        s = c.summary()
        # In the summary the gap column beside it says how far from proven; the county's page has the full words.
        rows.append([c.county, c.name, c.status_label(lang), number(c.cost) if c.cost is not None else "",
                     number(c.children_km, 1) if c.children_km is not None else "", s["new"], s["attached"],
                     s["expanded"], s["places_added"], f"{c.seconds:.1f}", "" if c.gap is None else format_gap(c.gap)])
    total = plan.summary()["total"]
    counties = []
    for c in plan.counties:
        entry = {"code": c.county, "name": c.name, "status": c.stage_sentence(lang), "reason": c.reason,
                 "has_plan": c.has_solution, "map": None, "table": None}
        if c.has_solution:
            entry["map"] = county_map(c, t, font)
            entry["table"] = Table("sites", "", [t["township"], t["village"], t["action"], t["places_added"],
                                                 t["capacity"], t["central"], t["cost"]],
                                   [[s["township_name"], f'{s["village"]} {s["village_name"]}', t[s["action"]],
                                     str(s["places_added"]), str(s["capacity"]), t[s["central"]], number(s["cost"])]
                                    for s in c.sites if s["action"] != "existing"], {3, 4, 6}, names={0, 1})
            entry["cost"] = number(c.cost)
        counties.append(entry)
    totals = [t["total"], "", "", number(total["cost"]), number(total["children_km"], 1), total["new"],
              total["attached"], total["expanded"], total["places_added"], f"{total['wall_seconds']:.1f}", ""]
    province = Table("province", t["province"], [t["county"], "", t["status"], t["cost"], t["children_km"], t["new"],
                                                 t["attached"], t["expand"], t["places"], t["seconds"], t["gap"]],
                     [[str(v) for v in row] for row in rows], set(range(3, 11)), [[str(v) for v in totals]],
                     names={1}, keys=2)
    return {"t": t, "lang": lang, "province": province, "counties": counties, "scenario": plan.scenario.as_dict(),
            "synthetic": synthetic}


def render_html(view: dict) -> str:
    return jinja_env().get_template("kindergartens.html").render(view=view)


def write_kindergarten_report(plan, path: Path | str, lang: str = "zh", synthetic: bool = False) -> str:
    """report.pdf of a province plan, written atomically to `path`; returns its sha256.

    `synthetic`: the inputs are the synthetic sample (data/kindergartens), and the report says so.
    """
    font = find_cjk_font()
    view = view_model(plan, lang, font, synthetic)
    html = render_html(view)
    return atomic_write(path, Renderer([html], font).pdf(html))
