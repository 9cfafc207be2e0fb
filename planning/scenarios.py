"""Every key a scenario YAML accepts, its default and its meaning in words; a scenario from a form.

The defaults are the scenario classes' own (planning.inputs.Scenario for teachers and graduates,
planning.kindergartens.KindergartenScenario); the checks are their `from_dict`, so a scenario made
from the web's form is refused with the same words as the same YAML given to `fupin plan`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from common.cells import check_text
from common.errors import FupinError

from .inputs import POVERTY, PROGRAMMES, Scenario

KINDS = ("allocation", "kindergartens")  # teachers and graduates share one scenario
TEXT_LIMITS = {"name": (200, False), "description": (2000, True)}  # characters, line breaks allowed
MODEL_KIND = {"teachers": "allocation", "graduates": "allocation", "kindergartens": "kindergartens"}


@dataclass(frozen=True)
class ScenarioKey:
    key: str
    zh: str
    en: str
    parts: tuple[str, ...] = ()  # the keys of a mapping such as weights: {national: 3, ...}


ALLOCATION_KEYS = (
    ScenarioKey("name", "方案名称，写入 summary.json 和报告", "the scenario's name, written into summary.json and the report"),
    ScenarioKey("description", "说明", "a description"),
    ScenarioKey("total_posts", "当年特岗教师岗位总数", "special-post teacher posts this year, in total"),
    ScenarioKey("poverty_floor", "每个国家级、省级贫困县至少分得的岗位数（受容量和缺口限制）",
                "posts each national or provincial poverty county gets at least (less where its capacity or "
                "shortage is smaller)"),
    ScenarioKey("weights", "未满足缺口的权重：国家级、省级贫困县和非贫困县",
                "weight of an unmet shortage in a national, a provincial poverty county and elsewhere", POVERTY),
    ScenarioKey("annual_intake", "每年定向免培生招生数：小学、学前", "targeted students taken in a year: primary, preschool",
                PROGRAMMES),
    ScenarioKey("years_of_study", "学制年数：小学、学前", "years of study: primary, preschool", PROGRAMMES),
    ScenarioKey("intake_years", "招生年份（逗号分隔）", "years of intake (comma-separated)"),
    ScenarioKey("surplus_penalty", "毕业生超出岗位空缺时每人的罚分", "penalty per graduate beyond the vacancies"),
)

KINDERGARTEN_KEYS = (
    ScenarioKey("name", "方案名称", "the scenario's name"),
    ScenarioKey("description", "说明", "a description"),
    ScenarioKey("village_threshold", "适龄幼儿达到此数的村须就近有幼儿园",
                "a village with at least this many young children must have a kindergarten within reach"),
    ScenarioKey("max_distance_km", "村到幼儿园的最远距离（公里）", "farthest a village may be from its kindergarten (km)"),
    ScenarioKey("populous_population", "人口达到此数的乡镇须有两所公办幼儿园",
                "a township of at least this population needs two public kindergartens"),
    ScenarioKey("new_capacity", "新建幼儿园的学位数", "places of a new kindergarten"),
    ScenarioKey("new_cost", "新建幼儿园的费用（元）", "cost of a new kindergarten (yuan)"),
    ScenarioKey("attach_capacity", "小学附设幼儿班的学位数", "places of classes attached to a primary school"),
    ScenarioKey("attach_cost", "附设幼儿班的费用（元）", "cost of attached classes (yuan)"),
    ScenarioKey("expand_max", "现有幼儿园最多扩建的学位数", "places an existing kindergarten may add at most"),
    ScenarioKey("expand_cost_per_place", "扩建每个学位的费用（元）", "cost of each place added by expansion (yuan)"),
)


def scenario_class(kind: str):
    if kind == "allocation":
        return Scenario
    if kind == "kindergartens":
        from .kindergartens import KindergartenScenario

        return KindergartenScenario
    raise FupinError(f"unknown scenario kind '{kind}'; use {' or '.join(KINDS)}")


def scenario_keys(kind: str) -> tuple[ScenarioKey, ...]:
    scenario_class(kind)
    return ALLOCATION_KEYS if kind == "allocation" else KINDERGARTEN_KEYS


def form_values(kind: str, scenario: Any = None) -> dict[str, str]:
    """The form's text for each field (a mapping's part as `key.part`), from `scenario` or the defaults."""
    doc = (scenario or scenario_class(kind)()).as_dict()
    values = {}
    for k in scenario_keys(kind):
        if k.parts:
            values.update({f"{k.key}.{p}": _text(doc[k.key][p]) for p in k.parts})
        elif isinstance(doc[k.key], (list, tuple)):
            values[k.key] = ", ".join(str(v) for v in doc[k.key])
        else:
            values[k.key] = _text(doc[k.key])
    return values


def _text(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def from_form(kind: str, values: dict[str, str]):
    """The scenario the form's text describes; every problem listed at once, worded as for a YAML file."""
    doc: dict[str, object] = {}
    problems = []
    for k in scenario_keys(kind):
        try:
            if k.parts:
                doc[k.key] = {p: _number(values.get(f"{k.key}.{p}", "")) for p in k.parts}
            elif k.key in ("name", "description"):
                doc[k.key] = check_text(values.get(k.key, "").strip(), *TEXT_LIMITS[k.key])
            elif k.key == "intake_years":
                doc[k.key] = [_number(v) for v in values.get(k.key, "").replace("，", ",").split(",") if v.strip()]
            else:
                doc[k.key] = _number(values.get(k.key, ""))
        except ValueError as exc:
            problems.append(f"{k.key}: {exc}")
    if problems:
        raise FupinError("scenario problem(s):\n  " + "\n  ".join(problems))
    if not doc.get("name"):
        raise FupinError("scenario problem(s):\n  name: give the scenario a name")
    return scenario_class(kind).from_dict(doc)


def _number(text: str) -> int | float:
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"'{text}' is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"'{text}' is not a number")
    return value


def from_yaml_text(kind: str, text: str):
    """A scenario from YAML text, checked as `fupin plan --scenario` checks a file."""
    return scenario_class(kind).from_yaml_text(text)


def to_yaml(scenario: Any) -> str:
    """The scenario as a YAML file `fupin plan --scenario` reads back to the same scenario."""
    return yaml.safe_dump(scenario.as_dict(), allow_unicode=True, sort_keys=False, default_flow_style=False)
