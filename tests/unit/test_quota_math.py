from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from common.numbers import round_half_up
from procure.quota import Status, Tally, status_of
from procure.rules import Basis, QuotaRule, Scope

mg = st.integers(min_value=0, max_value=10**12)
fen = st.integers(min_value=0, max_value=10**11)


@st.composite
def tallies(draw):
    total = draw(mg)
    pa = draw(st.integers(min_value=0, max_value=total))
    total_fen = draw(fen)
    pa_fen = draw(st.integers(min_value=0, max_value=total_fen))
    return Tally(total, pa, total_fen, pa_fen)


thresholds = st.decimals(min_value=0, max_value=1, places=4)


@given(tallies(), thresholds)
def test_status_is_decided_on_exact_values(t, threshold):
    rule = QuotaRule(threshold=threshold)
    status = status_of([t], rule)
    if t.total_mg == 0 and t.total_fen == 0:
        assert status == Status.NO_PURCHASES
    else:
        # integer cross-multiplication: the definition, with no division anywhere
        exact = t.pa_mg * 10**4 >= int(threshold * 10**4) * t.total_mg
        assert (status == Status.COMPLIANT) == exact


@given(tallies(), thresholds)
def test_shortfall_is_zero_exactly_when_the_quantity_quota_is_met(t, threshold):
    short = t.shortfall_mg(threshold)
    assert short >= 0
    assert (short == 0) == t.meets(QuotaRule(threshold=threshold))
    # buying the shortfall from poverty-alleviation sources instead of ordinary ones meets the quota
    if short:
        moved = Tally(t.total_mg, t.pa_mg + int(-(-short // 1)), t.total_fen, t.pa_fen)
        assert moved.meets(QuotaRule(threshold=threshold))


def test_twenty_percent_boundary():
    rule = QuotaRule()
    assert status_of([Tally(1000, 200, 10, 1)], rule) == Status.COMPLIANT
    assert status_of([Tally(1000, 199, 10, 1)], rule) == Status.SHORT
    assert Tally(1000, 199, 0, 0).shortfall_mg(rule.threshold) == 1
    assert status_of([Tally(1000, 199, 100, 20)], QuotaRule(basis=Basis.AMOUNT)) == Status.COMPLIANT


def test_per_category_scope_needs_every_category():
    grain, veg = Tally(1000, 500, 100, 50), Tally(1000, 100, 100, 10)
    assert status_of([grain, veg], QuotaRule()) == Status.COMPLIANT  # pooled 30%
    per_cat = QuotaRule(scope=Scope.PER_CATEGORY)
    assert status_of([grain, veg], per_cat) == Status.SHORT
    assert status_of([grain, Tally()], per_cat) == Status.COMPLIANT  # a category not bought is not a failure


@given(st.fractions(min_value=-10**6, max_value=10**6, max_denominator=10**9), st.integers(0, 6))
def test_round_half_up_matches_decimal(value, places):
    expected = (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    # Decimal division is exact here only when it terminates; compare on those
    if (Decimal(value.numerator) / Decimal(value.denominator)) * value.denominator == value.numerator:
        assert round_half_up(value, places) == expected


def test_round_half_up_halves():
    assert round_half_up(Fraction(1, 8), 2) == Decimal("0.13")
    assert round_half_up(Fraction(-1, 8), 2) == Decimal("-0.13")
    assert round_half_up(Fraction(2, 3), 4) == Decimal("0.6667")


@given(tallies(), tallies(), tallies())
def test_tallies_add_associatively(a, b, c):
    assert (a + b) + c == a + (b + c)
    assert a + Tally() == a
