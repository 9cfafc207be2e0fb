"""A finished kindergarten run read back from its folder, for pages: the per-county status in
words, figures, and each county's actions and assignments. (Teacher and graduate runs are read
back by reports.planning.view_of_run, the view model of their PDF.)"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from common.errors import FupinError
from planning import runs
from planning.status import stages_sentence, status_label

RUN_FILES = {"teachers": runs.RUN_FILES, "graduates": runs.RUN_FILES, "kindergartens": runs.KINDERGARTEN_RUN_FILES}
ACTIONS = ("new", "attached", "expand")


def read_summary(folder: Path) -> dict:
    try:
        return json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FupinError(f"the run's summary.json cannot be read ({exc}); the run folder is damaged") from None


def county_words(county: dict, lang: str) -> str:
    """A county's status: which stages are proven, and the gap of an unproven cost."""
    proven = county.get("proven") or {}
    return stages_sentence(county["status"], county.get("cost") is not None, bool(proven.get("cost")),
                           bool(proven.get("children_km")), county.get("mip_gap"), lang)


def kindergarten_view(folder: Path, lang: str) -> dict:
    """The province's totals and one row per county (planned or not), in words and figures."""
    summary = read_summary(folder)
    counties = []
    for code, c in summary["counties"].items():
        counties.append({"code": code, **c, "words": county_words(c, lang),
                         "proven_both": bool((c.get("proven") or {}).get("children_km"))})
    return {"summary": summary, "total": summary["total"], "scenario": summary["scenario"], "counties": counties,
            "status_words": province_words(summary["total"], lang)}


PROVINCE_WORDS = {
    "zh": {"optimal": "全部 {n} 个县的两个阶段（先费用最低，再儿童·公里最少）均已证明最优",
           "partial": "{proven} / {n} 个县两个阶段均已证明最优；其余为时间上限内找到的最好方案（见各县状态）"},
    "en": {"optimal": "all {n} counties proven optimal in both stages (least cost, then least children-km)",
           "partial": "{proven} of {n} counties proven optimal in both stages; the others are the best found "
                      "within the time limit (see each county's status)"},
}


def province_words(total: dict, lang: str) -> str:
    words = PROVINCE_WORDS.get(lang, PROVINCE_WORDS["en"]).get(total["status"])
    if words is None:
        return status_label(total["status"], lang)
    return words.format(n=total["counties"], proven=total["proven"]["children_km"])


def county_rows(folder: Path, code: str) -> tuple[list[dict], list[dict]]:
    """The county's sites (every action, existing ones too) and its assignments, as written."""
    return _rows(folder / "sites.csv", code), _rows(folder / "assignments.csv", code)


def _rows(path: Path, code: str) -> list[dict]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FupinError(f"the run's {path.name} cannot be read ({exc.strerror})") from None
    return [r for r in csv.DictReader(io.StringIO(text)) if r["county"] == code]
