"""Column widths: what may wrap and what must not."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports.render import PAGE_UNITS, column_widths, text_width


def test_dates_and_refs_keep_their_width_while_chinese_text_wraps():
    columns = ["日期", "食堂", "供应商", "证书编号", "有效期至", "品名", "数量", "金额", "单号", "问题"]
    row = ["2025-03-13", "第一食堂", "五指山市毛阳镇农民专业合作社联合社", "HN-FP-2024-000123", "2025-03-31",
           "有机蔬菜（叶菜类混装）", "1,234.500", "12,345.67", "PO-2025-03-0042/12", "证书将于 18 天后到期"]
    widths = column_widths(columns, [row], {6, 7})
    unit = widths[0] / (len(row[0]) + 3)  # the date column is not shrunk: its share per unit
    assert widths[4] == pytest.approx(widths[0])  # nor the other date
    # The supplier's name (Chinese, two units a character) gives way, and so do the long codes here.
    assert widths[2] < unit * (2 * len(row[2]) + 3) * 0.9
    assert widths[8] < unit * (text_width(row[8]) + 3)

    # With fewer columns, wrapping the Chinese text is enough: codes stay whole.
    keep = [0, 2, 3, 5, 8, 9]
    widths = column_widths([columns[i] for i in keep], [[row[i] for i in keep]])
    unit = widths[0] / (len(row[0]) + 3)
    for k, i in ((2, 3), (4, 8)):
        assert widths[k] == pytest.approx(unit * (text_width(row[i]) + 3), rel=0.01)


def test_narrow_tables_are_not_squeezed():
    widths = column_widths(["a", "b"], [["2025-03-13", "x"]])
    assert sum(widths) == pytest.approx(100, abs=0.05) and widths[0] > widths[1]


def test_a_wrapped_ref_keeps_room_for_its_longest_unbreakable_piece():
    # The certificate-exceptions table: "INV-C02-20250313/2" may break after "INV-" only.
    columns = ["日期", "食堂", "供应商", "证书编号", "有效期至", "品名", "kg", "总金额(元)", "单号/行", "问题"]
    row = ["2025-03-13", "C02", "临高示例渔业合作社", "HNFP-2025-LG-0003", "2027-03-31", "鱼", "127.900",
           "3233.26", "INV-C02-20250313/2", "采购日证书尚未生效"]
    widths = column_widths(columns, [row], {6, 7})
    unit = widths[0] / (len(row[0]) + 3)
    assert widths[8] >= unit * (text_width("C02-20250313/2") + 3) - 0.01
    assert widths[3] >= unit * (text_width("HNFP-2025-") + 3) - 0.01
    assert widths[8] < unit * (text_width(row[8]) + 3)  # it still wraps, at the hyphen
    assert sum(widths) == pytest.approx(100, abs=0.05)


CODE = r"[A-Z]{2,4}(-[A-Z0-9]{2,8}){1,4}(/[0-9]{1,2})?"


@given(st.lists(st.tuples(st.from_regex(CODE, fullmatch=True), st.from_regex(CODE, fullmatch=True),
                          st.text(alphabet="扶贫食堂蔬菜 ab", min_size=1, max_size=30),
                          st.lists(st.sampled_from(["0", "1.5", "345.67", "12,345.67"]), min_size=5, max_size=5)),
                min_size=1, max_size=6),
       st.integers(min_value=0, max_value=5))
def test_dates_and_figures_keep_their_width_when_the_rest_can_give_way(rows, extra):
    # One date and at most five figures of up to 9 characters leave room for the two codes and
    # the text to wrap at their narrowest, so dates and figures are squeezed by no more than the
    # 5% their padding absorbs, however long the codes' unbreakable pieces.
    columns = ["日期", "单号", "证书编号", "说明"] + [f"数{k}" for k in range(extra)]
    table = [["2025-03-13", ref, cert, text, *figures[:extra]] for ref, cert, text, figures in rows]
    numeric = set(range(4, 4 + extra))
    widths = column_widths(columns, table, numeric)
    assert sum(widths) == pytest.approx(100, abs=0.1)
    assert widths[0] >= 100 * (10 + 3) / PAGE_UNITS / 1.05 - 0.01
    for i in numeric:
        natural = max(text_width(r[i]) for r in table) + 3
        assert widths[i] >= 100 * max(natural, 6) / PAGE_UNITS / 1.05 - 0.01
