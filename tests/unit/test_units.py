from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from procure.units import KG_PER_UNIT, is_weight_unit, normalise_unit, to_mg


@pytest.mark.parametrize("unit, grams", [("kg", 1000), ("公斤", 1000), ("千克", 1000), ("g", 1), ("克", 1),
                                         ("斤", 500), ("市斤", 500), ("两", 50), ("t", 1_000_000), ("吨", 1_000_000),
                                         (" KG ", 1000), ("T", 1_000_000)])
def test_units_to_grams(unit, grams):
    assert to_mg(Decimal(1), KG_PER_UNIT[normalise_unit(unit)]) == grams * 1000


def test_packaging_units_are_not_weights():
    for unit in ["箱", "袋", "件", "lb"]:
        assert not is_weight_unit(unit)


def test_finer_than_a_milligram_is_refused():
    with pytest.raises(ValueError, match="milligram"):
        to_mg(Decimal("0.0000001"), KG_PER_UNIT["kg"])


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2))
def test_jin_liang_and_kg_agree(q):
    assert to_mg(q, KG_PER_UNIT["斤"]) == to_mg(q / 2, KG_PER_UNIT["kg"])
    assert to_mg(q * 10, KG_PER_UNIT["两"]) == to_mg(q, KG_PER_UNIT["斤"])
    assert to_mg(q, KG_PER_UNIT["t"]) == to_mg(q * 1000, KG_PER_UNIT["kg"])
