"""A solve's status, stated once: its values, whether it holds a solution, and its words.

Every model in planning/ reports one of these statuses; summary.json carries the value (the enum
is a StrEnum, so the value is what json writes and what compares equal to the plain string).
The words of every status, in Chinese and English, are in STATUS_WORDS, and the gap of a run
stopped at the time limit is worded only by `gap_words`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from common.languages import LANGS


class SolveStatus(StrEnum):
    OPTIMAL = "optimal"
    TIME_LIMIT_FEASIBLE = "time_limit_feasible"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    TIME_LIMIT_NO_SOLUTION = "time_limit_no_solution"
    ERROR = "error"

    @property
    def has_solution(self) -> bool:
        """True when the solve left a solution to read (proven optimal or not)."""
        return self in (SolveStatus.OPTIMAL, SolveStatus.TIME_LIMIT_FEASIBLE)


STATUS_VALUES = frozenset(s.value for s in SolveStatus)


def has_solution(status: str) -> bool:
    """`SolveStatus.has_solution` for a status given as its value (e.g. read back from summary.json)."""
    try:
        return SolveStatus(status).has_solution
    except ValueError:
        return False


@dataclass(frozen=True)
class StatusWords:
    label: str  # a table cell or a heading
    sentence: str  # what the status means for the planner


STATUS_WORDS: dict[str, dict[SolveStatus, StatusWords]] = {
    "en": {
        SolveStatus.OPTIMAL: StatusWords("optimal", "optimal: no better allocation exists"),
        SolveStatus.TIME_LIMIT_FEASIBLE: StatusWords(
            "not proven", "stopped at the time limit: the best allocation found so far, not proven optimal"),
        SolveStatus.INFEASIBLE: StatusWords("infeasible", "infeasible: no allocation satisfies every constraint"),
        SolveStatus.UNBOUNDED: StatusWords(
            "unbounded", "unbounded: the model is wrongly stated (the objective can improve without limit)"),
        SolveStatus.TIME_LIMIT_NO_SOLUTION: StatusWords(
            "time limit, no plan", "stopped at the time limit before any allocation was found"),
        SolveStatus.ERROR: StatusWords("error", "the solver failed"),
    },
    "zh": {
        SolveStatus.OPTIMAL: StatusWords("最优", "最优：不存在更好的分配方案"),
        SolveStatus.TIME_LIMIT_FEASIBLE: StatusWords(
            "未证最优", "在时间上限处停止：这是目前找到的最好方案，未证明最优"),
        SolveStatus.INFEASIBLE: StatusWords("不可行", "不可行：没有满足全部约束的方案"),
        SolveStatus.UNBOUNDED: StatusWords("无界", "无界：模型表述有误（目标值可以无限改进）"),
        SolveStatus.TIME_LIMIT_NO_SOLUTION: StatusWords("时限内无解", "在时间上限处停止，尚未找到任何方案"),
        SolveStatus.ERROR: StatusWords("出错", "求解器出错"),
    },
}

GAP_WORDS = {"en": ("relative gap {gap}", "gap unknown"), "zh": ("相对差距 {gap}", "差距未知")}


def _lang(lang: str) -> str:
    if lang not in STATUS_WORDS:
        raise ValueError(f"unknown language '{lang}': use one of {', '.join(LANGS)}")
    return lang


def status_label(status: str, lang: str = "en") -> str:
    """The status in a word or two, for a table cell."""
    return STATUS_WORDS[_lang(lang)][SolveStatus(status)].label


def format_gap(gap: float) -> str:
    """A relative gap as a percentage with two decimals (0.125 -> '12.50%')."""
    return f"{gap:.2%}"


def gap_words(gap: float | None, lang: str = "en") -> str:
    """The gap of a run stopped at the time limit: 'relative gap 12.50%', or 'gap unknown' when None."""
    known, unknown = GAP_WORDS[_lang(lang)]
    return unknown if gap is None else known.format(gap=format_gap(gap))


def status_sentence(status: str, gap: float | None = None, lang: str = "en", note: str = "") -> str:
    """The status in a planner's words; a run stopped at the time limit says its gap; then `note`."""
    status = SolveStatus(status)
    text = STATUS_WORDS[_lang(lang)][status].sentence
    if status == SolveStatus.TIME_LIMIT_FEASIBLE:
        text += f" ({gap_words(gap, lang)})"
    return text + (f": {note}" if note else "")


# A two-stage plan (least cost, then least children-km at that cost): which stages are proven.
STAGES: dict[str, dict[tuple[bool, bool], StatusWords]] = {
    "en": {(True, True): StatusWords("optimal", "both stages proven: least cost, then least children-km at that cost"),
           (True, False): StatusWords("cost optimal", "least cost proven; children-km not proven least"),
           (False, False): StatusWords("not proven", "least cost not proven (nor children-km)")},
    "zh": {(True, True): StatusWords("最优", "两阶段均已证明最优：费用最低，且在此费用下幼儿·公里最少"),
           (True, False): StatusWords("费用最优", "费用已证明最低；幼儿·公里未证明最少"),
           (False, False): StatusWords("未证最优", "费用未证明最低（幼儿·公里亦未证明）")},
}


def stages_words(cost_proven: bool, km_proven: bool, lang: str = "en") -> StatusWords:
    """Which stages of a two-stage plan are proven; children-km counts only once the cost is proven."""
    return STAGES[_lang(lang)][(cost_proven, cost_proven and km_proven)]


def stages_sentence(status: str, has_plan: bool, cost_proven: bool, km_proven: bool, gap: float | None,
                    lang: str = "en") -> str:
    """A two-stage plan's status in words: which stage is proven, and the gap of an unproven cost."""
    if not has_plan:
        return status_sentence(status, gap, lang)
    words = stages_words(cost_proven, km_proven, lang).sentence
    return words if cost_proven else f"{words} ({gap_words(gap, lang)})"
