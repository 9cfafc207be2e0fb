"""Every scenario key has its meaning in words; a scenario from the form is the YAML's scenario."""

from __future__ import annotations

from dataclasses import fields

import pytest

from common.errors import FupinError
from planning import scenarios
from planning.inputs import Scenario
from planning.kindergartens import KindergartenScenario


@pytest.mark.parametrize("kind, cls", [("allocation", Scenario), ("kindergartens", KindergartenScenario)])
def test_every_key_of_the_yaml_has_a_meaning_in_both_languages(kind, cls):
    keys = scenarios.scenario_keys(kind)
    assert [k.key for k in keys] == [f.name for f in fields(cls)]
    assert all(k.zh and k.en for k in keys)
    for k in keys:
        if k.parts:
            assert set(k.parts) == set(getattr(cls(), k.key))


@pytest.mark.parametrize("kind", scenarios.KINDS)
def test_the_defaults_go_round_the_form_and_the_yaml(kind):
    values = scenarios.form_values(kind)
    scenario = scenarios.from_form(kind, values)
    assert scenario == scenarios.scenario_class(kind)()
    assert scenarios.from_yaml_text(kind, scenarios.to_yaml(scenario)) == scenario


def test_a_changed_form_is_that_scenario():
    values = {**scenarios.form_values("allocation"), "name": "floor", "poverty_floor": "20",
              "weights.none": "2", "intake_years": "2019，2020"}
    scenario = scenarios.from_form("allocation", values)
    assert scenario.poverty_floor == 20 and scenario.weights["none"] == 2 and scenario.intake_years == (2019, 2020)
    kg = scenarios.from_form("kindergartens", {**scenarios.form_values("kindergartens"), "max_distance_km": "4.5"})
    assert kg.max_distance_km == 4.5


def test_bad_values_are_refused_all_at_once_with_the_yaml_s_words():
    values = {**scenarios.form_values("allocation"), "total_posts": "-3", "weights.national": "x",
              "years_of_study.primary": "0"}
    with pytest.raises(FupinError) as caught:
        scenarios.from_form("allocation", values)
    text = str(caught.value)
    assert "weights: 'x' is not a number" in text
    with pytest.raises(FupinError, match="total_posts: -3 must be at least 0"):
        scenarios.from_form("allocation", {**values, "weights.national": "3"})
    with pytest.raises(FupinError, match="name: holds a control character"):
        scenarios.from_form("kindergartens", {**scenarios.form_values("kindergartens"), "name": "a\x00b"})
    with pytest.raises(FupinError, match="give the scenario a name"):
        scenarios.from_form("kindergartens", {**scenarios.form_values("kindergartens"), "name": " "})
    with pytest.raises(FupinError, match="unknown scenario kind"):
        scenarios.scenario_keys("ponies")
