"""A solve's status stated once: every status has its words in both languages, and one gap sentence."""

import json

import pytest

from planning.status import (LANGS, STATUS_WORDS, SolveStatus, gap_words, has_solution, status_label,
                             status_sentence)

SENTENCES = {
    "en": {
        "optimal": "optimal: no better allocation exists",
        "time_limit_feasible": "stopped at the time limit: the best allocation found so far, not proven optimal",
        "infeasible": "infeasible: no allocation satisfies every constraint",
        "unbounded": "unbounded: the model is wrongly stated (the objective can improve without limit)",
        "time_limit_no_solution": "stopped at the time limit before any allocation was found",
        "error": "the solver failed",
    },
    "zh": {
        "optimal": "最优：不存在更好的分配方案",
        "time_limit_feasible": "在时间上限处停止：这是目前找到的最好方案，未证明最优",
        "infeasible": "不可行：没有满足全部约束的方案",
        "unbounded": "无界：模型表述有误（目标值可以无限改进）",
        "time_limit_no_solution": "在时间上限处停止，尚未找到任何方案",
        "error": "求解器出错",
    },
}
LABELS = {
    "en": {"optimal": "optimal", "time_limit_feasible": "not proven", "infeasible": "infeasible",
           "unbounded": "unbounded", "time_limit_no_solution": "time limit, no plan", "error": "error"},
    "zh": {"optimal": "最优", "time_limit_feasible": "未证最优", "infeasible": "不可行", "unbounded": "无界",
           "time_limit_no_solution": "时限内无解", "error": "出错"},
}


def test_the_values_are_summary_json_s_status_strings():
    assert [s.value for s in SolveStatus] == ["optimal", "time_limit_feasible", "infeasible", "unbounded",
                                              "time_limit_no_solution", "error"]
    assert json.dumps({"status": SolveStatus.TIME_LIMIT_FEASIBLE}) == '{"status": "time_limit_feasible"}'
    assert f"status: {SolveStatus.OPTIMAL}" == "status: optimal"
    assert SolveStatus("infeasible") == "infeasible"


@pytest.mark.parametrize("status", list(SolveStatus))
def test_has_solution(status):
    expected = status in ("optimal", "time_limit_feasible")
    assert status.has_solution is expected
    assert has_solution(status.value) is expected
    assert not has_solution("partial")


def test_every_status_has_words_in_both_languages():
    assert set(STATUS_WORDS) == set(LANGS) == {"zh", "en"}
    for lang in LANGS:
        assert set(STATUS_WORDS[lang]) == set(SolveStatus)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("status", list(SolveStatus))
def test_status_wording(status, lang):
    expected = SENTENCES[lang][status.value]
    if status == SolveStatus.TIME_LIMIT_FEASIBLE:
        expected += " (相对差距 12.50%)" if lang == "zh" else " (relative gap 12.50%)"
    assert status_sentence(status, 0.125, lang) == expected
    assert status_sentence(status.value, 0.125, lang) == expected
    assert status_label(status, lang) == LABELS[lang][status.value]


@pytest.mark.parametrize("lang, with_gap, without_gap", [
    ("en", "relative gap 1.23%", "gap unknown"),
    ("zh", "相对差距 1.23%", "差距未知"),
])
def test_gap_sentence_with_and_without_a_gap(lang, with_gap, without_gap):
    assert gap_words(0.0123, lang) == with_gap
    assert gap_words(None, lang) == without_gap
    stopped = SENTENCES[lang]["time_limit_feasible"]
    assert status_sentence("time_limit_feasible", 0.0123, lang) == f"{stopped} ({with_gap})"
    assert status_sentence("time_limit_feasible", None, lang) == f"{stopped} ({without_gap})"
    # Only a run stopped at the time limit with a plan speaks of a gap.
    assert status_sentence("optimal", 0.0123, lang) == SENTENCES[lang]["optimal"]


def test_a_note_follows_the_status():
    assert status_sentence("infeasible", None, "en", "village B1-2 has 300 children") == (
        "infeasible: no allocation satisfies every constraint: village B1-2 has 300 children")


def test_unknown_status_or_language_is_refused():
    with pytest.raises(ValueError):
        status_sentence("partial")
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        status_sentence("optimal", lang="fr")


@pytest.mark.parametrize("cost, km, en, zh", [
    (True, True, "optimal", "最优"),
    (True, False, "cost optimal", "费用最优"),
    (False, False, "not proven", "未证最优"),
    (False, True, "not proven", "未证最优"),  # children-km counts only once the cost is proven
])
def test_the_words_say_which_stage_is_proven(cost, km, en, zh):
    from planning.status import stages_words

    assert stages_words(cost, km, "en").label == en and stages_words(cost, km, "zh").label == zh
    sentence = stages_words(cost, km, "en").sentence
    assert ("children-km not proven" in sentence) == (cost and not km)


def test_a_county_says_which_stage_is_proven_and_so_does_the_province():
    from planning.kindergartens import CountyPlan, KindergartenScenario, ProvincePlan

    both = CountyPlan("A", "a", SolveStatus.OPTIMAL, "highs", cost=1, children_km=1.0, gap=0.0, km_proven=True)
    cost_only = CountyPlan("B", "b", SolveStatus.OPTIMAL, "highs", cost=1, children_km=1.0, gap=0.0)
    neither = CountyPlan("C", "c", SolveStatus.TIME_LIMIT_FEASIBLE, "highs", cost=1, children_km=1.0, gap=0.01)
    assert both.summary()["proven"] == {"cost": True, "children_km": True}
    assert cost_only.summary()["proven"] == {"cost": True, "children_km": False}
    assert neither.summary()["proven"] == {"cost": False, "children_km": False}
    assert cost_only.status_label("zh") == "费用最优" and "children-km not proven" in cost_only.describe()
    assert "relative gap 1.00%" in neither.describe()
    total = ProvincePlan(KindergartenScenario(), "highs", [both, cost_only, neither], 1.0).summary()["total"]
    assert total["proven"] == {"cost": 2, "children_km": 1} and total["status"] == "partial"
    assert ProvincePlan(KindergartenScenario(), "highs", [both], 1.0).summary()["total"]["status"] == "optimal"
