"""A ready-to-fill purchase workbook: the headers fupin reads, a units list, and instructions."""

from __future__ import annotations

import io
from pathlib import Path

from common.files import atomic_write

from .ledger import PURCHASE_FIELDS

HEADERS_ZH = ["日期", "食堂", "供应商", "品类", "品名", "数量", "单位", "金额", "单号", "行号", "备注"]
UNITS = ["公斤", "斤", "两", "克", "吨", "箱", "袋", "件"]
INSTRUCTIONS = [
    ("日期", "采购日期, 如 2025-03-05"),
    ("食堂", "食堂代码 (fupin procure list canteens)"),
    ("供应商", "供应商代码 (fupin procure list suppliers)"),
    ("品类", "品类代码 (fupin procure list categories)"),
    ("品名", "如 大米、青菜"),
    ("数量", "大于 0 的数字"),
    ("单位", "公斤/kg, 斤, 两, 克/g, 吨/t; 箱、袋、件 须先定义每件重量 (fupin procure unit-weight)"),
    ("金额", "元, 最多两位小数"),
    ("单号", "发票号或扶贫商城订单号"),
    ("行号", "同一单号有多行时填 1, 2, 3 …; 只有一行可留空"),
    ("备注", "可留空"),
]


def write_template(path: Path | str) -> Path:
    assert [f.name for f in PURCHASE_FIELDS] and len(HEADERS_ZH) == len(PURCHASE_FIELDS)
    from openpyxl import Workbook  # here: every other command would pay for its import
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    path = Path(path)
    wb = Workbook()
    ws = wb.active
    ws.title = "采购明细"
    ws.append(HEADERS_ZH)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for col, width in zip("ABCDEFGHIJK", [12, 10, 10, 10, 16, 10, 8, 12, 18, 6, 20]):
        ws.column_dimensions[col].width = width
    for row in range(2, 2001):
        ws.cell(row=row, column=1).number_format = "yyyy-mm-dd"
    units = DataValidation(type="list", formula1='"' + ",".join(UNITS) + '"', allow_blank=True)
    units.add("G2:G2000")
    ws.add_data_validation(units)
    help_ws = wb.create_sheet("填写说明")
    help_ws.append(["列", "填写方法"])
    for row in INSTRUCTIONS:
        help_ws.append(list(row))
    help_ws.column_dimensions["B"].width = 70
    buf = io.BytesIO()
    wb.save(buf)
    atomic_write(path, buf.getvalue())
    return path
