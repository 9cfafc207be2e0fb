"""Column widths: what may wrap and what must not."""

import pytest

from reports.render import _text_width, column_widths


def test_dates_and_refs_keep_their_width_while_chinese_text_wraps():
    columns = ["日期", "食堂", "供应商", "证书编号", "有效期至", "品名", "数量", "金额", "单号", "问题"]
    row = ["2025-03-13", "第一食堂", "五指山市毛阳镇农民专业合作社联合社", "HN-FP-2024-000123", "2025-03-31",
           "有机蔬菜（叶菜类混装）", "1,234.500", "12,345.67", "PO-2025-03-0042/12", "证书将于 18 天后到期"]
    widths = column_widths(columns, [row], {6, 7})
    unit = widths[0] / (len(row[0]) + 3)  # the date column is not shrunk: its share per unit
    assert widths[4] == pytest.approx(widths[0])  # nor the other date
    # The supplier's name (Chinese, two units a character) gives way, and so do the long codes here.
    assert widths[2] < unit * (2 * len(row[2]) + 3) * 0.9
    assert widths[8] < unit * (_text_width(row[8]) + 3)

    # With fewer columns, wrapping the Chinese text is enough: codes stay whole.
    keep = [0, 2, 3, 5, 8, 9]
    widths = column_widths([columns[i] for i in keep], [[row[i] for i in keep]])
    unit = widths[0] / (len(row[0]) + 3)
    for k, i in ((2, 3), (4, 8)):
        assert widths[k] == pytest.approx(unit * (_text_width(row[i]) + 3), rel=0.01)


def test_narrow_tables_are_not_squeezed():
    widths = column_widths(["a", "b"], [["2025-03-13", "x"]])
    assert sum(widths) == pytest.approx(100, abs=0.05) and widths[0] > widths[1]
