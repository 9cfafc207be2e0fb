import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.cells import (
    parse_bool,
    parse_date,
    parse_decimal,
    parse_money_fen,
    parse_month,
    parse_positive_decimal,
)


@pytest.mark.parametrize("raw", [
    "2025-03-05", "2025/3/5", "2025.03.05", "2025年3月5日", "2025年03月05", "20250305",
    "２０２５－０３－０５", " 2025-03-05 ", 45721, "45721", 45721.0, dt.date(2025, 3, 5), dt.datetime(2025, 3, 5),
])
def test_dates_in_the_forms_people_type(raw):
    assert parse_date(raw) == dt.date(2025, 3, 5)


@pytest.mark.parametrize("raw, fragment", [
    ("2025-02-30", "not a real date"),
    ("2025-13-01", "not a real date"),
    ("2024-02-30", "not a real date"),
    ("5/3/2025", "YYYY-MM-DD"),
    ("next tuesday", "not a date"),
    ("", "is empty"),
    (None, "is empty"),
    (45721.5, "time of day"),
    (12, "not a date"),
    (dt.datetime(2025, 3, 5, 14, 30), "time of day"),
])
def test_impossible_or_unreadable_dates_are_refused(raw, fragment):
    with pytest.raises(ValueError, match=fragment):
        parse_date(raw)


def test_leap_day_exists_only_in_leap_years():
    assert parse_date("2024-02-29") == dt.date(2024, 2, 29)
    with pytest.raises(ValueError):
        parse_date("2025-02-29")


@pytest.mark.parametrize("raw, fen", [
    ("230.50", 23050), ("¥1,234.50", 123450), ("￥1,234.5", 123450), ("1234.5元", 123450), ("１２３", 12300),
    (12.3, 1230), (7, 700), ("1,234,567.89", 123456789),
])
def test_money_in_fen(raw, fen):
    assert parse_money_fen(raw) == fen


@pytest.mark.parametrize("raw, fragment", [
    ("12.345", "more than 2 decimals"), ("-10", "greater than 0"), ("0", "greater than 0"),
    ("1,23.4", "not a number"), ("12,5", "not a number"), ("abc", "not a number"), ("", "is empty"),
    ("1.2.3", "not a number"),
])
def test_bad_money(raw, fragment):
    with pytest.raises(ValueError, match=fragment):
        parse_money_fen(raw)


@given(st.integers(min_value=1, max_value=10**13))
def test_money_round_trips_through_grouped_text(fen):
    text = f"¥{fen // 100:,}.{fen % 100:02d}"
    assert parse_money_fen(text) == fen


@given(st.decimals(min_value=Decimal("0.001"), max_value=Decimal("1e9"), places=3))
def test_decimal_text_round_trips(value):
    assert parse_decimal(str(value)) == value
    assert parse_positive_decimal(f"{value:,}") == value


@pytest.mark.parametrize("raw", ["0", "-1", "-0.5"])
def test_quantities_must_be_positive(raw):
    with pytest.raises(ValueError, match="greater than 0"):
        parse_positive_decimal(raw)


@pytest.mark.parametrize("raw, expected", [("yes", True), ("是", True), ("1", True), ("TRUE", True),
                                           ("no", False), ("否", False), ("0", False), ("false", False)])
def test_booleans(raw, expected):
    assert parse_bool(raw) is expected


def test_bad_boolean():
    with pytest.raises(ValueError, match="yes/no"):
        parse_bool("maybe")


def test_months():
    assert parse_month("2025-03") == dt.date(2025, 3, 1)
    for bad in ["2025-3", "2025-13", "March", "2025-00"]:
        with pytest.raises(ValueError, match="YYYY-MM"):
            parse_month(bad)
